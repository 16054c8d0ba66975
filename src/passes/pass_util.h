// Helpers shared by the passes (not part of the public API of the layer).
#pragma once

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

#include "ir/graph.h"

namespace kamado::passes {

// True when `v` is read by `consumer` and by no other live node, and is not a
// graph output: the condition for fusing `v` away.
bool IsSoleConsumer(const ir::Graph& graph, ir::ValueId v, ir::NodeId consumer);

// The one live node reading `v`, when it is the only reader and `v` is not a
// graph output (IsSoleConsumer); else kNoNode.
ir::NodeId SoleReader(const ir::Graph& graph, ir::ValueId v);

// The live node producing `v`, or kNoNode (graph input, constant, dead producer).
ir::NodeId LiveProducer(const ir::Graph& graph, ir::ValueId v);

// The constant tensor held by `v`, or nullptr when `v` is absent or not constant.
const Tensor* ConstantOf(const ir::Graph& graph, ir::ValueId v);

// Whether `n` is a live two-operand Binary node of `kind`.
bool IsBinary(const ir::Node& n, ir::BinaryKind kind);

// The live producer of `v` when it is an `op` node and `reader` alone reads
// `v` (IsSoleConsumer); else kNoNode. Patterns walk up their chain with it.
ir::NodeId SoleProducer(const ir::Graph& graph, ir::ValueId v, ir::OpType op, ir::NodeId reader);

// Optional input `i` of `node`, or kNoValue when it is absent.
ir::ValueId OptionalInput(const ir::Node& node, size_t i);

// `producer` takes over `absorbed`'s (single) output value and `absorbed` is
// removed. The producer's old output value is left without a producer; it must
// have no other readers (callers check IsSoleConsumer first).
void TakeOverOutput(ir::Graph& graph, ir::NodeId producer, ir::NodeId absorbed);

// Whether `v` is computed (transitively) from an output of `node`.
bool DependsOn(const ir::Graph& graph, ir::ValueId v, ir::NodeId node);

// The sweep most passes share: visits the node ids in order and, wherever
// `match_at(graph, id)` returns a match, logs `describe(graph, match)` at
// debug level under the pass's name and applies `rewrite(graph, match)`.
// Returns whether anything was rewritten. A rewrite may only kill nodes and
// add values, so the ids still to be visited stay valid.
template <typename MatchAt, typename Describe, typename Rewrite>
bool SweepMatches(ir::Graph& graph, std::string_view pass, MatchAt match_at, Describe describe,
                  Rewrite rewrite) {
  bool changed = false;
  for (ir::NodeId id = 0; id < graph.num_nodes(); ++id) {
    const auto m = match_at(graph, id);
    if (!m) continue;
    if (spdlog::should_log(spdlog::level::debug)) {
      spdlog::debug("{}: {}", pass, describe(graph, *m));
    }
    rewrite(graph, *m);
    changed = true;
  }
  return changed;
}

}  // namespace kamado::passes
