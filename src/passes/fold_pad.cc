#include "passes/fold_pad.h"

#include <spdlog/spdlog.h>

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
  NodeId pad;
  NodeId conv;
};

std::optional<Match> MatchAt(const Graph& g, NodeId id) {
  const ir::Node& conv = g.node(id);
  if (conv.dead || conv.op != OpType::kConv || conv.inputs.empty()) return std::nullopt;
  const ValueId x = conv.inputs[0];
  const NodeId p = LiveProducer(g, x);
  if (p == ir::kNoNode) return std::nullopt;
  const ir::Node& pad = g.node(p);
  if (pad.op != OpType::kPad || pad.inputs.size() != 1 || pad.inputs[0] == ir::kNoValue) {
    return std::nullopt;
  }
  const auto& attrs = pad.attr<ir::PadAttrs>();
  // Conv pads with zeros; any other fill value changes the border outputs.
  if (attrs.value != 0.0f) return std::nullopt;
  if (std::any_of(attrs.pads.begin(), attrs.pads.end(), [](int64_t v) { return v < 0; })) {
    return std::nullopt;
  }
  if (!IsSoleConsumer(g, x, id)) return std::nullopt;
  // Only as the data input: a padded value used as the residual stays as it is.
  if (std::count(conv.inputs.begin(), conv.inputs.end(), x) != 1) return std::nullopt;
  return Match{p, id};
}

void Rewrite(Graph& g, const Match& m) {
  const ir::Node& pad = g.node(m.pad);
  const auto pads = pad.attr<ir::PadAttrs>().pads;  // {top, left, bottom, right}, as Conv's
  const ValueId in = pad.inputs[0];
  ir::Node& conv = g.node(m.conv);
  auto& conv_pads = conv.attr<ir::ConvAttrs>().pads;
  for (size_t i = 0; i < 4; ++i) conv_pads[i] += pads[i];
  conv.inputs[0] = in;
  g.RemoveNode(m.pad);
}

}  // namespace

Result<bool> FoldPad::Run(Graph& graph) const {
  bool changed = false;
  for (NodeId id = 0; id < graph.num_nodes(); ++id) {
    // Pad → Pad → Conv folds both, one after the other.
    while (const auto m = MatchAt(graph, id)) {
      spdlog::debug("FoldPad: folded {} into {}", ir::Describe(graph.node(m->pad)),
                    ir::Describe(graph.node(m->conv)));
      Rewrite(graph, *m);
      changed = true;
    }
  }
  return changed;
}

}  // namespace kamado::passes
