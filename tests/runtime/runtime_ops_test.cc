// Every op the oneDNN runtime lowers, against the plain reference kernels,
// on random shapes and attributes (ncnn's testutil approach). Each case
// builds a tiny graph, runs it through CompiledModel + Session and through
// RunReference, and compares every output element.
#include <gtest/gtest.h>

#include <random>

#include "ir/graph.h"
#include "ir/shape_inference.h"
#include "runtime/compiled_model.h"
#include "runtime/reference/reference_executor.h"
#include "runtime/session.h"
#include "runtime/runtime_test_util.h"

namespace kamado::runtime {
namespace {

using testing::ExpectMatchesReference;
using testing::Random;
using testing::Uniform;

using ir::OpType;

ir::Activation RandomActivation(std::mt19937& rng) {
  using K = ir::ActivationKind;
  switch (Uniform(rng, 0, 10)) {
    case 0: return {K::kRelu};
    case 1: return {K::kClip, 0.0f, 6.0f};
    case 2: return {K::kLeakyRelu, 0.1f};
    case 3: return {K::kSigmoid};
    case 4: return {K::kTanh};
    case 5: return {K::kElu, 1.0f};
    case 6: return {K::kHardSigmoid, 0.2f, 0.5f};
    case 7: return {K::kExp};
    case 8: return {K::kNeg};
    case 9: return {K::kAbs};
    default: return {K::kHardSwish};
  }
}

std::string PostOpNames(const std::vector<ir::PostOp>& post_ops) {
  std::string names;
  for (const ir::PostOp& p : post_ops) {
    names += p.kind == ir::PostOp::Kind::kSum ? "sum"
                                              : std::string(ir::ActivationKindName(p.activation.kind));
    names += " ";
  }
  return names;
}

TEST(RuntimeOpsTest, ConvRandomShapes) {
  std::mt19937 rng(1);
  for (int trial = 0; trial < 40; ++trial) {
    const bool depthwise = trial % 4 == 3;
    const int c = Uniform(rng, 1, 24);
    const int group = depthwise ? c : (c % 2 == 0 && trial % 5 == 0 ? 2 : 1);
    const int o = depthwise ? c * Uniform(rng, 1, 2) : Uniform(rng, 1, 24) * group;
    ir::ConvAttrs a;
    a.kernel = {Uniform(rng, 1, 5), Uniform(rng, 1, 5)};
    a.strides = {Uniform(rng, 1, 3), Uniform(rng, 1, 3)};
    a.dilations = {Uniform(rng, 1, 2), Uniform(rng, 1, 2)};
    a.pads = {Uniform(rng, 0, 2), Uniform(rng, 0, 2), Uniform(rng, 0, 2), Uniform(rng, 0, 2)};
    a.group = group;
    const int h = Uniform(rng, 9, 20), w = Uniform(rng, 9, 20), n = Uniform(rng, 1, 3);
    const bool bias = trial % 2 == 0;
    const bool sum = trial % 3 == 0;
    if (sum) a.post_ops.push_back(ir::PostOp::Sum());
    for (int k = Uniform(rng, 0, 2); k > 0; --k) {
      a.post_ops.push_back(ir::PostOp::Act(RandomActivation(rng)));
    }

    ir::Graph g;
    g.input_layout = trial % 2 ? Layout::kNHWC : Layout::kNCHW;
    const auto x = g.AddValue("x", {-1, c, h, w});
    g.AddInput(x);
    std::vector<Tensor> inputs;
    inputs.push_back(g.input_layout == Layout::kNHWC ? Random({n, h, w, c}, rng)
                                                         : Random({n, c, h, w}, rng));
    std::vector<ir::ValueId> in{x, g.AddConstant("w", Random({o, c / group, a.kernel[0],
                                                              a.kernel[1]}, rng)),
                                bias ? g.AddConstant("b", Random({o}, rng)) : ir::kNoValue};
    if (sum) {
      const int64_t oh = (h + a.pads[0] + a.pads[2] - ((a.kernel[0] - 1) * a.dilations[0] + 1)) /
                             a.strides[0] + 1;
      const int64_t ow = (w + a.pads[1] + a.pads[3] - ((a.kernel[1] - 1) * a.dilations[1] + 1)) /
                             a.strides[1] + 1;
      const auto r = g.AddValue("r", {-1, o, oh, ow});
      g.AddInput(r);
      in.push_back(r);
      inputs.push_back(g.input_layout == Layout::kNHWC ? Random({n, oh, ow, o}, rng)
                                                           : Random({n, o, oh, ow}, rng));
    }
    const auto y = g.AddValue("y");
    g.AddNode("conv", OpType::kConv, in, {y}, a);
    g.AddOutput(y);
    ExpectMatchesReference(g, inputs,
                           "trial " + std::to_string(trial) + ": c=" + std::to_string(c) +
                               " o=" + std::to_string(o) + " group=" + std::to_string(group) +
                               " k=" + std::to_string(a.kernel[0]) + "x" +
                               std::to_string(a.kernel[1]) + " sum=" + std::to_string(sum) +
                               " post-ops " + PostOpNames(a.post_ops));
  }
}

// x → conv (so the next op sees a blocked layout) → op under test.
struct Chain {
  ir::Graph g;
  ir::ValueId conv_out;
  std::vector<Tensor> inputs;
};

Chain ConvThen(std::mt19937& rng, int c, int h, int w, int n, int o) {
  Chain ch;
  const auto x = ch.g.AddValue("x", {-1, c, h, w});
  ch.g.AddInput(x);
  ir::ConvAttrs a;
  a.kernel = {3, 3};
  a.pads = {1, 1, 1, 1};
  ch.conv_out = ch.g.AddValue("c");
  ch.g.AddNode("conv", OpType::kConv, {x, ch.g.AddConstant("w", Random({o, c, 3, 3}, rng)),
                                       ch.g.AddConstant("b", Random({o}, rng))},
               {ch.conv_out}, a);
  ch.inputs.push_back(Random({n, c, h, w}, rng));
  return ch;
}

TEST(RuntimeOpsTest, PoolingRandomShapes) {
  std::mt19937 rng(2);
  for (int trial = 0; trial < 24; ++trial) {
    const OpType op = trial % 3 == 0 ? OpType::kMaxPool
                                     : (trial % 3 == 1 ? OpType::kAvgPool : OpType::kGlobalAvgPool);
    Chain ch = ConvThen(rng, Uniform(rng, 1, 8), Uniform(rng, 7, 17), Uniform(rng, 7, 17),
                        Uniform(rng, 1, 2), Uniform(rng, 1, 20));
    ir::PoolAttrs a;
    a.kernel = {Uniform(rng, 1, 4), Uniform(rng, 1, 4)};
    a.strides = {Uniform(rng, 1, 3), Uniform(rng, 1, 3)};
    a.pads = {Uniform(rng, 0, a.kernel[0] - 1), Uniform(rng, 0, a.kernel[1] - 1),
              Uniform(rng, 0, a.kernel[0] - 1), Uniform(rng, 0, a.kernel[1] - 1)};
    a.count_include_pad = trial % 2 == 0;
    const auto y = ch.g.AddValue("y");
    if (op == OpType::kGlobalAvgPool) {
      ch.g.AddNode("pool", op, {ch.conv_out}, {y});
    } else {
      ch.g.AddNode("pool", op, {ch.conv_out}, {y}, a);
    }
    ch.g.AddOutput(y);
    ExpectMatchesReference(ch.g, ch.inputs,
                           std::string(ir::OpTypeName(op)) + " trial " + std::to_string(trial));
  }
}

// SinkAvgPool turns AvgPool → Conv 1x1 → ReLU into Conv 1x1 → AvgPool[ReLU];
// the pool then writes, with its post-op, into its slice of the concat.
TEST(RuntimeOpsTest, SunkAvgPoolWithPostOpIntoConcat) {
  std::mt19937 rng(12);
  for (int trial = 0; trial < 6; ++trial) {
    const int c = 8 * Uniform(rng, 2, 4), h = Uniform(rng, 5, 11), o = 8 * Uniform(rng, 1, 1 + trial % 2);
    ir::Graph g;
    const auto x = g.AddValue("x", {-1, c, h, h});
    g.AddInput(x);
    ir::PoolAttrs p{.kernel = {3, 3}, .strides = {1, 1}, .pads = {1, 1, 1, 1}};
    const auto pooled = g.AddValue("pooled");
    g.AddNode("pool", OpType::kAvgPool, {x}, {pooled}, p);
    ir::ConvAttrs pointwise;
    const auto branch = g.AddValue("branch");
    g.AddNode("conv", OpType::kConv, {pooled, g.AddConstant("w", Random({o, c, 1, 1}, rng)),
                                      g.AddConstant("b", Random({o}, rng))},
              {branch}, pointwise);
    const auto relu = g.AddValue("relu");
    g.AddNode("relu", OpType::kActivation, {branch}, {relu}, ir::ActivationAttrs{});
    const auto other = g.AddValue("other");
    g.AddNode("other", OpType::kConv, {x, g.AddConstant("w2", Random({8, c, 1, 1}, rng))}, {other},
              pointwise);
    const auto cat = g.AddValue("cat");
    g.AddNode("cat", OpType::kConcat, {other, relu}, {cat}, ir::ConcatAttrs{1});
    g.AddOutput(cat);
    ExpectMatchesReference(g, {Random({Uniform(rng, 1, 3), c, h, h}, rng)},
                           "trial " + std::to_string(trial));
  }
}

// LeakyReLU then ReLU are both oneDNN eltwise_relu with different alphas,
// which one oneDNN 2.6 primitive cannot fuse (see AppendPostOps); likewise
// HardSigmoid (linear, clip) after Neg (linear). Plain and depthwise convs,
// with and without a residual sum, and an average pool after them.
TEST(RuntimeOpsTest, PostOpsRepeatingAnEltwiseAlgorithm) {
  using K = ir::ActivationKind;
  std::mt19937 rng(14);
  const std::vector<std::vector<ir::Activation>> chains = {
      {{K::kLeakyRelu, 0.1f}, {K::kRelu}},
      {{K::kNeg}, {K::kHardSigmoid, 0.2f, 0.5f}},
      {{K::kClip, -0.5f, 0.5f}, {K::kRelu}, {K::kClip, 0.0f, 0.25f}}};
  for (size_t i = 0; i < chains.size(); ++i) {
    for (const int group : {1, 8}) {
      for (const bool sum : {false, true}) {
        ir::ConvAttrs a;
        a.kernel = {3, 3};
        a.pads = {1, 1, 1, 1};
        a.group = group;
        if (sum) a.post_ops.push_back(ir::PostOp::Sum());
        for (const ir::Activation& act : chains[i]) a.post_ops.push_back(ir::PostOp::Act(act));
        ir::Graph g;
        const auto x = g.AddValue("x", {-1, 8, 7, 7});
        g.AddInput(x);
        std::vector<ir::ValueId> in{x, g.AddConstant("w", Random({8, 8 / group, 3, 3}, rng)),
                                    g.AddConstant("b", Random({8}, rng))};
        if (sum) {
          in.push_back(g.AddValue("r", {-1, 8, 7, 7}));
          g.AddInput(in.back());
        }
        const auto y = g.AddValue("y");
        g.AddNode("conv", OpType::kConv, in, {y}, a);
        ir::PoolAttrs p{.kernel = {2, 2}, .strides = {2, 2}};
        for (const ir::Activation& act : chains[i]) p.post_ops.push_back(ir::PostOp::Act(act));
        const auto pooled = g.AddValue("pooled");
        g.AddNode("pool", OpType::kAvgPool, {y}, {pooled}, p);
        g.AddOutput(y);
        g.AddOutput(pooled);
        std::vector<Tensor> inputs{Random({2, 8, 7, 7}, rng)};
        if (sum) inputs.push_back(Random({2, 8, 7, 7}, rng));
        ExpectMatchesReference(g, inputs,
                               "chain " + std::to_string(i) + " group " + std::to_string(group) +
                                   (sum ? " with sum" : ""),
                               /*run_passes=*/false);
      }
    }
  }
}

// Reciprocal and Sqrt need inputs away from 0 and from negatives.
TEST(RuntimeOpsTest, ReciprocalAndSqrtOnPositiveInputs) {
  std::mt19937 rng(13);
  for (const auto kind : {ir::ActivationKind::kReciprocal, ir::ActivationKind::kSqrt}) {
    ir::Graph g;
    const auto x = g.AddValue("x", {-1, 5, 4, 3});
    g.AddInput(x);
    const auto y = g.AddValue("y");
    g.AddNode("act", OpType::kActivation, {x}, {y}, ir::ActivationAttrs{{kind}});
    g.AddOutput(y);
    ExpectMatchesReference(g, {Random({2, 5, 4, 3}, rng, 0.25f, 4.0f)},
                           std::string(ir::ActivationKindName(kind)));
  }
}

// GELU (oneDNN's eltwise_gelu_erf and eltwise_gelu_tanh) and swish
// (eltwise_swish) on their own and as a Conv's post-op against the
// reference's definitions; erf on its own has no oneDNN primitive and is
// refused naming the node, never dropped.
TEST(RuntimeOpsTest, GeluAndSwishMatchTheReferenceAndAnErfOnItsOwnIsRefused) {
  std::mt19937 rng(17);
  for (const ir::Activation act : {ir::Activation{ir::ActivationKind::kGeluErf},
                                   ir::Activation{ir::ActivationKind::kGeluTanh},
                                   ir::Activation{ir::ActivationKind::kSwish, 1.0f},
                                   ir::Activation{ir::ActivationKind::kSwish, 1.5f}}) {
    const std::string name(ir::ActivationKindName(act.kind));
    {
      ir::Graph g;
      const auto x = g.AddValue("x", {-1, 5, 4, 3});
      g.AddInput(x);
      const auto y = g.AddValue("y");
      g.AddNode("act", OpType::kActivation, {x}, {y}, ir::ActivationAttrs{act});
      g.AddOutput(y);
      ExpectMatchesReference(g, {Random({2, 5, 4, 3}, rng, -4.0f, 4.0f)}, name + " standalone");
    }
    {
      ir::Graph g;
      const auto x = g.AddValue("x", {-1, 3, 6, 6});
      g.AddInput(x);
      const auto y = g.AddValue("y");
      ir::ConvAttrs conv;
      conv.kernel = {3, 3};
      conv.pads = {1, 1, 1, 1};
      conv.post_ops = {ir::PostOp::Act(act)};
      g.AddNode("conv", OpType::kConv,
                {x, g.AddConstant("w", Random({4, 3, 3, 3}, rng)), g.AddConstant("b", Random({4}, rng))}, {y},
                conv);
      g.AddOutput(y);
      ExpectMatchesReference(g, {Random({2, 3, 6, 6}, rng)}, "conv + " + name + " post-op");
    }
  }
  ir::Graph g;
  const auto x = g.AddValue("x", {-1, 5, 4, 3});
  g.AddInput(x);
  const auto y = g.AddValue("y");
  g.AddNode("lonely_erf", OpType::kActivation, {x}, {y}, ir::ActivationAttrs{{ir::ActivationKind::kErf}});
  g.AddOutput(y);
  auto model = CompiledModel::Compile(g);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(model.status().message().find("Activation node 'lonely_erf': activation erf has no oneDNN 2.6 primitive"),
            std::string::npos)
      << model.status().ToString();
}

TEST(RuntimeOpsTest, ActivationsBatchNormAddPadStandalone) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 16; ++trial) {
    const int c = Uniform(rng, 1, 12), h = Uniform(rng, 3, 9), w = Uniform(rng, 3, 9);
    ir::Graph g;
    const auto x = g.AddValue("x", {-1, c, h, w});
    const auto x2 = g.AddValue("x2", {-1, c, h, w});
    g.AddInput(x);
    g.AddInput(x2);
    const auto act = g.AddValue("act");
    g.AddNode("act", OpType::kActivation, {x}, {act}, ir::ActivationAttrs{RandomActivation(rng)});
    const auto bn = g.AddValue("bn");
    g.AddNode("bn", OpType::kBatchNorm,
              {act, g.AddConstant("gamma", Random({c}, rng)), g.AddConstant("beta", Random({c}, rng)),
               g.AddConstant("mean", Random({c}, rng)),
               g.AddConstant("var", Random({c}, rng, 0.1f, 2.0f))},
              {bn}, ir::BatchNormAttrs{1e-3f, /*relu=*/trial % 3 == 0});  // fuse_norm_relu
    const auto sum = g.AddValue("sum");
    g.AddNode("add", OpType::kBinary, {bn, x2}, {sum}, ir::BinaryAttrs{ir::BinaryKind::kAdd});
    const auto pad = g.AddValue("pad");
    ir::PadAttrs p;
    p.pads = {Uniform(rng, 0, 2), Uniform(rng, 0, 2), Uniform(rng, 0, 2), Uniform(rng, 0, 2)};
    p.value = trial % 2 ? 0.0f : 0.5f;
    g.AddNode("pad", OpType::kPad, {sum}, {pad}, p);
    g.AddOutput(pad);
    g.AddOutput(act);  // also an output: must not be overwritten in place
    const int n = Uniform(rng, 1, 3);
    ExpectMatchesReference(g, {Random({n, c, h, w}, rng), Random({n, c, h, w}, rng)},
                           "trial " + std::to_string(trial), /*run_passes=*/trial % 2 == 0);
  }
}

