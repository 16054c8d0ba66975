#include "runtime/model_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace kamado::runtime {
namespace {

namespace fs = std::filesystem;

class ModelConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kamado_config_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& text) { std::ofstream(dir_ / "kamado.yaml") << text; }
  fs::path dir_;
};

TEST_F(ModelConfigTest, ParsesTheDocumentedExample) {
  Write(R"(name: inception_v3
format: tfjs
file: model.json
input: {layout: NHWC, height: 299, width: 299}
preprocess: {scale: 0.00392156862745098, mean: [0, 0, 0], std: [1, 1, 1], resize: bilinear_align_corners, fit: stretch}
labels: [Drawing, Hentai, Neutral, Porn, Sexy]
source: nsfwjs@4.3.0
)");
  auto c = LoadModelConfig(dir_);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->name, "inception_v3");
  EXPECT_EQ(c->layout, ir::Layout::kNHWC);
  EXPECT_EQ(c->height, 299);
  EXPECT_DOUBLE_EQ(c->preprocess.scale, 1.0 / 255.0);
  EXPECT_EQ(c->labels.size(), 5u);
  EXPECT_EQ(c->model_path(), dir_ / "model.json");
}

TEST_F(ModelConfigTest, ErrorsNameTheField) {
  struct Case {
    std::string yaml, field;
    StatusCode code;
  };
  const std::string base = "name: m\nfile: m.json\n";
  const Case cases[] = {
      {base + "format: caffe\ninput: {layout: NHWC, height: 2, width: 2}\n", "format",
       StatusCode::kUnsupported},
      {base + "format: tfjs\n", "input", StatusCode::kInvalidArgument},
      {base + "format: tfjs\ninput: {layout: HWC, height: 2, width: 2}\n", "input.layout",
       StatusCode::kInvalidArgument},
      {base + "format: tfjs\ninput: {layout: NHWC, height: x, width: 2}\n", "input.height",
       StatusCode::kInvalidArgument},
      {base + "format: tfjs\ninput: {layout: NHWC, height: 2, width: 2}\npreprocess: {std: [1, 0, 1]}\n",
       "preprocess.std", StatusCode::kInvalidArgument},
      {base + "format: tfjs\ninput: {layout: NHWC, height: 2, width: 2}\npreprocess: {mean: [1, 2]}\n",
       "preprocess.mean", StatusCode::kInvalidArgument},
      {"name: [unclosed\n", "kamado.yaml", StatusCode::kInvalidArgument},
  };
  for (const Case& c : cases) {
    Write(c.yaml);
    auto r = LoadModelConfig(dir_);
    ASSERT_FALSE(r.ok()) << c.yaml;
    EXPECT_EQ(r.status().code(), c.code) << r.status().ToString();
    EXPECT_NE(r.status().message().find(c.field), std::string::npos) << r.status().ToString();
  }
}

TEST_F(ModelConfigTest, ParsesAndValidatesTheDecisionBlock) {
  const std::string base =
      "name: m\nformat: tfjs\nfile: m.json\ninput: {layout: NHWC, height: 2, width: 2}\n"
      "labels: [Drawing, Hentai, Neutral, Porn, Sexy]\n";
  Write(base + "decision: {name: safe, positive: [Neutral, Drawing], threshold: 0.4}\n");
  auto c = LoadModelConfig(dir_);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(c->decision.has_value());
  EXPECT_EQ(c->decision->name, "safe");
  EXPECT_EQ(c->decision->positive_indices, (std::vector<int>{2, 0}));
  EXPECT_DOUBLE_EQ(c->decision->threshold, 0.4);

  Write(base);
  c = LoadModelConfig(dir_);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->decision.has_value());

  for (const std::string bad : {"decision: {name: safe, positive: [Cat]}\n",
                                "decision: {name: safe, positive: []}\n",
                                "decision: {positive: [Neutral]}\n",
                                "decision: {name: safe, positive: [Neutral], threshold: 2}\n"}) {
    Write(base + bad);
    auto r = LoadModelConfig(dir_);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
    EXPECT_NE(r.status().message().find("decision"), std::string::npos) << r.status().ToString();
  }
}

TEST_F(ModelConfigTest, MissingFileIsNotFound) {
  auto r = LoadModelConfig(dir_ / "nope");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace kamado::runtime
