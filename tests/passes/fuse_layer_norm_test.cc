#include "passes/fuse_layer_norm.h"

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

// ReduceMean(x, axes=[axis], keepdims=1) as the ONNX importer writes it:
// [Transpose axis last] → Reshape [N, 1, K, C] → AvgPool 1×C → Reshape.
ir::ValueId Mean(GraphBuilder& b, ir::ValueId x, int64_t axis) {
  const Shape xs = b.graph().value(x).shape;
  const int64_t r = static_cast<int64_t>(xs.size());
  std::vector<int64_t> perm;
  Shape out{-1};
  int64_t kept = 1;
  for (int64_t d = 0; d < r; ++d) {
    if (d != axis) perm.push_back(d);
    if (d != axis && d > 0) kept *= xs[static_cast<size_t>(d)];
    if (d > 0) out.push_back(d == axis ? 1 : xs[static_cast<size_t>(d)]);
  }
  perm.push_back(axis);
  ir::ValueId v = x;
  if (axis != r - 1) v = b.Op(OpType::kTranspose, {v}, ir::TransposeAttrs{perm});
  const int64_t c = xs[static_cast<size_t>(axis)];
  v = b.Op(OpType::kReshape, {v}, ir::ReshapeAttrs{{-1, 1, kept, c}});
  ir::PoolAttrs window;
  window.kernel = {1, c};
  v = b.Op(OpType::kAvgPool, {v}, window);
  return b.Op(OpType::kReshape, {v}, ir::ReshapeAttrs{out});
}

// PyTorch's nn.LayerNorm at opset 13, over `axis`; `affine` adds · γ + β.
ir::ValueId DecomposedLayerNorm(GraphBuilder& b, ir::ValueId x, int64_t axis, bool affine = true,
                                float eps = 1e-6f) {
  const ir::ValueId d = Bin(b, BinaryKind::kSub, x, Mean(b, x, axis));
  const ir::ValueId v = Mean(b, Bin(b, BinaryKind::kMul, d, d), axis);
  const ir::ValueId e = b.Const({1, 1, 1, 1});
  b.graph().value(e).constant->span()[0] = eps;
  const ir::ValueId s = b.Act(Bin(b, BinaryKind::kAdd, v, e), {ir::ActivationKind::kSqrt});
  ir::ValueId y = Bin(b, BinaryKind::kDiv, d, s);
  if (!affine) return y;
  const Shape xs = b.graph().value(x).shape;
  Shape ps(xs.size(), 1);
  ps[static_cast<size_t>(axis)] = xs[static_cast<size_t>(axis)];
  y = Bin(b, BinaryKind::kMul, y, b.Const(ps, 0.5f, 1.5f));
  return Bin(b, BinaryKind::kAdd, y, b.Const(ps));
}

TEST(FuseLayerNorm, TheDecompositionBecomesOneLayerNormWithItsScaleAndShift) {
  // The last axis (ConvNeXt's channels-last blocks) and axis 1 (over NCHW
  // channels: the importer transposes before each mean), with and without
  // the affine Mul/Add.
  for (int64_t axis : {3, 1}) {
    for (bool affine : {true, false}) {
      SCOPED_TRACE(::testing::Message() << "axis " << axis << " affine " << affine);
      GraphBuilder b;
      const auto x = b.Input({2, 5, 4, 6});
      const auto c = b.Conv(x, 6, 1);
      const auto y = DecomposedLayerNorm(b, c, axis, affine);
      b.Output(y);
      bool changed = false;
      const ir::Graph after = RunPass(FuseLayerNorm(), b.graph(), &changed);
      EXPECT_TRUE(changed);
      EXPECT_EQ(after.CountOps(OpType::kBinary), 0);
      EXPECT_EQ(after.CountOps(OpType::kAvgPool), 0);
      EXPECT_EQ(after.CountOps(OpType::kReshape), 0);
      EXPECT_EQ(after.CountOps(OpType::kTranspose), 0);
      ASSERT_EQ(after.CountOps(OpType::kLayerNorm), 1);
      const ir::Node& ln = after.node(after.value(y).producer);
      EXPECT_EQ(ln.op, OpType::kLayerNorm);
      EXPECT_EQ(ln.attr<ir::LayerNormAttrs>().axis, axis);
      EXPECT_FLOAT_EQ(ln.attr<ir::LayerNormAttrs>().epsilon, 1e-6f);
      EXPECT_EQ(ln.inputs[0], c);
      ExpectSameOutputs(b.graph(), after, b.RandomInputs());
    }
  }
}

// Negative cases: the centred value read elsewhere too (a graph output), a
// computed ε, and means over different axes.
TEST(FuseLayerNorm, AValueReadElsewhereOrAnotherFormIsLeftAsItIs) {
  {
    GraphBuilder b;
    const auto x = b.Input({1, 4, 3, 5});
    const auto d = Bin(b, BinaryKind::kSub, x, Mean(b, x, 3));
    const auto v = Mean(b, Bin(b, BinaryKind::kMul, d, d), 3);
    const auto s = b.Act(Bin(b, BinaryKind::kAdd, v, b.Const({1, 1, 1, 1}, 0.1f, 0.2f)),
                         {ir::ActivationKind::kSqrt});
    b.Output(Bin(b, BinaryKind::kDiv, d, s));
    b.Output(d);
    ExpectUnchanged(FuseLayerNorm(), b, OpType::kAvgPool, 2);
  }
  {
    GraphBuilder b;
    const auto x = b.Input({1, 4, 3, 5});
    const auto eps = b.Input({1, 1, 1, 1});
    const auto d = Bin(b, BinaryKind::kSub, x, Mean(b, x, 3));
    const auto v = Mean(b, Bin(b, BinaryKind::kMul, d, d), 3);
    const auto s = b.Act(Bin(b, BinaryKind::kAdd, v, eps), {ir::ActivationKind::kSqrt});
    b.Output(Bin(b, BinaryKind::kDiv, d, s));
    ExpectUnchanged(FuseLayerNorm(), b, OpType::kAvgPool, 2);
  }
  {
    GraphBuilder b;
    const auto x = b.Input({1, 4, 3, 5});
    const auto d = Bin(b, BinaryKind::kSub, x, Mean(b, x, 3));
    const auto v = Mean(b, Bin(b, BinaryKind::kMul, d, d), 2);  // another axis
    const auto s = b.Act(Bin(b, BinaryKind::kAdd, v, b.Const({1, 1, 1, 1}, 0.1f, 0.2f)),
                         {ir::ActivationKind::kSqrt});
    b.Output(Bin(b, BinaryKind::kDiv, d, s));
    ExpectUnchanged(FuseLayerNorm(), b, OpType::kAvgPool, 2);
  }
}

// A Mul after the normalisation that varies along another axis is not a
// scale: the LayerNorm fuses, the Mul stays.
TEST(FuseLayerNorm, AMulAlongAnotherAxisStaysAfterTheLayerNorm) {
  GraphBuilder b;
  const auto x = b.Input({2, 4, 3, 5});
  const auto y = Bin(b, BinaryKind::kMul, DecomposedLayerNorm(b, x, 3, false), b.Const({1, 4, 1, 1}));
  b.Output(y);
  const ir::Graph after = RunPass(FuseLayerNorm(), b.graph());
  EXPECT_EQ(after.CountOps(OpType::kLayerNorm), 1);
  EXPECT_EQ(after.CountOps(OpType::kBinary), 1);
  ExpectSameOutputs(b.graph(), after, b.RandomInputs());
}

}  // namespace
}  // namespace kamado::passes
