#include "passes/sink_transpose.h"

#include <spdlog/spdlog.h>

#include <vector>

#include "passes/pass_util.h"

namespace kamado::passes {
namespace {

using ir::Graph;
using ir::NodeId;
using ir::OpType;
using ir::ValueId;

using Perm = std::vector<int64_t>;

bool IsIdentity(const Perm& p) {
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] != static_cast<int64_t>(i)) return false;
  }
  return true;
}

// `c` (in the transposed value's axis order) in the order of the
// Transpose's input: the inverse permutation, c'.shape[p[i]] = c.shape[i].
Tensor PermuteBack(const Tensor& c, const Perm& p) {
  Perm inverse(p.size());
  for (size_t i = 0; i < p.size(); ++i) inverse[static_cast<size_t>(p[i])] = static_cast<int64_t>(i);
  return c.Transposed(inverse);
}

// One rewrite at Transpose `t`; whether anything changed.
bool RewriteAt(Graph& g, NodeId t) {
  ir::Node& tn = g.node(t);
  if (tn.dead || tn.op != OpType::kTranspose || tn.inputs.size() != 1) return false;
  const ValueId x = tn.inputs[0];
  if (g.value(x).is_constant()) return false;
  const Perm p = tn.attr<ir::TransposeAttrs>().perm;
  const ValueId y = tn.outputs[0];
  const NodeId n = SoleReader(g, y);
  if (n == ir::kNoNode) return false;
  ir::Node& nn = g.node(n);
  if (nn.op == OpType::kTranspose) {
    const Perm& q = nn.attr<ir::TransposeAttrs>().perm;
    if (q.size() != p.size()) return false;
    Perm r(p.size());
    for (size_t i = 0; i < r.size(); ++i) r[i] = p[static_cast<size_t>(q[i])];
    const ValueId z = nn.outputs[0];
    if (IsIdentity(r)) {
      // Both go; readers of z read x. A graph output keeps its name (as
      // RemoveIdentity does), unless x is a graph input or an output under
      // its own name: then the pair stays.
      if (g.IsGraphOutput(z) && (g.IsGraphInput(x) || g.IsGraphOutput(x))) return false;
      g.RemoveNode(t);
      g.RemoveNode(n);
      const bool output = g.IsGraphOutput(z);
      g.ReplaceAllUses(z, x);
      if (output) g.value(x).name = g.value(z).name;
    } else {
      g.RemoveNode(t);
      g.node(n).inputs[0] = x;
      g.node(n).attrs = ir::TransposeAttrs{r};
    }
    return true;
  }
  if (nn.inputs.empty() || nn.inputs[0] != y) return false;
  ir::Attrs attrs = nn.attrs;
  std::vector<ValueId> inputs = nn.inputs;
  inputs[0] = x;
  switch (nn.op) {
    case OpType::kActivation:
      break;
    case OpType::kLayerNorm: {
      auto a = nn.attr<ir::LayerNormAttrs>();
      a.axis = p[static_cast<size_t>(a.axis)];
      attrs = a;
      break;
    }
    case OpType::kBinary: {
      if (nn.inputs.size() != 2 || nn.inputs[1] == y) return false;
      const Tensor* c = ConstantOf(g, nn.inputs[1]);
      if (c == nullptr || c->shape().size() != p.size()) return false;
      inputs[1] = g.AddConstant(g.value(nn.inputs[1]).name + "/permuted", PermuteBack(*c, p));
      break;
    }
    default:
      return false;
  }
  // n now reads x and writes m (x's axis order); t reads m and writes n's
  // old output z.
  const ValueId z = g.node(n).outputs[0];
  const ValueId m = g.AddValue(g.value(z).name + "/unpermuted", g.value(x).shape);
  ir::Node& moved = g.node(n);
  moved.inputs = std::move(inputs);
  moved.attrs = std::move(attrs);
  moved.outputs = {m};
  g.value(m).producer = n;
  ir::Node& tr = g.node(t);
  tr.inputs = {m};
  tr.outputs = {z};
  g.value(z).producer = t;
  g.value(y).producer = ir::kNoNode;
  return true;
}

}  // namespace

Result<bool> SinkTranspose::Run(Graph& graph) const {
  bool changed = false;
  // Each rewrite moves a Transpose one node down or removes one, so this
  // ends; the bound is a guard.
  for (int round = 0; round < 4 * graph.num_nodes() + 4; ++round) {
    bool any = false;
    for (NodeId id = 0; id < graph.num_nodes(); ++id) {
      if (RewriteAt(graph, id)) {
        any = true;
        spdlog::debug("{}: moved or merged {}", name(), ir::Describe(graph.node(id)));
      }
    }
    if (!any) break;
    changed = true;
  }
  return changed;
}

}  // namespace kamado::passes
