#include "passes/fuse_gelu.h"

#include <cmath>
#include <optional>

#include "passes/pass_util.h"

namespace kamado::passes {
namespace {

using ir::BinaryKind;
using ir::Graph;
using ir::NodeId;
using ir::OpType;
using ir::ValueId;

struct Match {
  ValueId x;
  NodeId scale, erf, plus_one, times_x, half;
};

// A constant that is one scalar (any rank, one element) near `want`.
bool IsScalar(const Graph& g, ValueId v, double want) {
  const Tensor* t = ConstantOf(g, v);
  return t != nullptr && t->size() == 1 && std::abs(double{t->span()[0]} - want) <= 1e-6 * std::abs(want);
}

// The Binary `kind` node that is `v`'s sole live consumer and is not a graph
// output; its other operand in `other` (either order).
std::optional<NodeId> SoleBinaryConsumer(const Graph& g, ValueId v, BinaryKind kind, ValueId* other) {
  const auto consumers = g.Consumers(v);
  if (consumers.empty() || !IsSoleConsumer(g, v, consumers[0])) return std::nullopt;
  const NodeId c = consumers[0];
  const ir::Node& n = g.node(c);
  if (n.dead || n.op != OpType::kBinary || n.inputs.size() != 2 || n.attr<ir::BinaryAttrs>().kind != kind) {
    return std::nullopt;
  }
  if (n.inputs[0] == v) {
    *other = n.inputs[1];
  } else if (n.inputs[1] == v) {
    *other = n.inputs[0];
  } else {
    return std::nullopt;
  }
  return c;
}

std::optional<Match> MatchAt(const Graph& g, NodeId id) {
  const ir::Node& erf = g.node(id);
  if (erf.dead || erf.op != OpType::kActivation || erf.inputs.size() != 1 ||
      erf.attr<ir::ActivationAttrs>().activation.kind != ir::ActivationKind::kErf) {
    return std::nullopt;
  }
  Match m{};
  m.erf = id;
  // x / √2 or x · (1/√2), x the first operand (a Binary's b is the broadcast one).
  m.scale = LiveProducer(g, erf.inputs[0]);
  if (m.scale == ir::kNoNode || !IsSoleConsumer(g, erf.inputs[0], id)) {
    return std::nullopt;
  }
  const ir::Node& scale = g.node(m.scale);
  if (scale.op != OpType::kBinary || scale.inputs.size() != 2) return std::nullopt;
  const BinaryKind sk = scale.attr<ir::BinaryAttrs>().kind;
  if (!((sk == BinaryKind::kDiv && IsScalar(g, scale.inputs[1], std::sqrt(2.0))) ||
        (sk == BinaryKind::kMul && IsScalar(g, scale.inputs[1], 1.0 / std::sqrt(2.0))))) {
    return std::nullopt;
  }
  m.x = scale.inputs[0];
  if (ConstantOf(g, m.x) != nullptr) return std::nullopt;
  ValueId other = ir::kNoValue;
  const auto plus_one = SoleBinaryConsumer(g, erf.outputs[0], BinaryKind::kAdd, &other);
  if (!plus_one || !IsScalar(g, other, 1.0)) return std::nullopt;
  m.plus_one = *plus_one;
  const auto times_x = SoleBinaryConsumer(g, g.node(m.plus_one).outputs[0], BinaryKind::kMul, &other);
  if (!times_x || other != m.x) return std::nullopt;
  m.times_x = *times_x;
  const auto half = SoleBinaryConsumer(g, g.node(m.times_x).outputs[0], BinaryKind::kMul, &other);
  if (!half || !IsScalar(g, other, 0.5)) return std::nullopt;
  m.half = *half;
  return m;
}

// The scale node becomes the GELU of x and takes over the last Mul's output;
// the Erf, the Add and the first Mul die with it.
void Rewrite(Graph& g, const Match& m) {
  ir::Node& gelu = g.node(m.scale);
  gelu.op = OpType::kActivation;
  gelu.inputs = {m.x};
  gelu.attrs = ir::ActivationAttrs{{ir::ActivationKind::kGeluErf}};
  TakeOverOutput(g, m.scale, m.half);
  for (NodeId dead : {m.erf, m.plus_one, m.times_x}) g.RemoveNode(dead);
}

std::string Describe(const Graph& g, const Match& m) {
  return "GELU of " + g.value(m.x).name + " from " + ir::Describe(g.node(m.erf));
}

}  // namespace

Result<bool> FuseGelu::Run(Graph& graph) const {
  return SweepMatches(graph, name(), MatchAt, Describe, Rewrite);
}

}  // namespace kamado::passes
