// A small CNN with what the default models have, for runtime tests that
// need a real graph without model files, and helpers to compare outputs.
#pragma once

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"

namespace kamado::runtime {

using ir::OpType;

inline Tensor Random(Shape shape, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  Tensor t(std::move(shape));
  for (float& v : t.span()) v = dist(rng);
  return t;
}

// A small CNN with what the default models have: NHWC input, convs with
// fused activation and a residual sum, a depthwise conv, a concat, pooling,
// a dense head and softmax.
inline ir::Graph SmallCnn() {
  std::mt19937 rng(11);
  ir::Graph g;
  g.name = "small_cnn";
  g.input_layout = Layout::kNHWC;
  const auto x = g.AddValue("x", {-1, 3, 16, 16});
  g.AddInput(x);
  auto conv = [&](const std::string& name, ir::ValueId in, int64_t c_in, int64_t c_out,
                  int64_t k, int64_t group, std::vector<ir::PostOp> post, ir::ValueId residual) {
    ir::ConvAttrs a;
    a.kernel = {k, k};
    a.pads = {k / 2, k / 2, k / 2, k / 2};
    a.group = group;
    a.post_ops = std::move(post);
    std::vector<ir::ValueId> inputs{in,
                                    g.AddConstant(name + "_w", Random({c_out, c_in / group, k, k}, rng)),
                                    g.AddConstant(name + "_b", Random({c_out}, rng))};
    if (residual != ir::kNoValue) inputs.push_back(residual);
    const auto out = g.AddValue(name);
    g.AddNode(name, OpType::kConv, inputs, {out}, a);
    return out;
  };
  const ir::PostOp relu = ir::PostOp::Act({ir::ActivationKind::kRelu});
  const auto c1 = conv("c1", x, 3, 16, 3, 1, {relu}, ir::kNoValue);
  const auto dw = conv("dw", c1, 16, 16, 3, 16, {ir::PostOp::Act({ir::ActivationKind::kClip, 0, 6})},
                       ir::kNoValue);
  const auto c2 = conv("c2", dw, 16, 16, 1, 1, {ir::PostOp::Sum(), relu}, c1);
  const auto b1 = conv("b1", c2, 16, 8, 1, 1, {relu}, ir::kNoValue);
  const auto b2 = conv("b2", c2, 16, 8, 3, 1, {relu}, ir::kNoValue);
  const auto cat = g.AddValue("cat");
  g.AddNode("cat", OpType::kConcat, {b1, b2}, {cat}, ir::ConcatAttrs{1});
  ir::PoolAttrs pa;
  pa.kernel = {2, 2};
  pa.strides = {2, 2};
  const auto pool = g.AddValue("pool");
  g.AddNode("pool", OpType::kMaxPool, {cat}, {pool}, pa);
  const auto gap = g.AddValue("gap");
  g.AddNode("gap", OpType::kGlobalAvgPool, {pool}, {gap});
  const auto flat = g.AddValue("flat");
  g.AddNode("flat", OpType::kFlatten, {gap}, {flat}, ir::FlattenAttrs{});
  const auto logits = g.AddValue("logits");
  g.AddNode("dense", OpType::kDense,
            {flat, g.AddConstant("fc_w", Random({5, 16}, rng)), g.AddConstant("fc_b", Random({5}, rng))},
            {logits}, ir::DenseAttrs{});
  const auto probs = g.AddValue("probs");
  g.AddNode("softmax", OpType::kSoftmax, {logits}, {probs}, ir::SoftmaxAttrs{1});
  g.AddOutput(probs);
  return g;
}

inline bool BitwiseEqual(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() &&
         std::memcmp(a.data(), b.data(), static_cast<size_t>(a.size()) * sizeof(float)) == 0;
}

}  // namespace kamado::runtime
