#include "passes/remove_identity.h"

#include <algorithm>
#include <optional>

#include "passes/pass_util.h"

namespace kamado::passes {
namespace {

using ir::Graph;
using ir::NodeId;
using ir::OpType;
using ir::ValueId;

struct Match {
  NodeId identity;
  ValueId in;
  ValueId out;
};

std::optional<Match> MatchAt(const Graph& g, NodeId id) {
  const ir::Node& n = g.node(id);
  // A Pad of nothing is an identity too (torch.onnx writes one before every
  // AveragePool at opset ≥ 11; left in, it costs a plain copy and pulls the
  // pool off the producer's blocked layout).
  const bool empty_pad = n.op == OpType::kPad &&
                         n.attr<ir::PadAttrs>().pads == std::array<int64_t, 4>{0, 0, 0, 0};
  if (n.dead || (n.op != OpType::kIdentity && !empty_pad)) return std::nullopt;
  if (n.inputs.size() != 1 || n.outputs.size() != 1) return std::nullopt;
  const ValueId in = n.inputs[0];
  const ValueId out = n.outputs[0];
  if (in == ir::kNoValue || in == out) return std::nullopt;
  // A graph output must be computed or be a graph input; a constant is neither.
  if (g.IsGraphOutput(out) && g.value(in).is_constant()) return std::nullopt;
  // Identity keeps the shape; if an importer recorded another one, readers
  // rely on it, so leave the node for the runtime.
  const Shape& si = g.value(in).shape;
  const Shape& so = g.value(out).shape;
  if (!si.empty() && !so.empty() && si != so) return std::nullopt;
  return Match{id, in, out};
}

void Rewrite(Graph& g, const Match& m) {
  const bool out_is_output = g.IsGraphOutput(m.out);
  g.RemoveNode(m.identity);
  g.ReplaceAllUses(m.out, m.in);
  // Keep the user-visible output name when an intermediate value becomes a
  // graph output; graph inputs and other outputs keep their own names.
  // (count == 1: m.in was not already an output under its own name).
  if (out_is_output && !g.IsGraphInput(m.in) &&
      std::count(g.outputs().begin(), g.outputs().end(), m.in) == 1) {
    g.value(m.in).name = g.value(m.out).name;
  }
}

}  // namespace

Result<bool> RemoveIdentity::Run(Graph& graph) const {
  return SweepMatches(
      graph, name(), MatchAt,
      [](const Graph& g, const Match& m) { return "removed " + ir::Describe(g.node(m.identity)); },
      Rewrite);
}

}  // namespace kamado::passes