TEST(RuntimeOpsTest, ConcatFlattenDenseSoftmax) {
  std::mt19937 rng(4);
  for (int trial = 0; trial < 12; ++trial) {
    const int c = Uniform(rng, 1, 6), h = Uniform(rng, 2, 6), w = Uniform(rng, 2, 6);
    const int n = Uniform(rng, 1, 4);
    Chain ch = ConvThen(rng, c, h, w, n, Uniform(rng, 3, 17));
    ir::Graph& g = ch.g;
    // A second branch straight from the input: concat mixes a blocked and a plain layout.
    const auto branch = g.AddValue("branch");
    g.AddNode("relu", OpType::kActivation, {g.inputs()[0]}, {branch},
              ir::ActivationAttrs{{ir::ActivationKind::kRelu}});
    const auto cat = g.AddValue("cat");
    g.AddNode("concat", OpType::kConcat, {ch.conv_out, branch}, {cat}, ir::ConcatAttrs{1});
    const auto flat = g.AddValue("flat");
    g.AddNode("flatten", OpType::kFlatten, {cat}, {flat}, ir::FlattenAttrs{trial % 2 == 0});
    ASSERT_TRUE(ir::InferShapes(g).ok());
    const int64_t k = g.value(flat).shape[1];
    const int units = Uniform(rng, 1, 12);
    const auto dense = g.AddValue("dense");
    ir::DenseAttrs da;
    if (trial % 3 == 0) da.post_ops.push_back(ir::PostOp::Act({ir::ActivationKind::kRelu}));
    g.AddNode("dense", OpType::kDense,
              {flat, g.AddConstant("dw", Random({units, k}, rng)),
               trial % 2 ? g.AddConstant("db", Random({units}, rng)) : ir::kNoValue},
              {dense}, da);
    const auto prob = g.AddValue("prob");
    g.AddNode("softmax", OpType::kSoftmax, {dense}, {prob}, ir::SoftmaxAttrs{1});
    g.AddOutput(prob);
    // With passes on, Flatten folds into Dense (4-D weights); off, it runs as a reorder.
    ExpectMatchesReference(g, ch.inputs, "trial " + std::to_string(trial), trial % 4 != 1);
  }
}

