#include "passes/graph_builder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "ir/shape_inference.h"
#include "passes/fuse_activation.h"
#include "runtime/reference/reference_executor.h"

namespace kamado::passes::testing {

using ir::OpType;
using ir::ValueId;

std::string GraphBuilder::NextName(std::string_view prefix) {
  return std::string(prefix) + "_" + std::to_string(counter_++);
}

Tensor GraphBuilder::Random(Shape shape, float lo, float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  Tensor t(std::move(shape));
  for (float& v : t.span()) v = dist(rng_);
  return t;
}

ValueId GraphBuilder::Input(Shape shape) {
  const ValueId v = graph_.AddValue(NextName("input"), std::move(shape));
  graph_.AddInput(v);
  return v;
}

ValueId GraphBuilder::Const(Shape shape, float lo, float hi) {
  return graph_.AddConstant(NextName("const"), Random(std::move(shape), lo, hi));
}

ValueId GraphBuilder::Op(OpType op, std::vector<ValueId> inputs, ir::Attrs attrs) {
  const std::string name = NextName(ir::OpTypeName(op));
  const ValueId out = graph_.AddValue(name + ":0");
  const ir::NodeId id = graph_.AddNode(name, op, std::move(inputs), {out}, std::move(attrs));
  const Status s = ir::InferNodeShapes(graph_, id);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

ValueId GraphBuilder::Conv(ValueId x, int64_t out, int64_t k, bool bias,
                           std::array<int64_t, 4> pads, int64_t group,
                           std::array<int64_t, 2> strides) {
  const int64_t c = graph_.value(x).shape.at(1);
  ir::ConvAttrs a;
  a.kernel = {k, k};
  a.strides = strides;
  a.pads = pads;
  a.group = group;
  const ValueId w = Const({out, c / group, k, k});
  const ValueId b = bias ? Const({out}) : ir::kNoValue;
  return Op(OpType::kConv, {x, w, b}, a);
}

ValueId GraphBuilder::BatchNorm(ValueId x, float epsilon) {
  const int64_t c = graph_.value(x).shape.at(1);
  const ValueId gamma = Const({c}, 0.5f, 1.5f);
  const ValueId beta = Const({c});
  const ValueId mean = Const({c});
  const ValueId var = Const({c}, 0.5f, 2.0f);
  return Op(OpType::kBatchNorm, {x, gamma, beta, mean, var}, ir::BatchNormAttrs{epsilon});
}

ValueId GraphBuilder::Act(ValueId x, ir::Activation a) {
  return Op(OpType::kActivation, {x}, ir::ActivationAttrs{a});
}

ValueId GraphBuilder::Pad(ValueId x, std::array<int64_t, 4> pads, float value) {
  return Op(OpType::kPad, {x}, ir::PadAttrs{pads, value});
}

ValueId GraphBuilder::Add(ValueId a, ValueId b) {
  return Op(OpType::kBinary, {a, b}, ir::BinaryAttrs{ir::BinaryKind::kAdd});
}

ValueId GraphBuilder::Identity(ValueId x) { return Op(OpType::kIdentity, {x}); }

ValueId GraphBuilder::Flatten(ValueId x, bool channels_last) {
  return Op(OpType::kFlatten, {x}, ir::FlattenAttrs{channels_last});
}

ValueId GraphBuilder::Dense(ValueId x, int64_t out, bool bias) {
  const int64_t k = graph_.value(x).shape.at(1);
  const ValueId w = Const({out, k});
  const ValueId b = bias ? Const({out}) : ir::kNoValue;
  return Op(OpType::kDense, {x, w, b}, ir::DenseAttrs{});
}

std::vector<Tensor> GraphBuilder::RandomInputs() {
  std::vector<Tensor> inputs;
  for (ValueId v : graph_.inputs()) {
    Shape s = graph_.value(v).shape;
    if (!s.empty() && s[0] < 0) s[0] = 2;
    if (graph_.input_layout == Layout::kNHWC && s.size() == 4) s = {s[0], s[2], s[3], s[1]};
    inputs.push_back(Random(s));
  }
  return inputs;
}

ir::Graph RunPass(const Pass& pass, const ir::Graph& before, bool* changed) {
  ir::Graph after = before;
  Result<bool> r = pass.Run(after);
  EXPECT_TRUE(r.ok()) << pass.name() << ": " << r.status().ToString();
  if (changed != nullptr) *changed = r.ok() && *r;
  const Status v = after.Verify();
  EXPECT_TRUE(v.ok()) << pass.name() << ": " << v.ToString();
  return after;
}

void ExpectSameOutputs(const ir::Graph& before, const ir::Graph& after,
                       const std::vector<Tensor>& inputs, float rtol) {
  auto want = reference::RunReference(before, inputs);
  ASSERT_TRUE(want.ok()) << "before: " << want.status().ToString();
  auto got = reference::RunReference(after, inputs);
  ASSERT_TRUE(got.ok()) << "after: " << got.status().ToString();
  ASSERT_EQ(want->size(), got->size());
  for (size_t i = 0; i < want->size(); ++i) {
    const Tensor& a = (*want)[i];
    const Tensor& b = (*got)[i];
    ASSERT_EQ(a.shape(), b.shape()) << "output " << i;
    float scale = 1.0f;
    for (float v : a.span()) scale = std::max(scale, std::abs(v));
    int bad = 0;
    for (int64_t j = 0; j < a.size() && bad < 5; ++j) {
      if (!(std::abs(a[j] - b[j]) <= rtol * scale)) {
        ADD_FAILURE() << "output " << i << " element " << j << ": " << a[j] << " vs " << b[j];
        ++bad;
      }
    }
  }
}

void ExpectUnchanged(const Pass& pass, GraphBuilder& builder, ir::OpType op, int count) {
  bool changed = true;
  const ir::Graph after = RunPass(pass, builder.graph(), &changed);
  EXPECT_FALSE(changed);
  EXPECT_EQ(after.CountOps(op), count);
  ExpectSameOutputs(builder.graph(), after, builder.RandomInputs());
}

void ExpectOneActivationThatFusesIntoTheConv(const Pass& pass, GraphBuilder& builder, ir::ValueId y,
                                             ir::ValueId conv, ir::ActivationKind kind) {
  bool changed = false;
  const ir::Graph after = RunPass(pass, builder.graph(), &changed);
  EXPECT_TRUE(changed);
  EXPECT_EQ(after.CountOps(ir::OpType::kBinary), 0);
  ASSERT_EQ(after.CountOps(ir::OpType::kActivation), 1);
  const ir::Node& act = after.node(after.value(y).producer);
  ASSERT_EQ(act.op, ir::OpType::kActivation);
  EXPECT_EQ(act.attr<ir::ActivationAttrs>().activation.kind, kind);
  EXPECT_EQ(act.inputs, std::vector<ir::ValueId>{conv});
  ExpectSameOutputs(builder.graph(), after, builder.RandomInputs());
  const ir::Graph fused = RunPass(FuseActivation(), after);
  EXPECT_EQ(fused.CountOps(ir::OpType::kActivation), 0);
  ExpectSameOutputs(builder.graph(), fused, builder.RandomInputs());
}

}  // namespace kamado::passes::testing
