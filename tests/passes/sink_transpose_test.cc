#include "passes/sink_transpose.h"

#include <gtest/gtest.h>

#include "passes/graph_builder.h"

namespace kamado::passes {
namespace {

using ir::OpType;
using testing::ExpectSameOutputs;
using testing::ExpectUnchanged;
using testing::GraphBuilder;
using testing::RunPass;

ir::ValueId T(GraphBuilder& b, ir::ValueId x, std::vector<int64_t> perm) {
  return b.Op(OpType::kTranspose, {x}, ir::TransposeAttrs{std::move(perm)});
}

ir::ValueId LayerNorm(GraphBuilder& b, ir::ValueId x, int64_t axis) {
  const int64_t c = b.graph().value(x).shape[static_cast<size_t>(axis)];
  return b.Op(OpType::kLayerNorm, {x, b.Const({c}, 0.5f, 1.5f), b.Const({c})}, ir::LayerNormAttrs{axis, 1e-6f});
}

// A ConvNeXt block as imported: permute to channels-last, LayerNorm over the
// last axis, a Linear as Transpose · 1×1 Conv · Transpose, its bias, GELU,
// permute back. Every permute cancels; the LayerNorm goes over axis 1 and
// the bias constant is permuted to [1, C, 1, 1].
TEST(SinkTranspose, AConvNextBlocksPermutesAllCancel) {
  GraphBuilder b;
  const auto x = b.Input({2, 8, 5, 5});
  const auto c = b.Conv(x, 8, 3);
  auto y = LayerNorm(b, T(b, c, {0, 2, 3, 1}), 3);
  y = T(b, b.Conv(T(b, y, {0, 3, 1, 2}), 16, 1), {0, 2, 3, 1});
  y = b.Op(OpType::kBinary, {y, b.Const({1, 1, 1, 16})}, ir::BinaryAttrs{ir::BinaryKind::kAdd});
  y = b.Act(y, {ir::ActivationKind::kGeluErf});
  y = T(b, y, {0, 3, 1, 2});
  b.Output(y);
  bool changed = false;
  const ir::Graph after = RunPass(SinkTranspose(), b.graph(), &changed);
  EXPECT_TRUE(changed);
  EXPECT_EQ(after.CountOps(OpType::kTranspose), 0);
  for (ir::NodeId id = 0; id < after.num_nodes(); ++id) {
    const ir::Node& n = after.node(id);
    if (n.dead) continue;
    if (n.op == OpType::kLayerNorm) EXPECT_EQ(n.attr<ir::LayerNormAttrs>().axis, 1);
    if (n.op == OpType::kBinary) EXPECT_EQ(after.value(n.inputs[1]).shape, (Shape{1, 16, 1, 1}));
  }
  ExpectSameOutputs(b.graph(), after, b.RandomInputs());
}

// Two permutes that do not undo each other become one: T_q(T_p(x)) = T_r(x).
TEST(SinkTranspose, TwoPermutesBecomeTheirComposition) {
  GraphBuilder b;
  const auto x = b.Input({1, 2, 3, 4});
  b.Output(b.Act(T(b, T(b, x, {0, 2, 3, 1}), {0, 2, 3, 1})));
  const ir::Graph after = RunPass(SinkTranspose(), b.graph());
  EXPECT_EQ(after.CountOps(OpType::kTranspose), 1);
  ExpectSameOutputs(b.graph(), after, b.RandomInputs());
}

// Negatives: a permuted value read twice, and a permute feeding a Conv
// (which does not commute with it).
TEST(SinkTranspose, APermuteReadTwiceOrIntoAConvStays) {
  {
    GraphBuilder b;
    const auto x = b.Input({1, 4, 3, 3});
    const auto t = T(b, x, {0, 2, 3, 1});
    b.Output(b.Act(t));
    b.Output(b.Act(t, {ir::ActivationKind::kSigmoid}));
    ExpectUnchanged(SinkTranspose(), b, OpType::kTranspose, 1);
  }
  {
    GraphBuilder b;
    const auto x = b.Input({1, 4, 4, 4});
    b.Output(b.Conv(T(b, x, {0, 1, 3, 2}), 3, 1));
    ExpectUnchanged(SinkTranspose(), b, OpType::kTranspose, 1);
  }
}

}  // namespace
}  // namespace kamado::passes

namespace kamado::passes {
namespace {

// Two permutes that undo each other between two graph outputs (x itself is
// one): nothing is merged away, both outputs keep their names and values.
TEST(SinkTranspose, APairBetweenTwoGraphOutputsStays) {
  GraphBuilder b;
  const auto x = b.Input({1, 2, 3, 4});
  const auto a = b.Act(x);
  b.Output(a);
  b.Output(T(b, T(b, a, {0, 2, 3, 1}), {0, 3, 1, 2}));
  const ir::Graph after = RunPass(SinkTranspose(), b.graph());
  EXPECT_EQ(after.CountOps(OpType::kTranspose), 2);
  ExpectSameOutputs(b.graph(), after, b.RandomInputs());
}

}  // namespace
}  // namespace kamado::passes
