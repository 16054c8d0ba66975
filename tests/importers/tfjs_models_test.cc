// TF.js importer on the real models that scripts/fetch-models.sh downloads
// into models/ (skipped when they are absent). Tests run from the repo root.
#include <gtest/gtest.h>

#include <filesystem>

#include "importers/tfjs/tfjs_importer.h"

namespace kamado::importers {
namespace {

using ir::OpType;

Result<ir::Graph> ImportFetched(const std::string& model) {
  return ImportTfjsModel(std::filesystem::path("models") / model / "model.json");
}

#define SKIP_IF_NOT_FETCHED(model)                                                      \
  if (!std::filesystem::exists(std::filesystem::path("models") / model / "model.json")) \
  GTEST_SKIP() << "models/" model "/model.json is absent; run scripts/fetch-models.sh"

void ExpectFiveClassOutput(const ir::Graph& g) {
  ASSERT_EQ(g.inputs().size(), 1u);
  EXPECT_EQ(g.input_layout, Layout::kNHWC);
  ASSERT_EQ(g.outputs().size(), 1u);
  EXPECT_EQ(g.value(g.outputs()[0]).shape, (Shape{-1, 5}));
  EXPECT_EQ(g.node(g.value(g.outputs()[0]).producer).op, OpType::kSoftmax);
  EXPECT_EQ(g.CountOps(OpType::kDense), 3);
  EXPECT_EQ(g.CountOps(OpType::kFlatten), 1);
  EXPECT_TRUE(g.Verify().ok());
}

TEST(TfjsModelsTest, InceptionV3) {
  SKIP_IF_NOT_FETCHED("inception_v3");
  auto graph = ImportFetched("inception_v3");
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  const ir::Graph& g = *graph;
  EXPECT_EQ(g.value(g.inputs()[0]).shape, (Shape{-1, 3, 299, 299}));
  EXPECT_EQ(g.CountOps(OpType::kConv), 94);
  EXPECT_EQ(g.CountOps(OpType::kBatchNorm), 94);
  EXPECT_EQ(g.CountOps(OpType::kMaxPool), 4);
  EXPECT_EQ(g.CountOps(OpType::kAvgPool), 10);
  EXPECT_EQ(g.CountOps(OpType::kConcat), 15);
  int same3x3 = 0, valid8x8 = 0;
  for (ir::NodeId id = 0; id < g.num_nodes(); ++id) {
    const ir::Node& n = g.node(id);
    if (n.op != OpType::kAvgPool) continue;
    const auto& a = n.attr<ir::PoolAttrs>();
    EXPECT_FALSE(a.count_include_pad);
    if (a.kernel == std::array<int64_t, 2>{3, 3} && a.strides == std::array<int64_t, 2>{1, 1} &&
        a.pads == std::array<int64_t, 4>{1, 1, 1, 1}) {
      ++same3x3;
    } else if (a.kernel == std::array<int64_t, 2>{8, 8} &&
               a.pads == std::array<int64_t, 4>{0, 0, 0, 0}) {
      ++valid8x8;
      EXPECT_EQ(g.value(n.outputs[0]).shape, (Shape{-1, 2048, 1, 1}));
    }
  }
  EXPECT_EQ(same3x3, 9);
  EXPECT_EQ(valid8x8, 1);
  ExpectFiveClassOutput(g);
}

TEST(TfjsModelsTest, MobileNetV2) {
  SKIP_IF_NOT_FETCHED("mobilenet_v2");
  auto graph = ImportFetched("mobilenet_v2");
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  const ir::Graph& g = *graph;
  EXPECT_EQ(g.value(g.inputs()[0]).shape, (Shape{-1, 3, 224, 224}));
  EXPECT_EQ(g.CountOps(OpType::kConv), 52);
  int depthwise = 0;
  for (ir::NodeId id = 0; id < g.num_nodes(); ++id) {
    const ir::Node& n = g.node(id);
    if (n.op == OpType::kConv && n.attr<ir::ConvAttrs>().group > 1) ++depthwise;
  }
  EXPECT_EQ(depthwise, 17);
  EXPECT_EQ(g.CountOps(OpType::kBatchNorm), 52);
  EXPECT_EQ(g.CountOps(OpType::kPad), 5);
  EXPECT_EQ(g.CountOps(OpType::kBinary), 10);
  ExpectFiveClassOutput(g);
}

}  // namespace
}  // namespace kamado::importers
