#include "passes/fuse_activation.h"

#include <gtest/gtest.h>

#include "passes/fuse_add.h"
#include "passes/graph_builder.h"

namespace kamado::passes {
namespace {

using ir::ActivationKind;
using ir::OpType;
using ir::PostOp;
using testing::ExpectSameOutputs;
using testing::GraphBuilder;
using testing::RunPass;

TEST(FuseActivation, ConvRelu) {
  GraphBuilder b;
  const auto x = b.Input({2, 3, 6, 6});
  const auto c = b.Conv(x, 4, 3);
  const auto y = b.Act(c);
  b.Output(y);
  bool changed = false;
  const ir::Graph after = RunPass(FuseActivation(), b.graph(), &changed);
  EXPECT_TRUE(changed);
  EXPECT_EQ(after.CountOps(OpType::kActivation), 0);
  const ir::NodeId conv = b.graph().value(c).producer;
  EXPECT_EQ(after.value(y).producer, conv);
  EXPECT_EQ(after.node(conv).attr<ir::ConvAttrs>().post_ops, std::vector{PostOp::Act({})});
  ExpectSameOutputs(b.graph(), after, b.RandomInputs());
}

TEST(FuseActivation, DenseSigmoid) {
  GraphBuilder b;
  const auto x = b.Input({3, 8});
  b.Output(b.Act(b.Dense(x, 5), {ActivationKind::kSigmoid}));
  const ir::Graph after = RunPass(FuseActivation(), b.graph());
  EXPECT_EQ(after.CountOps(OpType::kActivation), 0);
  EXPECT_EQ(after.CountOps(OpType::kDense), 1);
  ExpectSameOutputs(b.graph(), after, b.RandomInputs());
}

TEST(FuseActivation, ChainFusesInOrder) {
  GraphBuilder b;
  const auto x = b.Input({1, 3, 5, 5});
  const auto c = b.Conv(x, 4, 3, true, {1, 1, 1, 1});
  const ir::Activation leaky{ActivationKind::kLeakyRelu, 0.1f};
  const ir::Activation clip{ActivationKind::kClip, -0.2f, 0.3f};
  b.Output(b.Act(b.Act(c, leaky), clip));
  const ir::Graph after = RunPass(FuseActivation(), b.graph());
  EXPECT_EQ(after.CountOps(OpType::kActivation), 0);
  EXPECT_EQ(after.node(b.graph().value(c).producer).attr<ir::ConvAttrs>().post_ops,
            (std::vector{PostOp::Act(leaky), PostOp::Act(clip)}));
  ExpectSameOutputs(b.graph(), after, b.RandomInputs());
}

TEST(FuseActivation, AfterSumPostOp) {
  GraphBuilder b;
  const auto x = b.Input({1, 4, 5, 5});
  const auto c = b.Conv(x, 4, 3, true, {1, 1, 1, 1});
  b.Output(b.Act(b.Add(c, x), {ActivationKind::kHardSwish}));
  const ir::Graph fused_add = RunPass(FuseAdd(), b.graph());
  const ir::Graph after = RunPass(FuseActivation(), fused_add);
  EXPECT_EQ(after.CountLiveNodes(), 1);
  const auto& post_ops = after.node(b.graph().value(c).producer).attr<ir::ConvAttrs>().post_ops;
  ASSERT_EQ(post_ops.size(), 2u);
  EXPECT_EQ(post_ops[0].kind, PostOp::Kind::kSum);
  EXPECT_EQ(post_ops[1].kind, PostOp::Kind::kActivation);
  ExpectSameOutputs(b.graph(), after, b.RandomInputs());
}

TEST(FuseActivation, DontFuseConvWithTwoConsumers) {
  GraphBuilder b;
  const auto x = b.Input({1, 3, 4, 4});
  const auto c = b.Conv(x, 3, 1);
  b.Output(b.Act(c));
  b.Output(b.Act(c, {ActivationKind::kTanh}));
  ExpectUnchanged(FuseActivation(), b, OpType::kActivation, 2);
}

TEST(FuseActivation, DontFuseConvThatIsGraphOutput) {
  GraphBuilder b;
  const auto x = b.Input({1, 3, 4, 4});
  const auto c = b.Conv(x, 3, 1);
  b.Output(b.Act(c));
  b.Output(c);
  bool changed = true;
  RunPass(FuseActivation(), b.graph(), &changed);
  EXPECT_FALSE(changed);
}

// DenseNet's BN → ReLU → Conv: the BatchNorm takes the ReLU as its flag
// (oneDNN's fuse_norm_relu); a leaky ReLU is not a plain one and stays.
TEST(FuseActivation, BatchNormTakesAPlainReluOnly) {
  {
    GraphBuilder b;
    const auto x = b.Input({2, 4, 5, 5});
    const auto bn = b.BatchNorm(x);
    const auto y = b.Conv(b.Act(bn), 3, 3);
    b.Output(y);
    bool changed = false;
    const ir::Graph after = RunPass(FuseActivation(), b.graph(), &changed);
    EXPECT_TRUE(changed);
    EXPECT_EQ(after.CountOps(OpType::kActivation), 0);
    const ir::NodeId id = b.graph().value(bn).producer;
    EXPECT_TRUE(after.node(id).attr<ir::BatchNormAttrs>().relu);
    ExpectSameOutputs(b.graph(), after, b.RandomInputs());
  }
  {
    GraphBuilder b;
    const auto x = b.Input({2, 4, 5, 5});
    b.Output(b.Act(b.BatchNorm(x), {ActivationKind::kLeakyRelu, 0.1f}));
    bool changed = true;
    const ir::Graph after = RunPass(FuseActivation(), b.graph(), &changed);
    EXPECT_FALSE(changed);
    EXPECT_EQ(after.CountOps(OpType::kActivation), 1);
  }
}

TEST(FuseActivation, DontFuseIntoOtherOps) {
  GraphBuilder b;
  const auto x = b.Input({1, 3, 4, 4});
  b.Output(b.Act(b.Add(x, x)));
  b.Output(b.Act(x));
  b.Output(b.Act(b.Op(OpType::kGlobalAvgPool, {x})));
  bool changed = true;
  RunPass(FuseActivation(), b.graph(), &changed);
  EXPECT_FALSE(changed);
}

}  // namespace
}  // namespace kamado::passes
