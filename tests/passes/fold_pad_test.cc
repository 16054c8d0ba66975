#include "passes/fold_pad.h"

#include <gtest/gtest.h>

#include "passes/graph_builder.h"

namespace kamado::passes {
namespace {

using ir::OpType;
using testing::ExpectSameOutputs;
using testing::GraphBuilder;
using testing::RunPass;

TEST(FoldPad, ZeroPadIntoConv) {
  GraphBuilder b;
  const auto x = b.Input({2, 3, 6, 7});
  const auto p = b.Pad(x, {1, 2, 0, 1});
  const auto c = b.Conv(p, 4, 3, true, {1, 0, 1, 1}, 1, {2, 2});
  b.Output(c);
  bool changed = false;
  const ir::Graph after = RunPass(FoldPad(), b.graph(), &changed);
  EXPECT_TRUE(changed);
  EXPECT_EQ(after.CountOps(OpType::kPad), 0);
  const ir::Node& conv = after.node(after.value(c).producer);
  EXPECT_EQ(conv.inputs[0], x);
  EXPECT_EQ(conv.attr<ir::ConvAttrs>().pads, (std::array<int64_t, 4>{2, 2, 1, 2}));
  ExpectSameOutputs(b.graph(), after, b.RandomInputs());
}

TEST(FoldPad, TwoPadsIntoDepthwiseConv) {
  GraphBuilder b;
  const auto x = b.Input({1, 4, 5, 5});
  const auto p = b.Pad(b.Pad(x, {1, 1, 0, 0}), {0, 0, 1, 1});
  b.Output(b.Conv(p, 4, 3, false, {0, 0, 0, 0}, /*group=*/4));
  const ir::Graph after = RunPass(FoldPad(), b.graph());
  EXPECT_EQ(after.CountOps(OpType::kPad), 0);
  ExpectSameOutputs(b.graph(), after, b.RandomInputs());
}

TEST(FoldPad, DontFoldNonZeroPadValue) {
  GraphBuilder b;
  const auto x = b.Input({1, 3, 5, 5});
  b.Output(b.Conv(b.Pad(x, {1, 1, 1, 1}, 0.5f), 2, 3));
  bool changed = true;
  const ir::Graph after = RunPass(FoldPad(), b.graph(), &changed);
  EXPECT_FALSE(changed);
  EXPECT_EQ(after.CountOps(OpType::kPad), 1);
}

TEST(FoldPad, DontFoldIntoPooling) {
  GraphBuilder b;
  const auto x = b.Input({1, 3, 5, 5});
  ir::PoolAttrs pool;
  pool.kernel = {3, 3};
  const auto p = b.Pad(x, {1, 1, 1, 1});
  b.Output(b.Op(OpType::kMaxPool, {p}, pool));
  b.Output(b.Op(OpType::kAvgPool, {b.Pad(x, {1, 1, 1, 1})}, pool));
  bool changed = true;
  const ir::Graph after = RunPass(FoldPad(), b.graph(), &changed);
  EXPECT_FALSE(changed);
  EXPECT_EQ(after.CountOps(OpType::kPad), 2);
}

TEST(FoldPad, DontFoldPadWithTwoConsumers) {
  GraphBuilder b;
  const auto x = b.Input({1, 3, 5, 5});
  const auto p = b.Pad(x, {1, 1, 1, 1});
  b.Output(b.Conv(p, 2, 3));
  b.Output(b.Conv(p, 2, 3));
  ExpectUnchanged(FoldPad(), b, OpType::kPad, 1);
}

TEST(FoldPad, DontFoldPadThatIsGraphOutput) {
  GraphBuilder b;
  const auto x = b.Input({1, 3, 5, 5});
  const auto p = b.Pad(x, {1, 1, 1, 1});
  b.Output(b.Conv(p, 2, 3));
  b.Output(p);
  bool changed = true;
  const ir::Graph after = RunPass(FoldPad(), b.graph(), &changed);
  EXPECT_FALSE(changed);
  EXPECT_EQ(after.CountOps(OpType::kPad), 1);
}

TEST(FoldPad, DontFoldPadUsedAsResidual) {
  GraphBuilder b;
  const auto x = b.Input({1, 3, 5, 5});
  const auto y = b.Input({1, 3, 3, 3});
  const auto p = b.Pad(y, {1, 1, 1, 1});
  const auto c = b.Conv(x, 3, 1);
  ir::Node& conv = b.Producer(c);
  conv.inputs.push_back(p);  // residual, not the data input
  conv.attr<ir::ConvAttrs>().post_ops.push_back(ir::PostOp::Sum());
  b.Output(c);
  bool changed = true;
  const ir::Graph after = RunPass(FoldPad(), b.graph(), &changed);
  EXPECT_FALSE(changed);
  ExpectSameOutputs(b.graph(), after, b.RandomInputs());
}

}  // namespace
}  // namespace kamado::passes