TEST(RuntimeOpsTest, BatchSizesShareOneModel) {
  std::mt19937 rng(5);
  Chain ch = ConvThen(rng, 3, 8, 8, 1, 8);
  const auto y = ch.g.AddValue("y");
  ch.g.AddNode("gap", OpType::kGlobalAvgPool, {ch.conv_out}, {y});
  ch.g.AddOutput(y);
  auto model = CompiledModel::Compile(ch.g);
  ASSERT_TRUE(model.ok());
  Session session(*model);
  for (int n : {1, 4, 2, 4}) {
    const Tensor in = Random({n, 3, 8, 8}, rng);
    auto got = session.Run({in});
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    auto want = reference::RunReference(ch.g, {in});
    ASSERT_TRUE(want.ok());
    ASSERT_EQ(got->front().shape(), (Shape{n, 8, 1, 1}));
    for (int64_t i = 0; i < want->front().size(); ++i) {
      ASSERT_NEAR(got->front()[i], want->front()[i], 1e-4f);
    }
  }
}

TEST(RuntimeOpsTest, WrongInputShapeIsAnError) {
  std::mt19937 rng(6);
  Chain ch = ConvThen(rng, 3, 8, 8, 1, 4);
  ch.g.AddOutput(ch.conv_out);
  auto model = CompiledModel::Compile(ch.g);
  ASSERT_TRUE(model.ok());
  Session session(*model);
  auto r = session.Run({Tensor({1, 3, 9, 8})});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("'x'"), std::string::npos) << r.status().message();
  EXPECT_FALSE(session.Run({}).ok());
}

}  // namespace
}  // namespace kamado::runtime
