#include "passes/fuse_add.h"

#include <spdlog/spdlog.h>

#include <cassert>
#include <optional>

#include "passes/pass_util.h"

namespace kamado::passes {
namespace {

using ir::Graph;
using ir::NodeId;
using ir::OpType;
using ir::ValueId;

struct Match {
  NodeId add;
  NodeId conv;
  ValueId residual;
};

// Whether operand `i` of `add` is a Conv output the Conv can absorb the Add into.
bool Fusible(const Graph& g, const ir::Node& add, NodeId add_id, size_t i) {
  const ValueId v = add.inputs[i];
  const ValueId other = add.inputs[1 - i];
  const NodeId p = LiveProducer(g, v);
  if (p == ir::kNoNode) return false;
  const ir::Node& conv = g.node(p);
  if (conv.op != OpType::kConv || conv.outputs.size() != 1) return false;
  if (!conv.attr<ir::ConvAttrs>().post_ops.empty() || conv.inputs.size() > 3) return false;
  // Add(y, y): the residual would be the Conv's own output.
  if (other == v || other == ir::kNoValue || g.value(other).is_constant()) return false;
  // Same shape only: a broadcast add is not a residual sum.
  const Shape& ys = g.value(v).shape;
  const Shape& rs = g.value(other).shape;
  if (ys.empty() || ys != rs) return false;
  return IsSoleConsumer(g, v, add_id);
}

std::optional<Match> MatchAt(const Graph& g, NodeId id) {
  const ir::Node& add = g.node(id);
  if (add.dead || add.op != OpType::kBinary ||
      add.attr<ir::BinaryAttrs>().kind != ir::BinaryKind::kAdd || add.inputs.size() != 2 ||
      add.outputs.size() != 1) {
    return std::nullopt;
  }
  std::optional<Match> best;
  for (size_t i = 0; i < 2; ++i) {
    if (!Fusible(g, add, id, i)) continue;
    const NodeId conv = g.value(add.inputs[i]).producer;
    // Both qualify: the later Conv, whose residual (the earlier's output) is ready first.
    if (!best || conv > best->conv) best = Match{id, conv, add.inputs[1 - i]};
  }
  return best;
}

Status Rewrite(Graph& g, const Match& m) {
  // The Conv's only reader is the Add, and the residual is not the Conv's own
  // output, so the residual cannot be computed from the Conv and fusing cannot
  // make a cycle. Checked anyway: a violation is a bug in Match.
  const bool cycle = DependsOn(g, m.residual, m.conv);
  assert(!cycle);
  if (cycle) {
    return Internal("FuseAdd: residual of " + ir::Describe(g.node(m.add)) + " depends on " +
                    ir::Describe(g.node(m.conv)));
  }
  ir::Node& conv = g.node(m.conv);
  conv.inputs.resize(4, ir::kNoValue);  // inputs[2] stays kNoValue when there is no bias
  conv.inputs[3] = m.residual;
  conv.attr<ir::ConvAttrs>().post_ops.push_back(ir::PostOp::Sum());
  TakeOverOutput(g, m.conv, m.add);
  return Status::Ok();
}

}  // namespace

Result<bool> FuseAdd::Run(Graph& graph) const {
  bool changed = false;
  for (NodeId id = 0; id < graph.num_nodes(); ++id) {
    const auto m = MatchAt(graph, id);
    if (!m) continue;
    spdlog::debug("FuseAdd: fused {} into {}", ir::Describe(graph.node(m->add)),
                  ir::Describe(graph.node(m->conv)));
    RETURN_IF_ERROR(Rewrite(graph, *m));
    changed = true;
  }
  return changed;
}

}  // namespace kamado::passes
