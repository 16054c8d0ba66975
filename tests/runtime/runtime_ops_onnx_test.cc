// The ops added for the ONNX importer (Binary with broadcasting,
// GlobalMaxPool, Reshape, Transpose), runtime against the reference kernels
// on random shapes, after a Conv (blocked layout) and straight from the input.
#include <gtest/gtest.h>

#include <random>

#include "ir/graph.h"
#include "runtime/compiled_model.h"
#include "runtime/reference/reference_executor.h"
#include "runtime/session.h"
#include "runtime/runtime_test_util.h"

namespace kamado::runtime {
namespace {

using ir::OpType;

using testing::ExpectMatchesReference;
using testing::Random;
using testing::Uniform;

// x [N, C, H, W] -> optional 3x3 conv -> op(s) under test.
struct Start {
  ir::Graph g;
  ir::ValueId x;
  Shape shape;  // of x, batch -1
};

Start MakeStart(std::mt19937& rng, bool conv, int c, int h, int w) {
  Start s;
  const auto in = s.g.AddValue("in", {-1, c, h, w});
  s.g.AddInput(in);
  s.x = in;
  s.shape = {-1, c, h, w};
  if (conv) {
    ir::ConvAttrs a;
    a.kernel = {3, 3};
    a.pads = {1, 1, 1, 1};
    s.x = s.g.AddValue("conv");
    s.g.AddNode("conv", OpType::kConv, {in, s.g.AddConstant("w", Random({c, c, 3, 3}, rng)),
                                        ir::kNoValue}, {s.x}, a);
  }
  return s;
}

TEST(RuntimeOnnxOpsTest, BinaryBroadcastRandomShapes) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 24; ++trial) {
    const int c = Uniform(rng, 1, 19), h = Uniform(rng, 2, 9), w = Uniform(rng, 2, 9);
    const int n = Uniform(rng, 1, 3);
    Start s = MakeStart(rng, trial % 2 == 0, c, h, w);
    const auto kind = static_cast<ir::BinaryKind>(trial % 4);
    Shape bshape;
    switch ((trial / 4) % 3) {
      case 0: bshape = {1, c, 1, 1}; break;      // per channel
      case 1: bshape = {1, 1, 1, 1}; break;      // scalar
      default: bshape = {1, c, h, w}; break;     // per sample
    }
    Tensor b = kind == ir::BinaryKind::kDiv ? Random(bshape, rng, 0.5f, 2.0f) : Random(bshape, rng);
    const auto y = s.g.AddValue("y");
    s.g.AddNode("binary", OpType::kBinary, {s.x, s.g.AddConstant("b", b)}, {y},
                ir::BinaryAttrs{kind});
    // And a same-shape binary of two computed values.
    const auto z = s.g.AddValue("z");
    s.g.AddNode("binary2", OpType::kBinary, {y, s.x}, {z},
                ir::BinaryAttrs{static_cast<ir::BinaryKind>((trial + 1) % 3)});
    s.g.AddOutput(z);
    ExpectMatchesReference(s.g, {Random({n, c, h, w}, rng)},
                           "trial " + std::to_string(trial) + " " +
                               std::string(ir::BinaryKindName(kind)) + " " + ShapeToString(bshape));
  }
}

TEST(RuntimeOnnxOpsTest, BinaryOnThreeDimensionalInputs) {
  std::mt19937 rng(12);
  for (int trial = 0; trial < 8; ++trial) {
    const int a = Uniform(rng, 1, 6), b = Uniform(rng, 1, 6);
    ir::Graph g;
    const auto x = g.AddValue("x", {-1, a, b});
    const auto x2 = g.AddValue("x2", {-1, a, b});
    g.AddInput(x);
    g.AddInput(x2);
    const auto y = g.AddValue("y");
    g.AddNode("mul", OpType::kBinary, {x, x2}, {y}, ir::BinaryAttrs{ir::BinaryKind::kMul});
    const auto z = g.AddValue("z");
    g.AddNode("sub", OpType::kBinary, {y, g.AddConstant("c", Random({1, 1, b}, rng))}, {z},
              ir::BinaryAttrs{ir::BinaryKind::kSub});
    g.AddOutput(z);
    const int n = Uniform(rng, 1, 4);
    ExpectMatchesReference(g, {Random({n, a, b}, rng), Random({n, a, b}, rng)},
                           "trial " + std::to_string(trial));
  }
}

TEST(RuntimeOnnxOpsTest, GlobalMaxPoolReshapeTranspose) {
  std::mt19937 rng(13);
  for (int trial = 0; trial < 16; ++trial) {
    const int c = Uniform(rng, 1, 17), h = Uniform(rng, 1, 8), w = Uniform(rng, 1, 8);
    const int n = Uniform(rng, 1, 3);
    Start s = MakeStart(rng, trial % 2 == 0, c, h, w);
    ir::Graph& g = s.g;
    // Transpose [N, C, H, W] -> [N, H, W, C] (or another batch-first perm).
    std::vector<int64_t> perm = trial % 3 == 0 ? std::vector<int64_t>{0, 2, 3, 1}
                                               : (trial % 3 == 1 ? std::vector<int64_t>{0, 3, 1, 2}
                                                                 : std::vector<int64_t>{0, 1, 3, 2});
    const auto t = g.AddValue("t");
    g.AddNode("transpose", OpType::kTranspose, {s.x}, {t}, ir::TransposeAttrs{perm});
    // Reshape back to [N, C, H, W]-sized 4-D and pool it.
    const auto r = g.AddValue("r");
    g.AddNode("reshape", OpType::kReshape, {t}, {r}, ir::ReshapeAttrs{{-1, c, h, w}});
    const auto p = g.AddValue("p");
    g.AddNode("gmp", OpType::kGlobalMaxPool, {r}, {p});
    const auto f = g.AddValue("f");
    g.AddNode("flat", OpType::kReshape, {p}, {f}, ir::ReshapeAttrs{{-1, c}});
    g.AddOutput(f);
    g.AddOutput(t);
    ExpectMatchesReference(g, {Random({n, c, h, w}, rng)}, "trial " + std::to_string(trial));
  }
}

}  // namespace
}  // namespace kamado::runtime
