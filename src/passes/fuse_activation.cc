#include "passes/fuse_activation.h"

#include <spdlog/spdlog.h>

#include <optional>

#include "passes/pass_util.h"

namespace kamado::passes {
namespace {

using ir::Graph;
using ir::NodeId;
using ir::OpType;
using ir::ValueId;

struct Match {
  NodeId producer;  // Conv or Dense
  NodeId act;
};

std::optional<Match> MatchAt(const Graph& g, NodeId id) {
  const ir::Node& act = g.node(id);
  if (act.dead || act.op != OpType::kActivation || act.inputs.size() != 1 ||
      act.outputs.size() != 1) {
    return std::nullopt;
  }
  const ValueId x = act.inputs[0];
  const NodeId p = LiveProducer(g, x);
  if (p == ir::kNoNode) return std::nullopt;
  const ir::Node& prod = g.node(p);
  // A BatchNorm takes a plain ReLU only (oneDNN's fuse_norm_relu).
  const ir::Activation& a = act.attr<ir::ActivationAttrs>().activation;
  const bool bn_relu = prod.op == OpType::kBatchNorm && !prod.attr<ir::BatchNormAttrs>().relu &&
                       a.kind == ir::ActivationKind::kRelu && a.alpha == 0.0f;
  if ((prod.op != OpType::kConv && prod.op != OpType::kDense && !bn_relu) || prod.outputs.size() != 1) {
    return std::nullopt;
  }
  if (!IsSoleConsumer(g, x, id)) return std::nullopt;
  return Match{p, id};
}

void Rewrite(Graph& g, const Match& m) {
  const ir::PostOp op = ir::PostOp::Act(g.node(m.act).attr<ir::ActivationAttrs>().activation);
  ir::Node& prod = g.node(m.producer);
  // Appended: post-ops apply in order, after any Sum or earlier activation.
  if (prod.op == OpType::kConv) {
    prod.attr<ir::ConvAttrs>().post_ops.push_back(op);
  } else if (prod.op == OpType::kBatchNorm) {
    prod.attr<ir::BatchNormAttrs>().relu = true;
  } else {
    prod.attr<ir::DenseAttrs>().post_ops.push_back(op);
  }
  TakeOverOutput(g, m.producer, m.act);
}

}  // namespace

Result<bool> FuseActivation::Run(Graph& graph) const {
  bool changed = false;
  // In Conv → Act → Act the second activation, once the first is fused, sees
  // the Conv as its producer. Visiting in id order handles importer-ordered
  // chains in one sweep; sweep again until nothing changes for any other order.
  for (bool swept = true; swept;) {
    swept = false;
    for (NodeId id = 0; id < graph.num_nodes(); ++id) {
      const auto m = MatchAt(graph, id);
      if (!m) continue;
      spdlog::debug("FuseActivation: fused {} into {}", ir::Describe(graph.node(m->act)),
                    ir::Describe(graph.node(m->producer)));
      Rewrite(graph, *m);
      swept = changed = true;
    }
  }
  return changed;
}

}  // namespace kamado::passes
