#include "passes/fuse_gelu.h"

#include <gtest/gtest.h>

#include <cmath>

#include "passes/graph_builder.h"

namespace kamado::passes {
namespace {

using ir::ActivationKind;
using ir::BinaryKind;
using ir::OpType;
using testing::ExpectOneActivationThatFusesIntoTheConv;
using testing::ExpectUnchanged;
using testing::GraphBuilder;

// A [1, 1, 1, 1] constant holding `v` (a Binary's b has a's rank).
ir::ValueId Scalar(GraphBuilder& b, float v) {
  const ir::ValueId c = b.Const({1, 1, 1, 1});
  b.graph().value(c).constant->span()[0] = v;
  return c;
}

ir::ValueId Bin(GraphBuilder& b, BinaryKind k, ir::ValueId a, ir::ValueId c) {
  return b.Op(OpType::kBinary, {a, c}, ir::BinaryAttrs{k});
}

// PyTorch's nn.GELU at opset 13: Div(x, √2) → Erf → Add 1 → Mul x → Mul ½.
// `inv` writes the scale as Mul(x, 1/√2), `swap` the first Mul as (·, x).
ir::ValueId Gelu(GraphBuilder& b, ir::ValueId x, bool inv = false, bool swap = false, float half = 0.5f) {
  const ir::ValueId s = inv ? Bin(b, BinaryKind::kMul, x, Scalar(b, 0.70710678f))
                            : Bin(b, BinaryKind::kDiv, x, Scalar(b, 1.41421356f));
  const ir::ValueId e = b.Act(s, {ActivationKind::kErf});
  const ir::ValueId p = Bin(b, BinaryKind::kAdd, e, Scalar(b, 1.0f));
  const ir::ValueId m = swap ? Bin(b, BinaryKind::kMul, p, x) : Bin(b, BinaryKind::kMul, x, p);
  return Bin(b, BinaryKind::kMul, m, Scalar(b, half));
}

TEST(FuseGelu, ThePatternBecomesOneActivationThatFusesIntoTheConv) {
  for (bool inv : {false, true}) {
    for (bool swap : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "inv " << inv << " swap " << swap);
      GraphBuilder b;
      const auto x = b.Input({2, 3, 6, 6});
      const auto c = b.Conv(x, 4, 3);
      const auto y = Gelu(b, c, inv, swap);
      b.Output(y);
      ExpectOneActivationThatFusesIntoTheConv(FuseGelu(), b, y, c, ActivationKind::kGeluErf);
    }
  }
}

// Negative cases: a constant that is not ½ (x·0.4·(1+erf)), and an
// intermediate value read elsewhere (the Erf is a graph output too).
TEST(FuseGelu, AnotherConstantOrAnIntermediateReadElsewhereIsLeftAsItIs) {
  {
    GraphBuilder b;
    const auto x = b.Input({1, 4, 3, 3});
    b.Output(Gelu(b, x, false, false, 0.4f));
    ExpectUnchanged(FuseGelu(), b, OpType::kBinary, 4);
  }
  {
    GraphBuilder b;
    const auto x = b.Input({1, 4, 3, 3});
    const auto s = Bin(b, BinaryKind::kDiv, x, Scalar(b, 1.41421356f));
    const auto e = b.Act(s, {ActivationKind::kErf});
    const auto p = Bin(b, BinaryKind::kAdd, e, Scalar(b, 1.0f));
    b.Output(Bin(b, BinaryKind::kMul, Bin(b, BinaryKind::kMul, x, p), Scalar(b, 0.5f)));
    b.Output(e);
    ExpectUnchanged(FuseGelu(), b, OpType::kBinary, 4);
  }
}

}  // namespace
}  // namespace kamado::passes

namespace kamado::passes {
namespace {

// nn.GELU(approximate='tanh') as torch.onnx writes it, the constants first
// where it puts them (the importer keeps them as the second operand, so
// `swap` exercises the other order of the computed operands instead).
ir::ValueId GeluTanh(GraphBuilder& b, ir::ValueId x, bool swap = false, float kappa = 0.044715f) {
  auto bin = [&](BinaryKind k, ir::ValueId p, ir::ValueId q) { return b.Op(OpType::kBinary, {p, q}, ir::BinaryAttrs{k}); };
  const ir::ValueId sq = bin(BinaryKind::kMul, x, x);
  const ir::ValueId cube = swap ? bin(BinaryKind::kMul, sq, x) : bin(BinaryKind::kMul, x, sq);
  const ir::ValueId cubic = bin(BinaryKind::kMul, cube, Scalar(b, kappa));
  const ir::ValueId sum = swap ? bin(BinaryKind::kAdd, cubic, x) : bin(BinaryKind::kAdd, x, cubic);
  const ir::ValueId inner = bin(BinaryKind::kMul, sum, Scalar(b, 0.79788456f));
  const ir::ValueId t = b.Act(inner, {ActivationKind::kTanh});
  const ir::ValueId p = bin(BinaryKind::kAdd, t, Scalar(b, 1.0f));
  const ir::ValueId m = swap ? bin(BinaryKind::kMul, p, x) : bin(BinaryKind::kMul, x, p);
  return bin(BinaryKind::kMul, m, Scalar(b, 0.5f));
}

TEST(FuseGelu, TheTanhFormBecomesOneActivationThatFusesIntoTheConv) {
  for (bool swap : {false, true}) {
    SCOPED_TRACE(swap ? "swapped operands" : "torch order");
    GraphBuilder b;
    const auto x = b.Input({2, 3, 6, 6});
    const auto c = b.Conv(x, 4, 3);
    const auto y = GeluTanh(b, c, swap);
    b.Output(y);
    ExpectOneActivationThatFusesIntoTheConv(FuseGelu(), b, y, c, ActivationKind::kGeluTanh);
  }
}

// Another cubic coefficient is not GELU: left as it is.
TEST(FuseGelu, TheTanhFormWithAnotherCoefficientIsLeftAsItIs) {
  GraphBuilder b;
  const auto x = b.Input({1, 4, 3, 3});
  b.Output(GeluTanh(b, x, false, 0.05f));
  ExpectUnchanged(FuseGelu(), b, OpType::kBinary, 8);
}

}  // namespace
}  // namespace kamado::passes
