// The ops added for the ONNX importer (Binary with broadcasting, also over
// the batch, GlobalMaxPool, Reshape, Transpose, pooling as ceil_mode and
// ReduceMean lower it), runtime against the reference kernels
// on random shapes, after a Conv (blocked layout) and straight from the input.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "ir/graph.h"
#include "ir/shape_inference.h"
#include "runtime/compiled_model.h"
#include "runtime/reference/reference_executor.h"
#include "runtime/runtime_test_util.h"
#include "runtime/session.h"

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
    s.g.AddNode("conv", OpType::kConv,
                {in, s.g.AddConstant("w", Random({c, c, 3, 3}, rng)), ir::kNoValue}, {s.x}, a);
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
      case 0:
        bshape = {1, c, 1, 1};
        break;  // per channel
      case 1:
        bshape = {1, 1, 1, 1};
        break;  // scalar
      default:
        bshape = {1, c, h, w};
        break;  // per sample
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
    std::vector<int64_t> perm = trial % 3 == 0
                                    ? std::vector<int64_t>{0, 2, 3, 1}
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

// Slice (ShuffleNetV2's channel split) of a plain input or of a conv's
// output in the layout the conv chose: boxes on whole channel blocks (read
// in place, blocked) and off them (read plainly), and boxes in H and W.
TEST(RuntimeOnnxOpsTest, SliceOfPlainAndBlockedInputs) {
  std::mt19937 rng(17);
  for (int trial = 0; trial < 16; ++trial) {
    const int c = trial < 4 ? 32 : Uniform(rng, 2, 40), h = Uniform(rng, 2, 7),
              w = Uniform(rng, 2, 7);
    const int n = Uniform(rng, 1, 3);
    Start s = MakeStart(rng, trial % 2 == 0, c, h, w);
    ir::Graph& g = s.g;
    const int64_t c0 = trial < 4 ? 16 * (trial % 2) : Uniform(rng, 0, c - 1);
    const int64_t cs = trial < 4 ? 16 : Uniform(rng, 1, c - static_cast<int>(c0));
    const int64_t h0 = trial % 3 == 0 ? Uniform(rng, 0, h - 1) : 0;
    const int64_t hs = trial % 3 == 0 ? h - h0 : h;
    const auto y = g.AddValue("y");
    g.AddNode("slice", OpType::kSlice, {s.x}, {y},
              ir::SliceAttrs{{0, c0, h0, 0}, {-1, cs, hs, w}});
    const auto r = g.AddValue("r");
    g.AddNode("relu", OpType::kActivation, {y}, {r}, ir::ActivationAttrs{{ir::ActivationKind::kRelu}});
    g.AddOutput(r);
    ExpectMatchesReference(g, {Random({n, c, h, w}, rng)},
                           "trial " + std::to_string(trial) + " c " + std::to_string(c) + " box " +
                               std::to_string(c0) + "+" + std::to_string(cs));
  }
}

// Two computed operands, the second broadcast: a squeeze-and-excitation gate
// x · σ(GlobalAvgPool(x)) and a per-position x − max over C.
TEST(RuntimeOnnxOpsTest, BinaryOfTwoComputedValuesWithBroadcast) {
  std::mt19937 rng(16);
  for (int trial = 0; trial < 12; ++trial) {
    const int c = Uniform(rng, 1, 19), h = Uniform(rng, 1, 8), w = Uniform(rng, 1, 8);
    const int n = Uniform(rng, 1, 3);
    Start s = MakeStart(rng, trial % 2 == 0, c, h, w);
    ir::Graph& g = s.g;
    const auto pooled = g.AddValue("pooled");
    g.AddNode("gap", OpType::kGlobalAvgPool, {s.x}, {pooled});
    const auto gate = g.AddValue("gate");
    g.AddNode("sigmoid", OpType::kActivation, {pooled}, {gate},
              ir::ActivationAttrs{{ir::ActivationKind::kSigmoid}});
    const auto y = g.AddValue("y");
    g.AddNode("excite", OpType::kBinary, {s.x, gate}, {y},
              ir::BinaryAttrs{static_cast<ir::BinaryKind>(trial % 4)});
    // [N, C, H, W] − [N, 1, H, W]: the max over channels via a row pool.
    const auto t = g.AddValue("t");
    g.AddNode("to_hwc", OpType::kTranspose, {y}, {t}, ir::TransposeAttrs{{0, 2, 3, 1}});
    const auto rows = g.AddValue("rows");
    g.AddNode("rows", OpType::kReshape, {t}, {rows}, ir::ReshapeAttrs{{-1, 1, h * w, c}});
    ir::PoolAttrs row;
    row.kernel = {1, c};
    const auto m = g.AddValue("m");
    g.AddNode("max_c", OpType::kMaxPool, {rows}, {m}, row);
    const auto mc = g.AddValue("mc");
    g.AddNode("max_c_nchw", OpType::kReshape, {m}, {mc}, ir::ReshapeAttrs{{-1, 1, h, w}});
    const auto z = g.AddValue("z");
    g.AddNode("shift", OpType::kBinary, {y, mc}, {z}, ir::BinaryAttrs{ir::BinaryKind::kSub});
    g.AddOutput(z);
    ExpectMatchesReference(g, {Random({n, c, h, w}, rng)}, "trial " + std::to_string(trial));
  }
}

