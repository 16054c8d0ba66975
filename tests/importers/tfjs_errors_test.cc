// TF.js importer: every failure comes back as a Status with the right code and
// a message naming the layer, field or file.
#include <gtest/gtest.h>

#include <fstream>

#include "importers/tfjs/tfjs_importer.h"
#include "importers/tfjs_test_util.h"

namespace kamado::importers {
namespace {

using testing::Iota;
using testing::Json;
using testing::TfjsModelBuilder;

// A valid one-conv model to break in different ways.
TfjsModelBuilder ConvModel(const std::string& data_format = "channels_last") {
  TfjsModelBuilder b;
  b.Input("input_1", 4, 4, 2);
  b.Layer("Conv2D", "conv2d_3",
          {{"filters", 3},
           {"kernel_size", {1, 1}},
           {"strides", {1, 1}},
           {"padding", "valid"},
           {"data_format", data_format},
           {"dilation_rate", {1, 1}},
           {"activation", "linear"},
           {"use_bias", false}},
          {"input_1"});
  b.Float32("conv2d_3/kernel", {1, 1, 2, 3}, Iota(6));
  return b;
}

Status ImportError(const std::filesystem::path& path) {
  auto graph = ImportTfjsModel(path);
  EXPECT_FALSE(graph.ok());
  return graph.ok() ? Status::Ok() : graph.status();
}

TEST(TfjsErrorsTest, ValidBaselineImports) {
  auto graph = ImportTfjsModel(ConvModel().Write());
  EXPECT_TRUE(graph.ok()) << graph.status().ToString();
}

TEST(TfjsErrorsTest, UnknownLayerClass) {
  TfjsModelBuilder b = ConvModel();
  b.Layer("Lambda", "lambda_7", {{"function", "x * 2"}}, {"conv2d_3"});
  const Status s = ImportError(b.Write());
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("layer 'lambda_7' (Lambda)"), std::string::npos) << s.message();
}

TEST(TfjsErrorsTest, ChannelsFirst) {
  const Status s = ImportError(ConvModel("channels_first").Write());
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("layer 'conv2d_3' (Conv2D): attribute data_format='channels_first' "
                             "is not supported"),
            std::string::npos)
      << s.message();
}

TEST(TfjsErrorsTest, UnsupportedActivationAndReluThreshold) {
  TfjsModelBuilder b = ConvModel();
  b.Layer("Activation", "act_9", {{"activation", "selu"}}, {"conv2d_3"});
  Status s = ImportError(b.Write());
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("layer 'act_9' (Activation): attribute activation='selu'"),
            std::string::npos)
      << s.message();

  TfjsModelBuilder r = ConvModel();
  r.Layer("ReLU", "re_lu_1", {{"threshold", 0.5}}, {"conv2d_3"});
  s = ImportError(r.Write());
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("layer 're_lu_1' (ReLU): attribute threshold=0.5"), std::string::npos)
      << s.message();
}

TEST(TfjsErrorsTest, BatchNormOnNonChannelAxis) {
  TfjsModelBuilder b = ConvModel();
  b.Layer("BatchNormalization", "bn_2", {{"axis", 1}}, {"conv2d_3"});
  const Status s = ImportError(b.Write());
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("layer 'bn_2' (BatchNormalization): attribute axis=1"),
            std::string::npos)
      << s.message();
}

TEST(TfjsErrorsTest, MissingWeight) {
  TfjsModelBuilder b;
  b.Input("input_1", 4, 4, 2);
  b.Layer("Conv2D", "conv2d_3",
          {{"filters", 3}, {"kernel_size", {1, 1}}, {"padding", "valid"}, {"use_bias", false}},
          {"input_1"});
  const Status s = ImportError(b.Write());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("weight 'conv2d_3/kernel'"), std::string::npos) << s.message();
}

TEST(TfjsErrorsTest, WeightWithWrongShape) {
  TfjsModelBuilder b;
  b.Input("input_1", 4, 4, 2);
  b.Layer("Conv2D", "conv2d_3", {{"filters", 3}, {"kernel_size", 1}, {"use_bias", false}},
          {"input_1"});
  b.Float32("conv2d_3/kernel", {1, 1, 3, 2}, Iota(6));
  const Status s = ImportError(b.Write());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'conv2d_3/kernel' has shape [1, 1, 3, 2], expected [1, 1, 2, 3]"),
            std::string::npos)
      << s.message();
}

