// RunReference on small hand-built graphs whose outputs are worked out by hand.
#include "runtime/reference/reference_executor.h"

#include <gtest/gtest.h>

#include <cmath>

#include "ir/shape_inference.h"
#include "reference/tensor_testing.h"

namespace kamado::reference {
namespace {

using ir::Graph;
using ir::OpType;
using ir::ValueId;
using testing::ExpectTensorNear;
using testing::Iota;
using testing::Ok;

// image (NHWC, C = 2, H = W = 3) → Conv 1×1 → BatchNorm → ReLU →
// GlobalAvgPool → Flatten → Dense → Softmax; outputs {probs, relu}.
Graph ClassifierGraph() {
  Graph g;
  g.name = "tiny_classifier";
  g.input_layout = Layout::kNHWC;
  const ValueId x = g.AddValue("image", {-1, 2, 3, 3});
  g.AddInput(x);
  // o0 = 2·x0, o1 = x0 − x1 + 5.
  const ValueId conv_w = g.AddConstant("conv/w", Tensor({2, 2, 1, 1}, {2, 0, 1, -1}));
  const ValueId conv_b = g.AddConstant("conv/b", Tensor({2}, {0, 5}));
  const ValueId conv = g.AddValue("conv");
  g.AddNode("conv", OpType::kConv, {x, conv_w, conv_b}, {conv}, ir::ConvAttrs{});
  // ε = 0: channel 0 unchanged, channel 1 → (o1 − 1)/2.
  const ValueId gamma = g.AddConstant("bn/gamma", Tensor({2}, {1, 1}));
  const ValueId beta = g.AddConstant("bn/beta", Tensor({2}, {0, 0}));
  const ValueId mean = g.AddConstant("bn/mean", Tensor({2}, {0, 1}));
  const ValueId var = g.AddConstant("bn/var", Tensor({2}, {1, 4}));
  const ValueId bn = g.AddValue("bn");
  g.AddNode("bn", OpType::kBatchNorm, {conv, gamma, beta, mean, var}, {bn},
            ir::BatchNormAttrs{.epsilon = 0.0f});
  const ValueId relu = g.AddValue("relu");
  g.AddNode("relu", OpType::kActivation, {bn}, {relu},
            ir::ActivationAttrs{{ir::ActivationKind::kRelu}});
  const ValueId gap = g.AddValue("gap");
  g.AddNode("gap", OpType::kGlobalAvgPool, {relu}, {gap});
  const ValueId flat = g.AddValue("flat");
  g.AddNode("flatten", OpType::kFlatten, {gap}, {flat}, ir::FlattenAttrs{.channels_last = true});
  // logits = [g0, g1, g0 − g1], no bias.
  const ValueId dense_w = g.AddConstant("dense/w", Tensor({3, 2}, {1, 0, 0, 1, 1, -1}));
  const ValueId logits = g.AddValue("logits");
  g.AddNode("dense", OpType::kDense, {flat, dense_w, ir::kNoValue}, {logits}, ir::DenseAttrs{});
  const ValueId probs = g.AddValue("probs");
  g.AddNode("softmax", OpType::kSoftmax, {logits}, {probs}, ir::SoftmaxAttrs{.axis = 1});
  g.AddOutput(probs);
  g.AddOutput(relu);
  return g;
}

// NHWC input: x[n, h, w, c] = (c + 1)(n + 1) + (h − 1)/2.
Tensor ClassifierInput(int64_t batch) {
  Tensor t({batch, 3, 3, 2});
  int64_t i = 0;
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t h = 0; h < 3; ++h) {
      for (int64_t w = 0; w < 3; ++w) {
        for (int64_t c = 0; c < 2; ++c) {
          t[i++] = static_cast<float>((c + 1) * (n + 1)) + 0.5f * static_cast<float>(h - 1);
        }
      }
    }
  }
  return t;
}

std::vector<float> SoftmaxOf(std::vector<double> logits) {
  double sum = 0.0;
  for (double v : logits) sum += std::exp(v);
  std::vector<float> p;
  for (double v : logits) p.push_back(static_cast<float>(std::exp(v) / sum));
  return p;
}