// Gemm with C of shape [M, N] or [M, 1]: Dense, then a Binary whose constant
// has a row per sample (dimension 0 fixed to the batch size).
TEST(RuntimeOnnxOpsTest, BinaryConstantWithARowPerSample) {
  std::mt19937 rng(14);
  for (int trial = 0; trial < 8; ++trial) {
    const int n = Uniform(rng, 1, 4), k = Uniform(rng, 1, 20), m = Uniform(rng, 1, 12);
    ir::Graph g;
    const auto x = g.AddValue("x", {-1, k});
    g.AddInput(x);
    const auto d = g.AddValue("d");
    g.AddNode("dense", OpType::kDense, {x, g.AddConstant("w", Random({m, k}, rng)), ir::kNoValue},
              {d}, ir::DenseAttrs{});
    const Shape cshape = trial % 2 == 0 ? Shape{n, m} : Shape{n, 1};
    const auto y = g.AddValue("y");
    g.AddNode("add_c", OpType::kBinary, {d, g.AddConstant("c", Random(cshape, rng))}, {y},
              ir::BinaryAttrs{static_cast<ir::BinaryKind>(trial % 3)});
    g.AddOutput(y);
    ExpectMatchesReference(g, {Random({n, k}, rng)},
                           "trial " + std::to_string(trial) + " C " + ShapeToString(cshape));
    if (n == 1) continue;
    // Any other batch size is refused, naming the node.
    auto model = CompiledModel::Compile(g);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    Session session(*model);
    auto wrong = session.Run({Random({n + 1, k}, rng)});
    ASSERT_FALSE(wrong.ok());
    EXPECT_EQ(wrong.status().code(), StatusCode::kUnsupported);
    EXPECT_NE(wrong.status().message().find("add_c"), std::string::npos)
        << wrong.status().ToString();
  }
}

// The importer's lowerings of pooling with ceil_mode (extra bottom/right
// padding) and of the reductions over non-spatial axes (Transpose, Reshape
// to [N, 1, K, R], average or max over a [1, R] window, Reshape).
TEST(RuntimeOnnxOpsTest, CeilModePoolingAndRowMeans) {
  std::mt19937 rng(15);
  for (int trial = 0; trial < 12; ++trial) {
    const int c = Uniform(rng, 1, 17), h = Uniform(rng, 3, 9), w = Uniform(rng, 3, 9);
    const int n = Uniform(rng, 1, 3);
    Start s = MakeStart(rng, trial % 2 == 0, c, h, w);
    ir::Graph& g = s.g;
    ir::PoolAttrs pool;
    pool.kernel = {Uniform(rng, 2, 3), Uniform(rng, 2, 3)};
    pool.strides = {2, 2};
    // Bottom/right padding up to stride − 1 beyond what fits, as ceil_mode adds.
    pool.pads = {0, 0, Uniform(rng, 0, 1), Uniform(rng, 0, 1)};
    const auto p = g.AddValue("p");
    g.AddNode("pool", trial % 4 < 2 ? OpType::kMaxPool : OpType::kAvgPool, {s.x}, {p}, pool);
    // Reduce over C (and H on odd trials): [N, C, H', W'] -> [N, H', W', C] -> [N, 1, K, R].
    const auto t = g.AddValue("t");
    const bool two = trial % 2 == 1;
    g.AddNode("transpose", OpType::kTranspose, {p}, {t},
              ir::TransposeAttrs{two ? std::vector<int64_t>{0, 3, 1, 2}
                                     : std::vector<int64_t>{0, 2, 3, 1}});
    ASSERT_TRUE(ir::InferShapes(g).ok());
    const Shape ps = g.value(p).shape;
    const int64_t r = two ? ps[1] * ps[2] : ps[1];
    const int64_t kept = ps[1] * ps[2] * ps[3] / r;
    const auto rows = g.AddValue("rows");
    g.AddNode("rows", OpType::kReshape, {t}, {rows}, ir::ReshapeAttrs{{-1, 1, kept, r}});
    ir::PoolAttrs row;
    row.kernel = {1, r};
    const auto m = g.AddValue("m");
    g.AddNode("row_pool", trial % 3 == 0 ? OpType::kMaxPool : OpType::kAvgPool, {rows}, {m}, row);
    const auto out = g.AddValue("out");
    g.AddNode("out", OpType::kReshape, {m}, {out}, ir::ReshapeAttrs{{-1, kept}});
    g.AddOutput(out);
    g.AddOutput(p);
    ExpectMatchesReference(g, {Random({n, c, h, w}, rng)}, "trial " + std::to_string(trial));
  }
}

}  // namespace
}  // namespace kamado::runtime

