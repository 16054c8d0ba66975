#include "model/model_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace kamado::model {
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
  EXPECT_EQ(c->layout, Layout::kNHWC);
  EXPECT_EQ(c->format, ModelFormat::kTfjs);
  EXPECT_EQ(c->preprocess.resize, image::Resize::kBilinearAlignCorners);
  EXPECT_EQ(c->source, "nsfwjs@4.3.0");
  EXPECT_EQ(c->InputShape(4), (Shape{4, 299, 299, 3}));
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
      {base + "format: tfjs\ninput: {layout: NHWC, height: 2, width: 2}\nprecision: fp16\n",
       "'precision': 'fp16' is not one of fp32, bf16, int8", StatusCode::kInvalidArgument},
      {base + "format: tfjs\ninput: {layout: NHWC, height: 2, width: 2}\nprecision: int8\n",
       "'precision' is int8 but there is no 'quantization'", StatusCode::kInvalidArgument},
      {base + "format: tfjs\ninput: {layout: NHWC, height: 2, width: 2}\nquantization: {method: minmax}\n",
       "quantization.table", StatusCode::kInvalidArgument},
      {base + "format: tfjs\ninput: {layout: NHWC, height: 2, width: 2}\nquantization: {table: ../x.json}\n",
       "'quantization.table' must be a file name inside the model directory", StatusCode::kInvalidArgument},
      {base + "format: tfjs\ninput: {layout: NHWC, height: 2, width: 2}\nquantization: {table: q.json, bits: 4}\n",
       "bits", StatusCode::kInvalidArgument},
  };
  for (const Case& c : cases) {
    Write(c.yaml);
    auto r = LoadModelConfig(dir_);
    ASSERT_FALSE(r.ok()) << c.yaml;
    EXPECT_EQ(r.status().code(), c.code) << r.status().ToString();
    EXPECT_NE(r.status().message().find(c.field), std::string::npos) << r.status().ToString();
  }
}

// Found by fuzz_model_yaml: a string with control characters or invalid
// UTF-8 parsed, and FormatModelConfig then wrote back something else. YAML
// strings must be printable UTF-8.
TEST_F(ModelConfigTest, StringsMustBePrintableUtf8) {
  const std::string input = "format: tfjs\ninput: {layout: NHWC, height: 2, width: 2}\n";
  for (const std::string& bad : {std::string("m\x05.json"), std::string("m\xff.json")}) {
    auto r = ParseModelConfig("name: m\nfile: \"" + bad + "\"\n" + input, "kamado.yaml", dir_);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("key 'file' must be a string (printable UTF-8)"), std::string::npos)
        << r.status().message();
  }
  auto ok = ParseModelConfig("name: m\nfile: caf\xc3\xa9.json\n" + input, "kamado.yaml", dir_);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->file, "caf\xc3\xa9.json");
  auto again = ParseModelConfig(FormatModelConfig(*ok), "kamado.yaml", dir_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, *ok);
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

// Every error starts "FILE:LINE:COLUMN:" and names the key, as serve.yaml's do.
TEST_F(ModelConfigTest, ErrorsNameFileLineAndKey) {
  struct Case {
    std::string yaml;
    std::string where;  // ":LINE:COLUMN:" after the file name
    std::string key;
    StatusCode code;
  };
  const std::string base = "name: m\nformat: tfjs\nfile: m.json\n";
  const Case cases[] = {
      {base + "input: {layout: NHWC, height: 2, width: 2}\npreprocess: {resize: nearest}\n",
       ":5:22:", "preprocess.resize", StatusCode::kUnsupported},
      {base + "input: {layout: NHWC, height: 2, width: 2}\npreprocess:\n  scael: 1\n", ":6:3:",
       "preprocess.scael", StatusCode::kInvalidArgument},
      {base + "input: {layout: NHWC, height: 2, width: 2}\nlabelz: [a]\n", ":5:1:", "labelz",
       StatusCode::kInvalidArgument},
      {base + "input: {layout: NHWC, height: 0, width: 2}\n", ":4:31:", "input.height",
       StatusCode::kInvalidArgument},
      {base + "input: {layout: NHWC, height: 2, width: 2}\nname: again\n", ":5:1:", "name",
       StatusCode::kInvalidArgument},
      {base + "input: {layout: NHWC, height: 2, width: 2}\npreprocess: {alpha: premultiply}\n",
       ":5:21:", "preprocess.alpha", StatusCode::kUnsupported},
      {base + "input: {layout: NHWC, height: 2, width: 2}\ndecode: {max_pixels: -5}\n",
       ":5:22:", "decode.max_pixels", StatusCode::kInvalidArgument},
      {base + "input: {layout: NHWC, height: 2, width: 2}\nlabels: [a, [b]]\n", ":5:13:",
       "labels[1]", StatusCode::kInvalidArgument},
  };
  for (const Case& c : cases) {
    Write(c.yaml);
    auto r = LoadModelConfig(dir_);
    ASSERT_FALSE(r.ok()) << c.yaml;
    const std::string& m = r.status().message();
    EXPECT_EQ(r.status().code(), c.code) << m;
    EXPECT_EQ(m.rfind((dir_ / "kamado.yaml").string() + c.where, 0), 0u) << m;
    EXPECT_NE(m.find("'" + c.key + "'"), std::string::npos) << m;
  }
}

