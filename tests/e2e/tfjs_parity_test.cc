// The product's promise: the same probabilities as the original model. The
// reference is the original TF.js model run by @tensorflow/tfjs 4.22 (pure JS
// CPU backend) — tests/reference/make_reference.js, cached in
// tests/data/reference/<model>.json keyed by the PNG's sha256.
//
//  - same tensor: the tensor TF.js itself preprocessed (build/reference/...)
//    fed to kamado: max |Δp| ≤ 1e-4, identical top-1;
//  - random tensors (mulberry32, replicated bit-exactly): max |Δp| ≤ 1e-4;
//  - end to end from the PNG file through kamado's decoder and
//    preprocessing: max |Δp| ≤ 1e-3, identical top-1.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "core/file_util.h"
#include "image/decode.h"
#include "model/image_options.h"
#include "model/model_loader.h"
#include "runtime/session.h"
#include "testutil/sha256.h"
#include "testutil/test_data.h"

namespace kamado {
namespace {

namespace fs = std::filesystem;

struct Loaded {
  model::LoadedModel model;
  nlohmann::json reference;
};

// Compiling InceptionV3 takes a moment; do it once per model.
const Loaded& Get(const std::string& name) {
  static std::map<std::string, Loaded> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  Loaded l;
  auto m = model::LoadModel(fs::path("models") / name);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  if (m.ok()) l.model = std::move(m).value();
  auto text = ReadFile(fs::path("tests/data/reference") / (name + ".json"));
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  if (text.ok()) l.reference = nlohmann::json::parse(*text);
  return cache.emplace(name, std::move(l)).first->second;
}

int ArgMax(const std::vector<float>& v) {
  return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
}

// Runs `input` and returns max |Δp| against `expected`; checks top-1.
double Compare(const Loaded& l, const Tensor& input, const std::vector<float>& expected,
               const std::string& what) {
  runtime::Session session(l.model.compiled);
  auto out = session.Run({input});
  EXPECT_TRUE(out.ok()) << what << ": " << out.status().ToString();
  if (!out.ok()) return 1.0;
  const Tensor& p = out->front();
  EXPECT_EQ(p.size(), static_cast<int64_t>(expected.size())) << what;
  std::vector<float> got(p.data(), p.data() + p.size());
  double max_diff = 0;
  for (size_t i = 0; i < std::min(got.size(), expected.size()); ++i) {
    max_diff = std::max(max_diff, std::abs(static_cast<double>(got[i]) - expected[i]));
  }
  EXPECT_EQ(ArgMax(got), ArgMax(expected)) << what << ": top-1 differs";
  return max_diff;
}

class TfjsParity : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    KAMADO_REQUIRE_DATA(fs::path("models") / GetParam() / "kamado.yaml");
  }
  int Size() const { return GetParam() == "inception_v3" ? 299 : 224; }
};

TEST_P(TfjsParity, SameTensorAsTfjs) {
  const fs::path dir = fs::path("build/reference") / GetParam();
  KAMADO_REQUIRE_DATA(dir);
  const Loaded& l = Get(GetParam());
  ASSERT_TRUE(l.model.compiled);
  int n = 0;
  double worst = 0;
  for (const auto& [sha, entry] : l.reference["images"].items()) {
    const fs::path f = dir / (sha + ".f32");
    auto bytes = ReadFile(f);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    Tensor input({1, Size(), Size(), 3});
    ASSERT_EQ(bytes->size(), static_cast<size_t>(input.size()) * 4) << f;
    std::memcpy(input.data(), bytes->data(), bytes->size());
    const double d = Compare(l, input, entry["probs"].get<std::vector<float>>(),
                             entry["file"].get<std::string>());
    EXPECT_LE(d, 1e-4) << entry["file"];
    worst = std::max(worst, d);
    ++n;
  }
  EXPECT_GE(n, 6) << "the reference covers too few photos";
  std::printf("[ parity ] %s: %d photos, same tensor, max |dp| = %.3g\n", GetParam().c_str(), n,
              worst);
}

// mulberry32, exactly as make_reference.js documents it.
Tensor RandomTensor(uint32_t seed, int size) {
  Tensor t({1, size, size, 3});
  uint32_t state = seed;
  for (float& v : t.span()) {
    state += 0x6D2B79F5u;
    uint32_t x = state;
    x = (x ^ (x >> 15)) * (x | 1u);
    x ^= x + (x ^ (x >> 7)) * (x | 61u);
    const uint32_t r = x ^ (x >> 14);
    v = static_cast<float>(r >> 8) / 16777216.0f;
  }
  return t;
}

TEST_P(TfjsParity, RandomTensors) {
  const Loaded& l = Get(GetParam());
  ASSERT_TRUE(l.model.compiled);
  double worst = 0;
  int n = 0;
  for (const auto& [key, entry] : l.reference["random"].items()) {
    const Tensor input = RandomTensor(entry["seed"].get<uint32_t>(), Size());
    const auto first = entry["first_values"].get<std::vector<float>>();
    for (size_t i = 0; i < first.size(); ++i) {
      ASSERT_EQ(input[static_cast<int64_t>(i)], first[i]) << "generator differs at " << i;
    }
    const double d =
        Compare(l, input, entry["probs"].get<std::vector<float>>(), "random seed " + key);
    EXPECT_LE(d, 1e-4) << "seed " << key;
    worst = std::max(worst, d);
    ++n;
  }
  EXPECT_GE(n, 3);
  std::printf("[ parity ] %s: %d random tensors, max |dp| = %.3g\n", GetParam().c_str(), n, worst);
}

TEST_P(TfjsParity, EndToEndFromPng) {
  KAMADO_REQUIRE_DATA(fs::path("data/images"));
  const Loaded& l = Get(GetParam());
  ASSERT_TRUE(l.model.compiled);
  const image::PreprocessOptions pre = model::PreprocessOptionsFor(l.model.config);
  double worst = 0;
  int n = 0;
  for (const auto& [sha, entry] : l.reference["images"].items()) {
    const fs::path f = fs::path("data/images") / entry["file"].get<std::string>();
    auto bytes = ReadFile(f);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    const auto* data = reinterpret_cast<const uint8_t*>(bytes->data());
    ASSERT_EQ(testing::Sha256Hex({data, bytes->size()}), sha) << f << " is not the reference's file";
    auto image = image::DecodeImage({data, bytes->size()});
    ASSERT_TRUE(image.ok()) << image.status().ToString();
    auto input = image::Preprocess(*image, pre);
    ASSERT_TRUE(input.ok()) << input.status().ToString();
    const double d = Compare(l, *input, entry["probs"].get<std::vector<float>>(), f.string());
    EXPECT_LE(d, 1e-3) << f;
    worst = std::max(worst, d);
    ++n;
  }
  EXPECT_GE(n, 6);
  std::printf("[ parity ] %s: %d PNG files end to end, max |dp| = %.3g\n", GetParam().c_str(), n,
              worst);
}

INSTANTIATE_TEST_SUITE_P(DefaultModels, TfjsParity,
                         ::testing::Values("inception_v3", "mobilenet_v2"));

}  // namespace
}  // namespace kamado
