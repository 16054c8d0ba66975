#include "passes/sink_avg_pool.h"

#include <gtest/gtest.h>

#include "passes/fuse_activation.h"
#include "passes/graph_builder.h"

namespace kamado::passes {
namespace {

using ir::OpType;
using ir::PostOp;
using testing::ExpectSameOutputs;
using testing::GraphBuilder;
using testing::RunPass;

ir::PoolAttrs SamePool3x3() {
  return {.kernel = {3, 3}, .strides = {1, 1}, .pads = {1, 1, 1, 1}, .count_include_pad = false};
}

// The pooling branch of an Inception block: AvgPool 3x3 'same' → Conv 1x1
// (fewer channels) → ReLU, next to a second branch that reads the same input.
TEST(SinkAvgPool, InceptionPoolBranch) {
  GraphBuilder b;
  const auto x = b.Input({2, 16, 7, 7});
  const auto pooled = b.Op(OpType::kAvgPool, {x}, SamePool3x3());
  const auto y = b.Act(b.Conv(pooled, 4, 1));
  b.Output(b.Op(OpType::kConcat, {y, b.Conv(x, 3, 1)}, ir::ConcatAttrs{1}));
  const ir::Graph fused = RunPass(FuseActivation(), b.graph());
  bool changed = false;
  const ir::Graph after = RunPass(SinkAvgPool(), fused, &changed);
  EXPECT_TRUE(changed);
  const ir::NodeId pool = b.graph().value(pooled).producer;
  const ir::NodeId conv = after.value(after.node(pool).inputs[0]).producer;
  ASSERT_NE(conv, ir::kNoNode);
  EXPECT_EQ(after.node(conv).op, OpType::kConv);
  EXPECT_EQ(after.node(conv).inputs[0], x);
  EXPECT_EQ(after.value(after.node(pool).inputs[0]).shape, (Shape{2, 4, 7, 7}));
  EXPECT_EQ(after.value(y).producer, pool);  // the concat still reads y
  EXPECT_TRUE(after.node(conv).attr<ir::ConvAttrs>().post_ops.empty());
  EXPECT_EQ(after.node(pool).attr<ir::PoolAttrs>().post_ops, std::vector{PostOp::Act({})});
  ExpectSameOutputs(b.graph(), after, b.RandomInputs());
}

TEST(SinkAvgPool, StridedUnpaddedPoolCountingPadding) {
  // No padding: count_include_pad does not matter and the swap is exact.
  GraphBuilder b;
  const auto x = b.Input({1, 12, 9, 9});
  const ir::PoolAttrs a{.kernel = {3, 3}, .strides = {2, 2}, .count_include_pad = true};
  const auto y = b.Conv(b.Op(OpType::kAvgPool, {x}, a), 5, 1);
  b.Output(y);
  bool changed = false;
  const ir::Graph after = RunPass(SinkAvgPool(), b.graph(), &changed);
  EXPECT_TRUE(changed);
  EXPECT_EQ(after.value(y).shape, (Shape{1, 5, 4, 4}));
  ExpectSameOutputs(b.graph(), after, b.RandomInputs());
}

TEST(SinkAvgPool, DontSwapWhenPaddingCountsInTheDivisor) {
  // Border windows weigh less than 1: the bias would not pass through.
  GraphBuilder b;
  const auto x = b.Input({1, 8, 5, 5});
  ir::PoolAttrs a = SamePool3x3();
  a.count_include_pad = true;
  b.Output(b.Conv(b.Op(OpType::kAvgPool, {x}, a), 2, 1));
  testing::ExpectUnchanged(SinkAvgPool(), b, OpType::kAvgPool, 1);
}

TEST(SinkAvgPool, DontSwapWithASpatialConv) {
  GraphBuilder b;
  const auto x = b.Input({1, 8, 6, 6});
  b.Output(b.Conv(b.Op(OpType::kAvgPool, {x}, SamePool3x3()), 2, 3));
  testing::ExpectUnchanged(SinkAvgPool(), b, OpType::kAvgPool, 1);
}

TEST(SinkAvgPool, DontSwapWhenChannelsGrow) {
  GraphBuilder b;
  const auto x = b.Input({1, 4, 6, 6});
  b.Output(b.Conv(b.Op(OpType::kAvgPool, {x}, SamePool3x3()), 4, 1));
  testing::ExpectUnchanged(SinkAvgPool(), b, OpType::kAvgPool, 1);
}

TEST(SinkAvgPool, DontSwapWhenThePoolHasAnotherReader) {
  GraphBuilder b;
  const auto x = b.Input({1, 8, 6, 6});
  const auto pooled = b.Op(OpType::kAvgPool, {x}, SamePool3x3());
  b.Output(b.Conv(pooled, 2, 1));
  b.Output(b.Act(pooled));
  testing::ExpectUnchanged(SinkAvgPool(), b, OpType::kAvgPool, 1);
}

TEST(SinkAvgPool, DontSwapAMaxPool) {
  GraphBuilder b;
  const auto x = b.Input({1, 8, 6, 6});
  b.Output(b.Conv(b.Op(OpType::kMaxPool, {x}, SamePool3x3()), 2, 1));
  testing::ExpectUnchanged(SinkAvgPool(), b, OpType::kMaxPool, 1);
}

}  // namespace
}  // namespace kamado::passes
