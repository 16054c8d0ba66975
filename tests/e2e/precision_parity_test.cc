// The reduced-precision gate on a small set, in every `make test`: both
// default models at bf16 against themselves at fp32 on the photos in
// data/images (scikit-image's samples, decoded and preprocessed as
// `kamado infer` does): the same top-1 on every photo, mean |Δp| ≤ 0.01
// (issue 16's bf16 gate), and the loaded config says bf16. On a CPU
// without AVX512-BF16 or AMX-BF16 the load must fail saying so.
#include <gtest/gtest.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/file_util.h"
#include "image/decode.h"
#include "image/preprocess.h"
#include "model/image_options.h"
#include "model/model_loader.h"
#include "runtime/precision.h"
#include "runtime/session.h"
#include "testutil/test_data.h"

namespace kamado {
namespace {

namespace fs = std::filesystem;

std::vector<float> Probabilities(const model::LoadedModel& m, const Tensor& input) {
  runtime::Session session(m.compiled, {.threads = 2});
  auto out = session.Run({input});
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  if (!out.ok()) return {};
  return {out->front().data(), out->front().data() + out->front().size()};
}

class PrecisionParity : public ::testing::TestWithParam<std::string> {};

TEST_P(PrecisionParity, Bf16GivesFp32sAnswers) {
  const fs::path dir = fs::path("models") / GetParam();
  KAMADO_REQUIRE_DATA(dir / "kamado.yaml");
  KAMADO_REQUIRE_DATA(fs::path("data/images"));
  runtime::CompileOptions options;
  options.threads = 2;
  options.precision = runtime::Precision::kBf16;
  auto bf16 = model::LoadModel(dir, options);
  if (Status s = runtime::CheckPrecisionSupported(runtime::Precision::kBf16); !s.ok()) {
    ASSERT_FALSE(bf16.ok());
    EXPECT_NE(bf16.status().message().find("needs a CPU with AVX512-BF16"), std::string::npos)
        << bf16.status().message();
    GTEST_SKIP() << "the load was refused as it must be here; bf16 parity needs a CPU with "
                    "AVX512-BF16 or AMX-BF16: "
                 << s.message();
  }
  ASSERT_TRUE(bf16.ok()) << bf16.status().ToString();
  EXPECT_EQ(bf16->config.precision, runtime::Precision::kBf16);
  options.precision.reset();  // the model's own kamado.yaml: fp32
  auto fp32 = model::LoadModel(dir, options);
  ASSERT_TRUE(fp32.ok()) << fp32.status().ToString();
  EXPECT_EQ(fp32->config.precision, runtime::Precision::kFp32);

  const image::DecodeOptions decode = model::DecodeOptionsFor(fp32->config, false);
  const image::PreprocessOptions pre = model::PreprocessOptionsFor(fp32->config);
  int photos = 0, same = 0;
  double max_diff = 0, sum_diff = 0;
  size_t values = 0;
  for (const auto& entry : fs::directory_iterator("data/images")) {
    auto decoded = image::DecodeImageFile(entry.path().string(), decode);
    if (!decoded.ok()) continue;
    auto input = image::Preprocess(*decoded, pre);
    ASSERT_TRUE(input.ok()) << entry.path() << ": " << input.status().ToString();
    const std::vector<float> p = Probabilities(*fp32, *input);
    const std::vector<float> q = Probabilities(*bf16, *input);
    ASSERT_EQ(p.size(), q.size());
    ASSERT_FALSE(p.empty());
    ++photos;
    const bool agree = std::max_element(p.begin(), p.end()) - p.begin() ==
                       std::max_element(q.begin(), q.end()) - q.begin();
    same += agree;
    EXPECT_TRUE(agree) << entry.path() << ": bf16's top-1 differs from fp32's";
    for (size_t i = 0; i < p.size(); ++i) {
      const double d = std::abs(static_cast<double>(p[i]) - q[i]);
      max_diff = std::max(max_diff, d);
      sum_diff += d;
      ++values;
    }
  }
  ASSERT_GE(photos, 10);
  const double mean_diff = sum_diff / static_cast<double>(values);
  std::printf("%s bf16 vs fp32 on %d photos: top-1 agreement %d/%d, max |dp| %.4f, mean |dp| %.5f\n",
              GetParam().c_str(), photos, same, photos, max_diff, mean_diff);
  EXPECT_LE(mean_diff, 0.01);
}

INSTANTIATE_TEST_SUITE_P(DefaultModels, PrecisionParity,
                         ::testing::Values("mobilenet_v2", "inception_v3"));

}  // namespace
}  // namespace kamado
