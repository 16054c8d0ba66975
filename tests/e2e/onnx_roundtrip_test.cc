// A model exported with `kamado convert` and loaded back as ONNX gives the
// original model's probabilities (TF.js 4.22 reference, the same tensors as
// tfjs_parity_test.cc): max |Δp| ≤ 1e-4, identical top-1, for both default
// models, with NCHW and with NHWC exports.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/file_util.h"
#include "exporters/onnx/onnx_exporter.h"
#include "ir/shape_inference.h"
#include "model/model_loader.h"
#include "runtime/session.h"
#include "testutil/test_data.h"

namespace kamado {
namespace {

namespace fs = std::filesystem;

struct Case {
  std::string model;
  Layout layout;
};

std::string Name(const ::testing::TestParamInfo<Case>& info) {
  return info.param.model + (info.param.layout == Layout::kNHWC ? "_NHWC" : "_NCHW");
}

class OnnxRoundTrip : public ::testing::TestWithParam<Case> {};

// NHWC [1, S, S, 3] → NCHW [1, 3, S, S].
Tensor ToNchw(const Tensor& nhwc) {
  const int64_t s = nhwc.shape()[1];
  Tensor out({1, 3, s, s});
  for (int64_t h = 0; h < s; ++h)
    for (int64_t w = 0; w < s; ++w)
      for (int64_t c = 0; c < 3; ++c) out[(c * s + h) * s + w] = nhwc[(h * s + w) * 3 + c];
  return out;
}

TEST_P(OnnxRoundTrip, ExportedModelGivesTheOriginalAnswers) {
  const Case& c = GetParam();
  const fs::path src = fs::path("models") / c.model;
  const fs::path tensors = fs::path("build/reference") / c.model;
  KAMADO_REQUIRE_DATA(src / "kamado.yaml");
  KAMADO_REQUIRE_DATA(tensors);

  // Export the imported graph, as `kamado convert` does.
  auto config = model::LoadModelConfig(src);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  auto graph = model::ImportModel(*config);
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  ASSERT_TRUE(ir::InferShapes(*graph).ok());
  const fs::path dir = fs::temp_directory_path() /
                       ("kamado_onnx_" + Name({c, 0}) + "_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  ASSERT_TRUE(exporters::WriteOnnxFile(*graph, dir / "model.onnx", {.input_layout = c.layout}).ok());
  const int size = config->height;
  std::ofstream(dir / "kamado.yaml")
      << "name: " << c.model << "_onnx\nformat: onnx\nfile: model.onnx\n"
      << "input: {layout: " << (c.layout == Layout::kNHWC ? "NHWC" : "NCHW")
      << ", height: " << size << ", width: " << size << "}\n"
      << "labels: [Drawing, Hentai, Neutral, Porn, Sexy]\n";

  auto loaded = model::LoadModel(dir);
  fs::remove_all(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  runtime::Session session(loaded->compiled);

  auto text = ReadFile(fs::path("tests/data/reference") / (c.model + ".json"));
  ASSERT_TRUE(text.ok());
  const auto reference = nlohmann::json::parse(*text);
  double worst = 0;
  int n = 0;
  for (const auto& [sha, entry] : reference["images"].items()) {
    auto bytes = ReadFile(tensors / (sha + ".f32"));
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    Tensor input({1, size, size, 3});
    ASSERT_EQ(bytes->size(), static_cast<size_t>(input.size()) * sizeof(float));
    std::memcpy(input.data(), bytes->data(), bytes->size());
    if (c.layout == Layout::kNCHW) input = ToNchw(input);
    auto out = session.Run({input});
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    const auto want = entry["probs"].get<std::vector<float>>();
    const Tensor& got = out->front();
    ASSERT_EQ(got.size(), static_cast<int64_t>(want.size()));
    for (size_t i = 0; i < want.size(); ++i) {
      worst = std::max(worst, std::abs(static_cast<double>(got[static_cast<int64_t>(i)]) - want[i]));
    }
    const auto top = std::max_element(got.data(), got.data() + got.size()) - got.data();
    EXPECT_EQ(top, std::max_element(want.begin(), want.end()) - want.begin()) << entry["file"];
    ++n;
  }
  EXPECT_GE(n, 6);
  EXPECT_LE(worst, 1e-4);
  std::printf("[ onnx ] %s: %d photos through export + ONNX import, max |dp| = %.3g\n",
              Name({c, 0}).c_str(), n, worst);
}

INSTANTIATE_TEST_SUITE_P(DefaultModels, OnnxRoundTrip,
                         ::testing::Values(Case{"inception_v3", Layout::kNCHW},
                                           Case{"inception_v3", Layout::kNHWC},
                                           Case{"mobilenet_v2", Layout::kNCHW},
                                           Case{"mobilenet_v2", Layout::kNHWC}),
                         Name);

}  // namespace
}  // namespace kamado
