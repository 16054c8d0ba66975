#include "passes/pass_manager.h"

#include <gtest/gtest.h>

#include "passes/graph_builder.h"

namespace kamado::passes {
namespace {

using ir::OpType;
using testing::ExpectSameOutputs;
using testing::GraphBuilder;

// A small ResNet-like model covering every pass:
// pad → conv → bn → relu → [conv → bn → add(skip) → relu] → identity →
// flatten → dense → bn → softmax.
void BuildModel(GraphBuilder& b, Layout layout, bool channels_last) {
  b.graph().input_layout = layout;
  const auto x = b.Input({-1, 3, 8, 8});
  const auto stem =
      b.Act(b.BatchNorm(b.Conv(b.Pad(x, {1, 1, 1, 1}), 4, 3, false, {0, 0, 0, 0}, 1, {2, 2})));
  const auto branch = b.BatchNorm(b.Conv(stem, 4, 3, false, {1, 1, 1, 1}));
  const auto block = b.Act(b.Add(stem, branch), {ir::ActivationKind::kClip, 0.0f, 6.0f});
  const auto dense = b.Dense(b.Flatten(b.Identity(block), channels_last), 5);
  b.Output(b.Op(OpType::kSoftmax, {b.BatchNorm(dense)}, ir::SoftmaxAttrs{1}));
}

TEST(RunDefaultPasses, FusesSmallModel) {
  for (auto layout : {Layout::kNCHW, Layout::kNHWC}) {
    for (bool channels_last : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "nhwc=" << (layout == Layout::kNHWC)
                                        << " channels_last=" << channels_last);
      GraphBuilder b;
      BuildModel(b, layout, channels_last);
      ir::Graph after = b.graph();
      const Status s = RunDefaultPasses(after);
      ASSERT_TRUE(s.ok()) << s.ToString();
      EXPECT_EQ(after.CountOps(OpType::kConv), 2);
      EXPECT_EQ(after.CountOps(OpType::kDense), 1);
      EXPECT_EQ(after.CountOps(OpType::kSoftmax), 1);
      EXPECT_EQ(after.CountLiveNodes(), 4);
      ExpectSameOutputs(b.graph(), after, b.RandomInputs());
    }
  }
}

TEST(RunDefaultPasses, OptionsTurnPassesOff) {
  GraphBuilder b;
  BuildModel(b, Layout::kNCHW, false);
  const int nodes = b.graph().CountLiveNodes();

  ir::Graph none = b.graph();
  const PassOptions off{.fold_batch_norm = false,
                        .remove_identity = false,
                        .fold_pad = false,
                        .fuse_add = false,
                        .fuse_gelu = false,
                        .fuse_layer_norm = false,
                        .fuse_swish = false,
                        .sink_transpose = false,
                        .fold_conv_affine = false,
                        .fuse_activation = false,
                        .fold_flatten_into_dense = false,
                        .sink_avg_pool = false};
  ASSERT_TRUE(RunDefaultPasses(none, off).ok());
  EXPECT_EQ(none.CountLiveNodes(), nodes);

  ir::Graph no_act = b.graph();
  PassOptions options;
  options.fuse_activation = false;
  options.fold_pad = false;
  ASSERT_TRUE(RunDefaultPasses(no_act, options).ok());
  EXPECT_EQ(no_act.CountOps(OpType::kActivation), 2);
  EXPECT_EQ(no_act.CountOps(OpType::kPad), 1);
  EXPECT_EQ(no_act.CountOps(OpType::kBinary), 0);
  EXPECT_EQ(no_act.CountOps(OpType::kBatchNorm), 0);
  ExpectSameOutputs(b.graph(), no_act, b.RandomInputs());
}

TEST(RunDefaultPasses, ReportsBrokenGraph) {
  GraphBuilder b;
  const auto x = b.Input({1, 3, 4, 4});
  b.Output(b.Act(x));
  b.graph().mutable_outputs().push_back(b.graph().AddValue("dangling", {1}));
  const Status s = RunDefaultPasses(b.graph());
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_NE(s.message().find("dangling"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace kamado::passes
