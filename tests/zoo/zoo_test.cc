// The zoo (issue 17): classifiers a user brings from PyTorch load and give
// PyTorch's answers. tests/zoo/export_zoo.py exports torchvision's models
// (random weights, randomised batch-norm statistics) at opsets 13 and 17 with
// a dynamic batch, with one batch of 2 inputs and PyTorch 1.13's logits for
// it. Each model is served (import, passes, compile), run on that batch in
// process by a Session on the served CompiledModel, and over loopback HTTP
// (OIP v2 binary tensors), and both answers are held to
// max |Δ| ≤ 1e-4 × max |PyTorch logit|. No top-1 check: near-ties among
// random logits can flip.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <ostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/file_util.h"
#include "runtime/session.h"
#include "serving/serving_test_util.h"
#include "testutil/test_data.h"

namespace kamado {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::ReadFloats;

const fs::path kZoo = "build/zoo";

struct Case {
  std::string model;
  int opset;
};

std::vector<Case> Cases() {
  std::vector<Case> cases;
  for (const char* m : {"resnet18", "resnet50", "resnext50_32x4d", "mobilenet_v3_small",
                        "mobilenet_v3_large", "efficientnet_b0", "densenet121", "squeezenet1_1",
                        "shufflenet_v2_x1_0", "googlenet", "regnet_y_400mf", "mnasnet1_0",
                        "alexnet", "vgg11_bn", "inception_v3", "convnext_tiny"}) {
    for (int opset : {13, 17}) cases.push_back({m, opset});
  }
  return cases;
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.model << " opset " << c.opset; }

std::string Name(const ::testing::TestParamInfo<Case>& info) {
  return info.param.model + "_opset" + std::to_string(info.param.opset);
}

Shape ShapeFrom(const json& j) {
  Shape s;
  for (const auto& d : j) s.push_back(d.get<int64_t>());
  return s;
}

// "" when every |got − want| ≤ 1e-4 × max |want|, else the worst element.
std::string Mismatch(const std::vector<float>& got, const std::vector<float>& want) {
  if (got.size() != want.size()) {
    return std::to_string(got.size()) + " values, PyTorch has " + std::to_string(want.size());
  }
  float scale = 0;
  for (float w : want) scale = std::max(scale, std::abs(w));
  const float tolerance = 1e-4f * scale;
  size_t worst = 0;
  float worst_delta = -1;
  for (size_t i = 0; i < got.size(); ++i) {
    const float d = std::abs(got[i] - want[i]);
    if (!(d <= worst_delta)) worst = i, worst_delta = d;  // NaN counts as worst
  }
  if (worst_delta <= tolerance) return "";
  return "logit " + std::to_string(worst) + ": " + std::to_string(got[worst]) + " vs PyTorch " +
         std::to_string(want[worst]) + " (|Δ| " + std::to_string(worst_delta) + " > " +
         std::to_string(tolerance) + " = 1e-4 × max |logit|)";
}

class Zoo : public ::testing::TestWithParam<Case> {};

TEST_P(Zoo, LoadsAndGivesPyTorchsLogitsInProcessAndOverHttp) {
  const Case& c = GetParam();
  const fs::path dir = kZoo / c.model;
  const fs::path model_dir = dir / ("op" + std::to_string(c.opset));
  KAMADO_REQUIRE_DATA(dir / "meta.json");
  KAMADO_REQUIRE_DATA(model_dir / "model.onnx");
  auto meta_text = ReadFile(dir / "meta.json");
  ASSERT_TRUE(meta_text.ok());
  const json meta = json::parse(*meta_text);
  const Shape input_shape = ShapeFrom(meta["input_shape"]);
  const std::vector<float> input = ReadFloats(dir / "input.f32");
  const std::vector<float> want = ReadFloats(dir / "logits.f32");
  ASSERT_EQ(static_cast<int64_t>(input.size()), NumElements(input_shape));

  serving::ServiceOptions options;
  options.sessions = 1;
  options.threads = 2;
  options.max_batch = 2;      // plans for the batch sent, no more
  options.batch_delay_us = 0;  // no start-up timing of batch 2 against batch 1
  serving::testing::TestServer server(options, {}, {model_dir});
  ASSERT_NE(server.server, nullptr);
  const std::string name = c.model + "_op" + std::to_string(c.opset);
  auto served = server.service->Find(name);
  ASSERT_TRUE(served.ok()) << served.status().ToString();
  const auto& compiled = (*served)->shared_compiled();

  // In process: a Session of its own on the served model, at batch 2.
  runtime::Session session(compiled);
  auto out = session.Run({Tensor(input_shape, input)});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->size(), 1u);
  const Tensor& logits = out->front();
  EXPECT_EQ(logits.shape(), ShapeFrom(meta["logits_shape"]));
  const std::vector<float> got(logits.data(), logits.data() + logits.size());
  EXPECT_EQ(Mismatch(got, want), "") << "in process";

  // Over HTTP: FP32 binary tensors in and out.
  const std::string in_name = compiled->inputs().front().name;
  const std::string out_name = compiled->outputs().front().name;
  const std::string header =
      json{{"inputs", {{{"name", in_name}, {"datatype", "FP32"}, {"shape", input_shape},
                        {"parameters", {{"binary_data_size", input.size() * 4}}}}}},
           {"outputs", {{{"name", out_name}, {"parameters", {{"binary_data", true}}}}}}}
          .dump();
  std::string body = header;
  body.append(reinterpret_cast<const char*>(input.data()), input.size() * 4);
  serving::http::HttpClient client = server.Client();
  auto r = client.Request("POST", "/v2/models/" + name + "/infer", body,
                          "application/octet-stream",
                          {{"Inference-Header-Content-Length", std::to_string(header.size())}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->status, 200) << r->body;
  const size_t n = std::stoul(r->header("inference-header-content-length"));
  const json reply = json::parse(r->body.substr(0, n));
  EXPECT_EQ(ShapeFrom(reply["outputs"][0]["shape"]), ShapeFrom(meta["logits_shape"]));
  ASSERT_EQ(r->body.size(), n + want.size() * 4);
  std::vector<float> http_got(want.size());
  std::memcpy(http_got.data(), r->body.data() + n, want.size() * 4);
  EXPECT_EQ(Mismatch(http_got, want), "") << "over HTTP";
}

INSTANTIATE_TEST_SUITE_P(TorchVision, Zoo, ::testing::ValuesIn(Cases()), Name);

}  // namespace
}  // namespace kamado
