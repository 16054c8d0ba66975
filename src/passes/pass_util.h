// Helpers shared by the passes (not part of the public API of the layer).
#pragma once

#include <string>

#include "ir/graph.h"

namespace kamado::passes {

// True when `v` is read by `consumer` and by no other live node, and is not a
// graph output: the condition for fusing `v` away.
bool IsSoleConsumer(const ir::Graph& graph, ir::ValueId v, ir::NodeId consumer);

// The live node producing `v`, or kNoNode (graph input, constant, dead producer).
ir::NodeId LiveProducer(const ir::Graph& graph, ir::ValueId v);

// The constant tensor held by `v`, or nullptr when `v` is absent or not constant.
const Tensor* ConstantOf(const ir::Graph& graph, ir::ValueId v);

// Optional input `i` of `node`, or kNoValue when it is absent.
ir::ValueId OptionalInput(const ir::Node& node, size_t i);

// `producer` takes over `absorbed`'s (single) output value and `absorbed` is
// removed. The producer's old output value is left without a producer; it must
// have no other readers (callers check IsSoleConsumer first).
void TakeOverOutput(ir::Graph& graph, ir::NodeId producer, ir::NodeId absorbed);

// Whether `v` is computed (transitively) from an output of `node`.
bool DependsOn(const ir::Graph& graph, ir::ValueId v, ir::NodeId node);

}  // namespace kamado::passes
