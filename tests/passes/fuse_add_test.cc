#include "passes/fuse_add.h"

#include <gtest/gtest.h>

#include "passes/graph_builder.h"

namespace kamado::passes {
namespace {

using ir::OpType;
using testing::ExpectSameOutputs;
using testing::GraphBuilder;
using testing::RunPass;

const ir::ConvAttrs& ConvOf(const ir::Graph& g, ir::ValueId v) {
  return g.node(g.value(v).producer).attr<ir::ConvAttrs>();
}

TEST(FuseAdd, ConvPlusResidual) {
  for (int order = 0; order < 2; ++order) {
    SCOPED_TRACE(order == 0 ? "Add(conv, x)" : "Add(x, conv)");
    GraphBuilder b;
    const auto x = b.Input({2, 4, 5, 5});
    const auto c = b.Conv(x, 4, 3, true, {1, 1, 1, 1});
    const auto sum = order == 0 ? b.Add(c, x) : b.Add(x, c);
    b.Output(sum);
    const ir::NodeId conv_id = b.graph().value(c).producer;
    bool changed = false;
    const ir::Graph after = RunPass(FuseAdd(), b.graph(), &changed);
    EXPECT_TRUE(changed);
    EXPECT_EQ(after.CountOps(OpType::kBinary), 0);
    EXPECT_EQ(after.value(sum).producer, conv_id);
    const ir::Node& conv = after.node(conv_id);
    ASSERT_EQ(conv.inputs.size(), 4u);
    EXPECT_EQ(conv.inputs[3], x);
    EXPECT_EQ(conv.attr<ir::ConvAttrs>().post_ops, std::vector{ir::PostOp::Sum()});
    ExpectSameOutputs(b.graph(), after, b.RandomInputs());
  }
}

TEST(FuseAdd, ConvWithoutBias) {
  GraphBuilder b;
  const auto x = b.Input({1, 3, 4, 4});
  const auto c = b.Op(OpType::kConv, {x, b.Const({3, 3, 1, 1})}, ir::ConvAttrs{});
  b.Output(b.Add(c, x));
  const ir::Graph after = RunPass(FuseAdd(), b.graph());
  const ir::Node& conv = after.node(b.graph().value(c).producer);
  ASSERT_EQ(conv.inputs.size(), 4u);
  EXPECT_EQ(conv.inputs[2], ir::kNoValue);
  EXPECT_EQ(conv.inputs[3], x);
  ExpectSameOutputs(b.graph(), after, b.RandomInputs());
}

TEST(FuseAdd, BothOperandsConvsFusesIntoTheLaterOne) {
  GraphBuilder b;
  const auto x = b.Input({1, 3, 6, 6});
  const auto c1 = b.Conv(x, 4, 1);
  const auto c2 = b.Conv(x, 4, 3, true, {1, 1, 1, 1});
  b.Output(b.Add(c1, c2));
  const ir::Graph after = RunPass(FuseAdd(), b.graph());
  EXPECT_EQ(after.CountOps(OpType::kBinary), 0);
  const ir::Node& later = after.node(b.graph().value(c2).producer);
  EXPECT_EQ(later.attr<ir::ConvAttrs>().post_ops.size(), 1u);
  EXPECT_EQ(later.inputs[3], c1);
  EXPECT_TRUE(ConvOf(after, c1).post_ops.empty());
  ExpectSameOutputs(b.graph(), after, b.RandomInputs());
}

TEST(FuseAdd, ResidualBlockTwoAdds) {
  // x → conv → add(x) → conv → add(previous sum): the second sum reads the first.
  GraphBuilder b;
  const auto x = b.Input({1, 4, 5, 5});
  const auto s1 = b.Add(b.Conv(x, 4, 3, true, {1, 1, 1, 1}), x);
  const auto s2 = b.Add(s1, b.Conv(s1, 4, 1));
  b.Output(s2);
  const ir::Graph after = RunPass(FuseAdd(), b.graph());
  EXPECT_EQ(after.CountOps(OpType::kBinary), 0);
  ExpectSameOutputs(b.graph(), after, b.RandomInputs());
}

TEST(FuseAdd, DontFuseConvWithTwoConsumers) {
  GraphBuilder b;
  const auto x = b.Input({1, 3, 4, 4});
  const auto c = b.Conv(x, 3, 1);
  b.Output(b.Add(c, x));
  b.Output(b.Act(c));
  ExpectUnchanged(FuseAdd(), b, OpType::kBinary, 1);
}

TEST(FuseAdd, DontFuseConvThatIsGraphOutput) {
  GraphBuilder b;
  const auto x = b.Input({1, 3, 4, 4});
  const auto c = b.Conv(x, 3, 1);
  b.Output(b.Add(c, x));
  b.Output(c);
  bool changed = true;
  RunPass(FuseAdd(), b.graph(), &changed);
  EXPECT_FALSE(changed);
}

TEST(FuseAdd, DontFuseConvWithPostOps) {
  GraphBuilder b;
  const auto x = b.Input({1, 3, 4, 4});
  const auto c = b.Conv(x, 3, 1);
  b.Producer(c).attr<ir::ConvAttrs>().post_ops.push_back(ir::PostOp::Act({}));
  b.Output(b.Add(x, c));
  ExpectUnchanged(FuseAdd(), b, OpType::kBinary, 1);
}

TEST(FuseAdd, DontFuseAddOfConvWithItself) {
  GraphBuilder b;
  const auto x = b.Input({1, 3, 4, 4});
  const auto c = b.Conv(x, 3, 1);
  b.Output(b.Add(c, c));  // the residual would be the conv's own output
  bool changed = true;
  const ir::Graph after = RunPass(FuseAdd(), b.graph(), &changed);
  EXPECT_FALSE(changed);
  ExpectSameOutputs(b.graph(), after, b.RandomInputs());
}

TEST(FuseAdd, DontFuseAddOfNonConvs) {
  GraphBuilder b;
  const auto x = b.Input({1, 3, 4, 4});
  b.Output(b.Add(b.Act(x), b.BatchNorm(x)));
  bool changed = true;
  RunPass(FuseAdd(), b.graph(), &changed);
  EXPECT_FALSE(changed);
}

// Only a same-shape Add of two activations is a residual sum: a broadcast
// add, an add of a constant and other binary kinds stay Binary nodes.
TEST(FuseAdd, DontFuseBroadcastConstantOrOtherBinaryKinds) {
  {
    GraphBuilder b;
    const auto x = b.Input({1, 3, 4, 4});
    const auto c = b.Conv(x, 3, 1);
    const auto pooled = b.Op(OpType::kGlobalAvgPool, {x});  // [1, 3, 1, 1]
    b.Output(b.Add(c, pooled));
    ExpectUnchanged(FuseAdd(), b, OpType::kBinary, 1);
  }
  {
    GraphBuilder b;
    const auto x = b.Input({1, 3, 4, 4});
    b.Output(b.Add(b.Conv(x, 3, 1), b.Const({1, 3, 4, 4})));
    ExpectUnchanged(FuseAdd(), b, OpType::kBinary, 1);
  }
  {
    GraphBuilder b;
    const auto x = b.Input({1, 3, 4, 4});
    b.Output(b.Op(OpType::kBinary, {b.Conv(x, 3, 1), x}, ir::BinaryAttrs{ir::BinaryKind::kMul}));
    ExpectUnchanged(FuseAdd(), b, OpType::kBinary, 1);
  }
}

}  // namespace
}  // namespace kamado::passes
