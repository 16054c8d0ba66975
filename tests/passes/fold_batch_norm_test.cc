#include "passes/fold_batch_norm.h"

#include <gtest/gtest.h>

#include <vector>

#include "passes/graph_builder.h"

namespace kamado::passes {
namespace {

using ir::OpType;
using testing::ExpectSameOutputs;
using testing::GraphBuilder;
using testing::RunPass;

TEST(FoldBatchNorm, ConvWithBias) {
  GraphBuilder b;
  const auto x = b.Input({2, 3, 7, 7});
  const auto c = b.Conv(x, 5, 3, /*bias=*/true, {1, 1, 1, 1});
  const auto bn = b.BatchNorm(c);
  b.Output(b.Act(bn));
  bool changed = false;
  const ir::Graph after = RunPass(FoldBatchNorm(), b.graph(), &changed);
  EXPECT_TRUE(changed);
  EXPECT_EQ(after.CountOps(OpType::kBatchNorm), 0);
  EXPECT_EQ(after.CountOps(OpType::kConv), 1);
  EXPECT_EQ(after.CountOps(OpType::kActivation), 1);
  EXPECT_EQ(after.value(bn).producer, b.graph().value(c).producer);  // conv took over
  ExpectSameOutputs(b.graph(), after, b.RandomInputs());
}

TEST(FoldBatchNorm, DepthwiseConvWithoutBiasGetsOne) {
  GraphBuilder b;
  const auto x = b.Input({1, 4, 6, 6});
  const auto c = b.Conv(x, 4, 3, /*bias=*/false, {1, 1, 1, 1}, /*group=*/4);
  b.Output(b.BatchNorm(c, 1e-5f));
  const ir::Graph after = RunPass(FoldBatchNorm(), b.graph());
  EXPECT_EQ(after.CountOps(OpType::kBatchNorm), 0);
  const ir::Node& conv = after.node(b.graph().value(c).producer);  // ids are stable
  ASSERT_GE(conv.inputs.size(), 3u);
  ASSERT_NE(conv.inputs[2], ir::kNoValue);
  EXPECT_TRUE(after.value(conv.inputs[2]).is_constant());
  EXPECT_EQ(after.value(conv.inputs[2]).shape, (Shape{4}));
  ExpectSameOutputs(b.graph(), after, b.RandomInputs());
}

TEST(FoldBatchNorm, Dense) {
  GraphBuilder b;
  const auto x = b.Input({3, 10});
  const auto d = b.Dense(x, 6);
  b.Output(b.BatchNorm(d));
  const ir::Graph after = RunPass(FoldBatchNorm(), b.graph());
  EXPECT_EQ(after.CountOps(OpType::kBatchNorm), 0);
  EXPECT_EQ(after.CountOps(OpType::kDense), 1);
  ExpectSameOutputs(b.graph(), after, b.RandomInputs());
}

TEST(FoldBatchNorm, SharedWeightIsNotModified) {
  GraphBuilder b;
  const auto x = b.Input({1, 3, 5, 5});
  const auto c1 = b.Conv(x, 3, 3, true, {1, 1, 1, 1});
  // A second conv reading the same weight and bias constants, without BatchNorm.
  const ir::Node conv1 = b.Producer(c1);
  ir::ConvAttrs a = conv1.attr<ir::ConvAttrs>();
  const auto c2 = b.Op(OpType::kConv, {x, conv1.inputs[1], conv1.inputs[2]}, a);
  b.Output(b.BatchNorm(c1));
  b.Output(c2);
  const std::vector<float> weight_before(b.graph().value(conv1.inputs[1]).constant->span().begin(),
                                         b.graph().value(conv1.inputs[1]).constant->span().end());
  const ir::Graph after = RunPass(FoldBatchNorm(), b.graph());
  EXPECT_EQ(after.CountOps(OpType::kBatchNorm), 0);
  const auto& w = *b.graph().value(conv1.inputs[1]).constant;
  EXPECT_EQ(std::vector<float>(w.span().begin(), w.span().end()), weight_before);
  ExpectSameOutputs(b.graph(), after, b.RandomInputs());
}

TEST(FoldBatchNorm, ChainOfBatchNorms) {
  GraphBuilder b;
  const auto x = b.Input({1, 2, 4, 4});
  b.Output(b.BatchNorm(b.BatchNorm(b.Conv(x, 3, 1))));
  const ir::Graph after = RunPass(FoldBatchNorm(), b.graph());
  EXPECT_EQ(after.CountOps(OpType::kBatchNorm), 0);
  ExpectSameOutputs(b.graph(), after, b.RandomInputs());
}

TEST(FoldBatchNorm, DontFuseConvWithTwoConsumers) {
  GraphBuilder b;
  const auto x = b.Input({1, 3, 5, 5});
  const auto c = b.Conv(x, 3, 1);
  b.Output(b.Add(b.BatchNorm(c), c));
  ExpectUnchanged(FoldBatchNorm(), b, OpType::kBatchNorm, 1);
}

TEST(FoldBatchNorm, DontFuseConvThatIsGraphOutput) {
  GraphBuilder b;
  const auto x = b.Input({1, 3, 5, 5});
  const auto c = b.Conv(x, 3, 1);
  b.Output(b.BatchNorm(c));
  b.Output(c);
  bool changed = true;
  const ir::Graph after = RunPass(FoldBatchNorm(), b.graph(), &changed);
  EXPECT_FALSE(changed);
  EXPECT_EQ(after.CountOps(OpType::kBatchNorm), 1);
}

TEST(FoldBatchNorm, DontFuseConvWithPostOps) {
  GraphBuilder b;
  const auto x = b.Input({1, 3, 5, 5});
  const auto c = b.Conv(x, 3, 1);
  b.Producer(c).attr<ir::ConvAttrs>().post_ops.push_back(ir::PostOp::Act({}));
  b.Output(b.BatchNorm(c));
  ExpectUnchanged(FoldBatchNorm(), b, OpType::kBatchNorm, 1);
}

TEST(FoldBatchNorm, DontFuseNonConstantWeightOrParameters) {
  GraphBuilder b;
  const auto x = b.Input({1, 3, 4, 4});
  const auto w = b.Input({2, 3, 1, 1});  // weight fed at run time
  const auto c = b.Op(OpType::kConv, {x, w}, ir::ConvAttrs{});
  b.Output(b.BatchNorm(c));
  const auto y = b.Input({1, 3, 4, 4});
  const auto mean = b.Input({3});  // statistics fed at run time
  const auto c2 = b.Conv(y, 3, 1);
  b.Output(b.Op(OpType::kBatchNorm, {c2, b.Const({3}), b.Const({3}), mean, b.Const({3}, 1, 2)},
                ir::BatchNormAttrs{}));
  bool changed = true;
  const ir::Graph after = RunPass(FoldBatchNorm(), b.graph(), &changed);
  EXPECT_FALSE(changed);
  EXPECT_EQ(after.CountOps(OpType::kBatchNorm), 2);
}

TEST(FoldBatchNorm, DontFuseBatchNormAfterOtherOps) {
  GraphBuilder b;
  const auto x = b.Input({1, 3, 4, 4});
  b.Output(b.BatchNorm(b.Act(x)));
  bool changed = true;
  RunPass(FoldBatchNorm(), b.graph(), &changed);
  EXPECT_FALSE(changed);
}

}  // namespace
}  // namespace kamado::passes
