#include "passes/fold_batch_norm.h"

#include <cmath>
#include <optional>
#include <vector>

#include "passes/pass_util.h"

namespace kamado::passes {
namespace {

using ir::Graph;
using ir::NodeId;
using ir::OpType;
using ir::ValueId;

struct Match {
  NodeId producer;  // Conv or Dense
  NodeId bn;
  const Tensor* weight;
  const Tensor* bias;  // nullptr when the producer has none
  const Tensor* gamma;
  const Tensor* beta;
  const Tensor* mean;
  const Tensor* var;
  float epsilon;
};

bool HasPostOps(const ir::Node& n) {
  if (n.op == OpType::kConv) return !n.attr<ir::ConvAttrs>().post_ops.empty();
  return !n.attr<ir::DenseAttrs>().post_ops.empty();
}

std::optional<Match> MatchAt(const Graph& g, NodeId id) {
  const ir::Node& bn = g.node(id);
  if (bn.dead || bn.op != OpType::kBatchNorm || bn.inputs.size() != 5 ||
      bn.attr<ir::BatchNormAttrs>().relu) {
    return std::nullopt;
  }
  const ValueId x = bn.inputs[0];
  const NodeId p = LiveProducer(g, x);
  if (p == ir::kNoNode) return std::nullopt;
  const ir::Node& prod = g.node(p);
  if (prod.op != OpType::kConv && prod.op != OpType::kDense) return std::nullopt;
  // A Conv with a residual input (inputs[3]) has a Sum post-op; HasPostOps covers it.
  if (HasPostOps(prod) || prod.inputs.size() > 3) return std::nullopt;
  if (prod.outputs.size() != 1 || !IsSoleConsumer(g, x, id)) return std::nullopt;

  Match m{p,       id,      ConstantOf(g, OptionalInput(prod, 1)), nullptr, nullptr, nullptr,
          nullptr, nullptr, bn.attr<ir::BatchNormAttrs>().epsilon};
  if (m.weight == nullptr || m.weight->shape().size() < 2) return std::nullopt;
  const int64_t channels = m.weight->shape()[0];
  if (channels <= 0 || m.weight->size() % channels != 0) return std::nullopt;
  const ValueId b = OptionalInput(prod, 2);
  if (b != ir::kNoValue) {
    m.bias = ConstantOf(g, b);
    if (m.bias == nullptr || m.bias->size() != channels) return std::nullopt;
  }
  const Tensor** params[] = {&m.gamma, &m.beta, &m.mean, &m.var};
  for (size_t i = 0; i < 4; ++i) {
    *params[i] = ConstantOf(g, bn.inputs[i + 1]);
    if (*params[i] == nullptr || (*params[i])->size() != channels) return std::nullopt;
  }
  for (int64_t c = 0; c < channels; ++c) {
    if (!(static_cast<double>((*m.var)[c]) + m.epsilon > 0.0)) return std::nullopt;
  }
  return m;
}

void Rewrite(Graph& g, const Match& m) {
  const int64_t channels = m.weight->shape()[0];
  const int64_t per_channel = m.weight->size() / channels;
  // New constants: the old weight may be shared with other nodes. (AddConstant
  // may move the values, so the Match pointers are not used after it.)
  Tensor weight = m.weight->Clone();
  Tensor bias(Shape{channels});
  for (int64_t c = 0; c < channels; ++c) {
    // scale = γ/√(σ²+ε); w' = w·scale; b' = (b−μ)·scale + β.
    const double scale = static_cast<double>((*m.gamma)[c]) /
                         std::sqrt(static_cast<double>((*m.var)[c]) + m.epsilon);
    float* row = weight.data() + c * per_channel;
    for (int64_t i = 0; i < per_channel; ++i) row[i] = static_cast<float>(row[i] * scale);
    const double b0 = m.bias != nullptr ? (*m.bias)[c] : 0.0;
    bias[c] = static_cast<float>((b0 - (*m.mean)[c]) * scale + (*m.beta)[c]);
  }
  const std::string base = g.node(m.producer).name;
  const ValueId w_id = g.AddConstant(base + "/bn_folded_weight", std::move(weight));
  const ValueId b_id = g.AddConstant(base + "/bn_folded_bias", std::move(bias));
  ir::Node& prod = g.node(m.producer);
  if (prod.inputs.size() < 3) prod.inputs.resize(3, ir::kNoValue);
  prod.inputs[1] = w_id;
  prod.inputs[2] = b_id;
  TakeOverOutput(g, m.producer, m.bn);
}

}  // namespace

Result<bool> FoldBatchNorm::Run(Graph& graph) const {
  return SweepMatches(
      graph, name(), MatchAt,
      [](const Graph& g, const Match& m) {
        return "folded " + ir::Describe(g.node(m.bn)) + " into " + ir::Describe(g.node(m.producer));
      },
      Rewrite);
}

}  // namespace kamado::passes
