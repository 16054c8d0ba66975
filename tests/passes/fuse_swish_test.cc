#include "passes/fuse_swish.h"

#include <gtest/gtest.h>

#include "passes/graph_builder.h"

namespace kamado::passes {
namespace {

using ir::ActivationKind;
using ir::BinaryKind;
using ir::OpType;
using testing::ExpectOneActivationThatFusesIntoTheConv;
using testing::ExpectUnchanged;
using testing::GraphBuilder;

ir::ValueId Mul(GraphBuilder& b, ir::ValueId a, ir::ValueId c) {
  return b.Op(OpType::kBinary, {a, c}, ir::BinaryAttrs{BinaryKind::kMul});
}

// PyTorch's SiLU: Sigmoid(x) then Mul with x, either operand order.
TEST(FuseSwish, SigmoidTimesItsInputBecomesOneSwishThatFusesIntoTheConv) {
  for (bool swap : {false, true}) {
    SCOPED_TRACE(swap ? "Mul(σ(x), x)" : "Mul(x, σ(x))");
    GraphBuilder b;
    const auto x = b.Input({2, 3, 6, 6});
    const auto c = b.Conv(x, 4, 3);
    const auto s = b.Act(c, {ActivationKind::kSigmoid});
    const auto y = swap ? Mul(b, s, c) : Mul(b, c, s);
    b.Output(y);
    ExpectOneActivationThatFusesIntoTheConv(FuseSwish(), b, y, c, ActivationKind::kSwish);
  }
}

// Negative cases: a squeeze-and-excitation gate (σ of another value), and a
// sigmoid that is also a graph output.
TEST(FuseSwish, AGateOfAnotherValueOrASigmoidReadElsewhereIsLeftAsItIs) {
  {
    GraphBuilder b;
    const auto x = b.Input({1, 4, 3, 3});
    const auto gate = b.Act(b.Op(OpType::kGlobalAvgPool, {x}), {ActivationKind::kSigmoid});
    b.Output(Mul(b, x, gate));
    ExpectUnchanged(FuseSwish(), b, OpType::kBinary, 1);
  }
  {
    GraphBuilder b;
    const auto x = b.Input({1, 4, 3, 3});
    const auto s = b.Act(x, {ActivationKind::kSigmoid});
    b.Output(Mul(b, x, s));
    b.Output(s);
    ExpectUnchanged(FuseSwish(), b, OpType::kBinary, 1);
  }
}

}  // namespace
}  // namespace kamado::passes