TEST(RunReference, ClassifierWithNhwcInput) {
  Graph g = ClassifierGraph();
  ASSERT_TRUE(g.Verify().ok());
  ASSERT_TRUE(ir::InferShapes(g).ok());  // the graph is valid IR, not only runnable

  const auto outputs = Ok(RunReference(g, {ClassifierInput(2)}));
  ASSERT_EQ(outputs.size(), 2u);
  // Per channel means after ReLU: n0 [2, 1.5], n1 [4, 1].
  std::vector<float> want = SoftmaxOf({2.0, 1.5, 0.5});
  const std::vector<float> n1 = SoftmaxOf({4.0, 1.0, 3.0});
  want.insert(want.end(), n1.begin(), n1.end());
  ExpectTensorNear(outputs[0], {2, 3}, want, 1e-6f);

  // The 4-D output comes back NHWC: c0 = 2(n + 1) + (h − 1), c1 = (3 − n)/2.
  std::vector<float> relu;
  for (int n = 0; n < 2; ++n) {
    for (int h = 0; h < 3; ++h) {
      for (int w = 0; w < 3; ++w) {
        relu.push_back(static_cast<float>(2 * (n + 1) + (h - 1)));
        relu.push_back(static_cast<float>(3 - n) / 2.0f);
      }
    }
  }
  ExpectTensorNear(outputs[1], {2, 3, 3, 2}, relu);

  // The batch is dynamic: one image gives the first row.
  const auto single = Ok(RunReference(g, {ClassifierInput(1)}));
  ExpectTensorNear(single[0], {1, 3}, SoftmaxOf({2.0, 1.5, 0.5}), 1e-6f);
}

TEST(RunReference, ValidatesInputs) {
  const Graph g = ClassifierGraph();
  auto none = RunReference(g, {});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(none.status().message().find("'image'"), std::string::npos) << none.status().message();

  // An NCHW-shaped buffer for an NHWC graph.
  auto nchw = RunReference(g, {Tensor({1, 2, 3, 3})});
  ASSERT_FALSE(nchw.ok());
  EXPECT_EQ(nchw.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(nchw.status().message().find("'image'"), std::string::npos) << nchw.status().message();
  EXPECT_NE(nchw.status().message().find("[?, 3, 3, 2]"), std::string::npos)
      << nchw.status().message();

  EXPECT_FALSE(RunReference(g, {Tensor({1, 3, 3})}).ok());
  EXPECT_FALSE(RunReference(g, {ClassifierInput(1), ClassifierInput(1)}).ok());
}

// NCHW graph: Conv with no bias and a residual sum reading the graph input,
// Concat with that input again, Identity; the input is also an output.
TEST(RunReference, ResidualConcatIdentityNchw) {
  Graph g;
  const ValueId x = g.AddValue("x", {1, 1, 2, 2});
  g.AddInput(x);
  const ValueId w = g.AddConstant("w", Tensor({1, 1, 1, 1}, {2}));
  const ValueId conv = g.AddValue("conv");
  ir::ConvAttrs conv_attrs;
  conv_attrs.post_ops = {ir::PostOp::Sum()};
  g.AddNode("conv", OpType::kConv, {x, w, ir::kNoValue, x}, {conv}, conv_attrs);
  const ValueId cat = g.AddValue("cat");
  g.AddNode("cat", OpType::kConcat, {conv, x}, {cat}, ir::ConcatAttrs{.axis = 1});
  const ValueId out = g.AddValue("out");
  g.AddNode("id", OpType::kIdentity, {cat}, {out});
  g.AddOutput(out);
  g.AddOutput(x);
  ASSERT_TRUE(ir::InferShapes(g).ok());

  const Tensor input = Iota({1, 1, 2, 2});
  const auto outputs = Ok(RunReference(g, {input}));
  ASSERT_EQ(outputs.size(), 2u);
  ExpectTensorNear(outputs[0], {1, 2, 2, 2}, {3, 6, 9, 12, 1, 2, 3, 4});
  ExpectTensorNear(outputs[1], input);
  EXPECT_NE(outputs[1].data(), input.data());  // outputs own their storage
}

TEST(RunReference, KernelErrorsNameTheNode) {
  Graph g;
  const ValueId a = g.AddValue("a", {1, 2});
  const ValueId b = g.AddConstant("b", Tensor({1, 3}));
  g.AddInput(a);
  const ValueId sum = g.AddValue("sum");
  g.AddNode("add_1", OpType::kBinary, {a, b}, {sum}, ir::BinaryAttrs{ir::BinaryKind::kAdd});
  g.AddOutput(sum);
  auto r = RunReference(g, {Tensor({1, 2})});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("Binary node 'add_1'"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace kamado::reference