namespace kamado::runtime {
namespace {

// A depthwise 7×7 convolution (ConvNeXt's) reading a plain NCHW value (a
// permute to channels-last and back, as around ConvNeXt's LayerNorm):
// oneDNN offers its im2col GEMM kernel on that layout, 10–30× slower than
// its direct one on a blocked copy. The plan reorders and runs the direct
// kernel; the answer matches the reference.
TEST(RuntimeOnnxOpsTest, ADepthwiseConvOnAPlainSourceRunsTheDirectKernel) {
  std::mt19937 rng(29);
  constexpr int64_t c = 32, h = 14, w = 14;
  ir::Graph g;
  const auto x = g.AddValue("x", {-1, c, h, w});
  g.AddInput(x);
  const auto nhwc = g.AddValue("nhwc");
  g.AddNode("to_nhwc", OpType::kTranspose, {x}, {nhwc}, ir::TransposeAttrs{{0, 2, 3, 1}});
  const auto back = g.AddValue("back");
  g.AddNode("to_nchw", OpType::kTranspose, {nhwc}, {back}, ir::TransposeAttrs{{0, 3, 1, 2}});
  ir::ConvAttrs dw;
  dw.kernel = {7, 7};
  dw.pads = {3, 3, 3, 3};
  dw.group = c;
  const auto y = g.AddValue("y");
  g.AddNode("dw", OpType::kConv,
            {back, g.AddConstant("w", Random({c, 1, 7, 7}, rng, -0.2f, 0.2f)), g.AddConstant("b", Random({c}, rng))},
            {y}, dw);
  g.AddOutput(y);
  ExpectMatchesReference(g, {Random({2, c, h, w}, rng)}, "depthwise on plain", false);
  auto model = CompiledModel::Compile(g, {.run_passes = false});
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto plan = (*model)->GetPlan(1, 1);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  int convs = 0;
  for (const Step& s : (*plan)->steps) {
    if (s.op != "Conv") continue;
    ++convs;
    EXPECT_EQ(s.impl.find("gemm:"), std::string::npos) << s.node << " runs " << s.impl;
  }
  EXPECT_EQ(convs, 1);
}

// ResNeXt's bottleneck: 1×1, a grouped 3×3 with 8 channels per group
// (which oneDNN runs on nChw8c with an AVX2 kernel even on AVX-512), 1×1.
// The last 1×1 conv must not take an AVX2 kernel on that nChw8c input when
// the first one got AVX-512: a reorder costs less than half the vector width.
TEST(RuntimeOnnxOpsTest, AConvAfterAGroupedConvKeepsTheBestInstructionSet) {
  std::mt19937 rng(37);
  ir::Graph g;
  const auto x = g.AddValue("x", {-1, 64, 14, 14});
  g.AddInput(x);
  auto conv = [&](const std::string& name, ir::ValueId in, int64_t in_c, int64_t out_c, int64_t k, int64_t group) {
    ir::ConvAttrs a;
    a.kernel = {k, k};
    a.pads = {k / 2, k / 2, k / 2, k / 2};
    a.group = group;
    a.post_ops = {ir::PostOp::Act({ir::ActivationKind::kRelu})};
    const auto y = g.AddValue(name);
    g.AddNode(name, OpType::kConv,
              {in, g.AddConstant(name + "_w", Random({out_c, in_c / group, k, k}, rng, -0.2f, 0.2f)),
               g.AddConstant(name + "_b", Random({out_c}, rng))},
              {y}, a);
    return y;
  };
  const auto y = conv("conv3", conv("conv2", conv("conv1", x, 64, 256, 1, 1), 256, 256, 3, 32), 256, 64, 1, 1);
  g.AddOutput(y);
  ExpectMatchesReference(g, {Random({1, 64, 14, 14}, rng)}, "bottleneck", false);
  auto model = CompiledModel::Compile(g, {.run_passes = false});
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto plan = (*model)->GetPlan(1, 1);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  auto isa = [](const std::string& impl) {
    for (const char* i : {"avx512", "avx2"}) {
      if (impl.find(i) != std::string::npos) return std::string(i);
    }
    return impl;
  };
  std::map<std::string, std::string> impl;
  for (const Step& s : (*plan)->steps) {
    if (s.op == "Conv") impl[s.node] = s.impl;
  }
  ASSERT_EQ(impl.size(), 3u);
  EXPECT_EQ(isa(impl["conv3"]), isa(impl["conv1"])) << "conv1 " << impl["conv1"] << ", conv3 " << impl["conv3"];
}

// A DenseNet block: layer k reads Concat(x0, n1, …, n(k−1)) through
// BatchNorm and ReLU and adds n_k; every concat's inputs are a prefix of the
// next one's. At batch 1 the chain shares one buffer (no concat step left);
// at batch 2 the concat primitive runs. Both match the reference, also when
// a feature is read outside the chain (`tap`: it then keeps its own buffer
// and is copied into its slice) and is overwritten there in place.
TEST(RuntimeOnnxOpsTest, ADenseBlocksConcatChainSharesOneBuffer) {
  std::mt19937 rng(31);
  for (bool tap : {false, true}) {
    ir::Graph g;
    constexpr int64_t growth = 16, h = 6, w = 6;
    const auto x = g.AddValue("x", {-1, 8, h, w});
    g.AddInput(x);
    const ir::ConvAttrs same3 = testing::Same3x3Relu();
    const auto x0 = g.AddValue("x0");
    g.AddNode("conv0", OpType::kConv,
              {x, g.AddConstant("w0", Random({32, 8, 3, 3}, rng, -0.2f, 0.2f)), g.AddConstant("b0", Random({32}, rng))},
              {x0}, same3);
    std::vector<ir::ValueId> features{x0};
    int64_t channels = 32;
    for (int k = 1; k <= 4; ++k) {
      const std::string id = std::to_string(k);
      const auto cat = g.AddValue("cat" + id);
      g.AddNode("concat" + id, OpType::kConcat, features, {cat}, ir::ConcatAttrs{1});
      const auto bn = g.AddValue("bn" + id);
      g.AddNode("bn" + id, OpType::kBatchNorm,
                {cat, g.AddConstant("g" + id, Random({channels}, rng, 0.5f, 1.5f)),
                 g.AddConstant("be" + id, Random({channels}, rng)), g.AddConstant("m" + id, Random({channels}, rng)),
                 g.AddConstant("v" + id, Random({channels}, rng, 0.5f, 2.0f))},
                {bn}, ir::BatchNormAttrs{1e-5f});
      const auto relu = g.AddValue("relu" + id);
      g.AddNode("relu" + id, OpType::kActivation, {bn}, {relu}, ir::ActivationAttrs{{ir::ActivationKind::kRelu}});
      const auto n = g.AddValue("n" + id);
      g.AddNode("conv" + id, OpType::kConv,
                {relu, g.AddConstant("w" + id, Random({growth, channels, 3, 3}, rng, -0.2f, 0.2f)),
                 g.AddConstant("b" + id, Random({growth}, rng))},
                {n}, same3);
      features.push_back(n);
      channels += growth;
    }
    if (tap) {
      const auto t = g.AddValue("tap");
      g.AddNode("tap", OpType::kActivation, {features[1]}, {t},
                ir::ActivationAttrs{{ir::ActivationKind::kLeakyRelu, 0.5f}});
      g.AddOutput(t);
    }
    const auto out = g.AddValue("out");
    g.AddNode("concat_out", OpType::kConcat, features, {out}, ir::ConcatAttrs{1});
    g.AddOutput(out);
    for (int64_t batch : {1, 2}) {
      ExpectMatchesReference(g, {Random({batch, 8, h, w}, rng)},
                             std::string(tap ? "tap" : "no tap") + ", batch " + std::to_string(batch), false);
    }
    auto model = CompiledModel::Compile(g, {.run_passes = false});
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    auto plan = (*model)->GetPlan(1, 1);
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    int concats = 0;
    for (const Step& st : (*plan)->steps) concats += st.op == "Concat";
    EXPECT_EQ(concats, 0) << (tap ? "tap" : "no tap");
  }
}

}  // namespace
}  // namespace kamado::runtime