TEST(TfjsErrorsTest, ShortWeightsFile) {
  TfjsModelBuilder b = ConvModel();
  b.shard().resize(b.shard().size() - 3);
  const Status s = ImportError(b.Write());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("group1-shard1of1.bin' is 21 bytes, expected 24"), std::string::npos)
      << s.message();
}

TEST(TfjsErrorsTest, LongWeightsFileInTwoShards) {
  TfjsModelBuilder b = ConvModel();
  Json model = b.ModelJson();
  model["weightsManifest"][0]["paths"] = {"group1-shard1of2.bin", "group1-shard2of2.bin"};
  const auto path = b.Write(model);
  std::ofstream(path.parent_path() / "group1-shard1of2.bin", std::ios::binary)
      << b.shard().substr(0, 16);
  std::ofstream(path.parent_path() / "group1-shard2of2.bin", std::ios::binary)
      << b.shard().substr(16) << "xx";
  const Status s = ImportError(path);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("group1-shard2of2.bin' is 10 bytes, expected 8"), std::string::npos)
      << s.message();
}

TEST(TfjsErrorsTest, MissingShardFile) {
  TfjsModelBuilder b = ConvModel();
  const auto path = b.Write();
  std::filesystem::remove(path.parent_path() / "group1-shard1of1.bin");
  const Status s = ImportError(path);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("group1-shard1of1.bin"), std::string::npos) << s.message();
}

TEST(TfjsErrorsTest, MalformedJson) {
  const auto path = ConvModel().Write();
  std::ofstream(path, std::ios::trunc) << R"({"modelTopology": {"class_name": "Model",)";
  const Status s = ImportError(path);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find(path.string()), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("malformed JSON"), std::string::npos) << s.message();
}

TEST(TfjsErrorsTest, MissingModelFile) {
  const Status s = ImportError(testing::TestDir() / "model.json");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
}

TEST(TfjsErrorsTest, MissingOrMistypedFieldsAreNamed) {
  TfjsModelBuilder b = ConvModel();
  Json model = b.ModelJson();
  model.erase("weightsManifest");
  Status s = ImportError(b.Write(model));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("missing field 'weightsManifest'"), std::string::npos) << s.message();

  model = b.ModelJson();
  model["modelTopology"]["model_config"]["config"]["layers"][1]["config"]["filters"] = "three";
  s = ImportError(b.Write(model));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("layer 'conv2d_3' (Conv2D): field 'filters'"), std::string::npos)
      << s.message();

  model = b.ModelJson();
  model["weightsManifest"][0]["weights"][0]["shape"] = "1x1x2x3";
  s = ImportError(b.Write(model));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("weightsManifest[0].weights[0] ('conv2d_3/kernel'): field 'shape'"),
            std::string::npos)
      << s.message();

  model = b.ModelJson();
  model["weightsManifest"][0]["weights"][0]["quantization"] = {{"dtype", "int4"}};
  s = ImportError(b.Write(model));
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("quantization: field 'dtype' = 'int4'"), std::string::npos)
      << s.message();
}

TEST(TfjsErrorsTest, SharedLayerAndUndefinedInbound) {
  TfjsModelBuilder b = ConvModel();
  Json model = b.ModelJson();
  Json& conv = model["modelTopology"]["model_config"]["config"]["layers"][1];
  conv["inbound_nodes"].push_back(conv["inbound_nodes"][0]);
  Status s = ImportError(b.Write(model));
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("layer 'conv2d_3' (Conv2D): the layer is shared"), std::string::npos)
      << s.message();

  model = b.ModelJson();
  model["modelTopology"]["model_config"]["config"]["layers"][1]["inbound_nodes"][0][0][0] = "nope";
  s = ImportError(b.Write(model));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("refers to layer 'nope'"), std::string::npos) << s.message();
}

TEST(TfjsErrorsTest, GraphModelFormat) {
  TfjsModelBuilder b = ConvModel();
  Json model = b.ModelJson();
  model["format"] = "graph-model";
  const Status s = ImportError(b.Write(model));
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("'graph-model'"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace kamado::importers