TEST_F(ModelConfigTest, FormatThenParseGivesTheConfigBack) {
  ModelConfig c;
  c.dir = dir_;
  c.name = "m";
  c.format = ModelFormat::kOnnx;
  c.file = "model.onnx";
  c.layout = Layout::kNCHW;
  c.height = 224;
  c.width = 192;
  c.preprocess.scale = 1.0 / 127.5;
  c.preprocess.mean = {0.485f, 0.456f, 0.406f};
  c.preprocess.std = {0.229f, 0.224f, 0.225f};
  c.preprocess.resize = image::Resize::kBilinearHalfPixel;
  c.preprocess.exact_resize = true;
  c.preprocess.alpha = image::AlphaMode::kComposite;
  c.preprocess.background = {1, 2, 3};
  c.decode = {1000, 2000, 300};
  c.labels = {"cat", "dog: a good one", "yes"};
  c.decision = DecisionConfig{"pet", {"dog: a good one"}, {1}, 0.3};
  c.source = "somewhere";
  c.converted_from = "/tmp/x";
  c.precision = runtime::Precision::kInt8;
  c.quantization = QuantizationConfig{"quantization.json", "percentile", 80, {"conv_0", "block_1/dw"}};
  const std::string text = FormatModelConfig(c);
  EXPECT_NE(text.find("precision: int8"), std::string::npos) << text;
  EXPECT_NE(text.find("fp32_layers: [conv_0, block_1/dw]"), std::string::npos) << text;
  auto back = ParseModelConfig(text, "formatted", dir_);
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << text;
  EXPECT_EQ(*back, c) << text;

  ModelConfig minimal;
  minimal.dir = dir_;
  minimal.name = "n";
  minimal.file = "model.json";
  minimal.height = minimal.width = 1;
  back = ParseModelConfig(FormatModelConfig(minimal), "formatted", dir_);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, minimal);
  EXPECT_EQ(back->precision, runtime::Precision::kFp32);  // absent: fp32, and not written
  EXPECT_EQ(FormatModelConfig(minimal).find("precision"), std::string::npos);
}

// labels_file: one label per line beside kamado.yaml (PyTorch's
// imagenet_classes.txt), CRLF or LF, a trailing newline ignored.
TEST_F(ModelConfigTest, LabelsFromAFileOnePerLine) {
  const std::string base =
      "name: m\nformat: onnx\nfile: model.onnx\ninput: {layout: NCHW, height: 2, width: 2}\n";
  std::ofstream(dir_ / "classes.txt") << "tench\r\ngoldfish\ngreat white shark\n";
  Write(base + "labels_file: classes.txt\n");
  auto c = LoadModelConfig(dir_);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->labels, (std::vector<std::string>{"tench", "goldfish", "great white shark"}));

  struct Case {
    std::string yaml, file_text, message;
  };
  const Case cases[] = {
      {base + "labels_file: missing.txt\n", "", "key 'labels_file': "},
      {base + "labels_file: classes.txt\nlabels: [a]\n", "a\n", "not both"},
      {base + "labels_file: ../classes.txt\n", "", "inside the model directory"},
      {base + "labels_file: classes.txt\n", "a\n\nb\n", "line 2 is empty"},
      {base + "labels_file: classes.txt\n", "", "is empty"},
  };
  for (const Case& k : cases) {
    std::ofstream(dir_ / "classes.txt", std::ios::trunc) << k.file_text;
    Write(k.yaml);
    auto bad = LoadModelConfig(dir_);
    ASSERT_FALSE(bad.ok()) << k.yaml;
    EXPECT_NE(bad.status().message().find(k.message), std::string::npos)
        << bad.status().message();
    EXPECT_NE(bad.status().message().find("kamado.yaml"), std::string::npos)
        << bad.status().message();
  }
}

TEST_F(ModelConfigTest, MissingFileIsNotFound) {
  auto r = LoadModelConfig(dir_ / "nope");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace kamado::model
