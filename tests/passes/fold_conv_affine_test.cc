#include "passes/fold_conv_affine.h"

#include <gtest/gtest.h>

#include "passes/graph_builder.h"

namespace kamado::passes {
namespace {

using ir::BinaryKind;
using ir::OpType;
using testing::ExpectSameOutputs;
using testing::ExpectUnchanged;
using testing::GraphBuilder;
using testing::RunPass;

ir::ValueId Bin(GraphBuilder& b, BinaryKind k, ir::ValueId a, ir::ValueId c) {
  return b.Op(OpType::kBinary, {a, c}, ir::BinaryAttrs{k});
}

// A Linear's bias and a layer scale after a 1×1 Conv (ConvNeXt), and a
// scalar Sub and per-channel Div after a Conv without bias: all fold.
TEST(FoldConvAffine, PerChannelAndScalarConstantsFoldIntoWeightsAndBias) {
  {
    GraphBuilder b;
    const auto x = b.Input({2, 3, 5, 5});
    auto y = Bin(b, BinaryKind::kAdd, b.Conv(x, 4, 1), b.Const({1, 4, 1, 1}));
    y = Bin(b, BinaryKind::kMul, y, b.Const({1, 4, 1, 1}, 0.5f, 1.5f));
    b.Output(b.Act(y));
    bool changed = false;
    const ir::Graph after = RunPass(FoldConvAffine(), b.graph(), &changed);
    EXPECT_TRUE(changed);
    EXPECT_EQ(after.CountOps(OpType::kBinary), 0);
    ExpectSameOutputs(b.graph(), after, b.RandomInputs());
  }
  {
    GraphBuilder b;
    const auto x = b.Input({2, 3, 5, 5});
    auto y = Bin(b, BinaryKind::kSub, b.Conv(x, 4, 3, /*bias=*/false), b.Const({1, 1, 1, 1}));
    b.Output(Bin(b, BinaryKind::kDiv, y, b.Const({1, 4, 1, 1}, 0.5f, 2.0f)));
    const ir::Graph after = RunPass(FoldConvAffine(), b.graph());
    EXPECT_EQ(after.CountOps(OpType::kBinary), 0);
    ExpectSameOutputs(b.graph(), after, b.RandomInputs());
  }
}

// Negatives: the Conv's output read elsewhere too, a constant that varies
// along W, a Conv that already has an activation fused.
TEST(FoldConvAffine, AConvReadElsewhereOrAnotherConstantStays) {
  {
    GraphBuilder b;
    const auto x = b.Input({1, 3, 4, 4});
    const auto c = b.Conv(x, 4, 1);
    b.Output(Bin(b, BinaryKind::kAdd, c, b.Const({1, 4, 1, 1})));
    b.Output(c);
    ExpectUnchanged(FoldConvAffine(), b, OpType::kBinary, 1);
  }
  {
    GraphBuilder b;
    const auto x = b.Input({1, 3, 4, 4});
    b.Output(Bin(b, BinaryKind::kMul, b.Conv(x, 4, 1), b.Const({1, 1, 1, 4})));
    ExpectUnchanged(FoldConvAffine(), b, OpType::kBinary, 1);
  }
  {
    GraphBuilder b;
    const auto x = b.Input({1, 3, 4, 4});
    const auto c = b.Conv(x, 4, 1);
    b.Producer(c).attr<ir::ConvAttrs>().post_ops = {ir::PostOp::Act({ir::ActivationKind::kRelu})};
    b.Output(Bin(b, BinaryKind::kAdd, c, b.Const({1, 4, 1, 1})));
    ExpectUnchanged(FoldConvAffine(), b, OpType::kBinary, 1);
  }
}

}  // namespace
}  // namespace kamado::passes
