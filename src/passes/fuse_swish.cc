#include "passes/fuse_swish.h"

#include <optional>

#include "passes/pass_util.h"

namespace kamado::passes {
namespace {

using ir::Graph;
using ir::NodeId;
using ir::OpType;
using ir::ValueId;

struct Match {
  NodeId sigmoid, mul;
  ValueId x;
};

std::optional<Match> MatchAt(const Graph& g, NodeId id) {
  const ir::Node& mul = g.node(id);
  if (!IsBinary(mul, ir::BinaryKind::kMul)) return std::nullopt;
  for (size_t i = 0; i < 2; ++i) {
    const ValueId gate = mul.inputs[i], x = mul.inputs[1 - i];
    const NodeId s = SoleProducer(g, gate, OpType::kActivation, id);
    if (s == ir::kNoNode) continue;
    const ir::Node& sig = g.node(s);
    if (sig.inputs.size() != 1 || sig.inputs[0] != x ||
        sig.attr<ir::ActivationAttrs>().activation.kind != ir::ActivationKind::kSigmoid) {
      continue;
    }
    if (g.value(x).shape != g.value(gate).shape) continue;
    return Match{s, id, x};
  }
  return std::nullopt;
}

// The Sigmoid becomes the swish of x and takes over the Mul's output.
void Rewrite(Graph& g, const Match& m) {
  g.node(m.sigmoid).attrs = ir::ActivationAttrs{{ir::ActivationKind::kSwish, 1.0f}};
  TakeOverOutput(g, m.sigmoid, m.mul);
}

std::string Describe(const Graph& g, const Match& m) {
  return "swish of " + g.value(m.x).name + " from " + ir::Describe(g.node(m.mul));
}

}  // namespace

Result<bool> FuseSwish::Run(Graph& graph) const {
  return SweepMatches(graph, name(), MatchAt, Describe, Rewrite);
}

}  // namespace kamado::passes
