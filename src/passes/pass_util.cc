#include "passes/pass_util.h"

#include <algorithm>
#include <vector>

namespace kamado::passes {

using ir::Graph;
using ir::kNoNode;
using ir::kNoValue;
using ir::NodeId;
using ir::OpType;
using ir::ValueId;

bool IsSoleConsumer(const Graph& graph, ValueId v, NodeId consumer) {
  if (graph.IsGraphOutput(v)) return false;
  const std::vector<NodeId> readers = graph.Consumers(v);
  return readers.size() == 1 && readers[0] == consumer;
}

NodeId SoleReader(const Graph& graph, ValueId v) {
  if (graph.IsGraphOutput(v)) return kNoNode;
  const std::vector<NodeId> readers = graph.Consumers(v);
  return readers.size() == 1 ? readers[0] : kNoNode;
}

NodeId LiveProducer(const Graph& graph, ValueId v) {
  if (v == kNoValue) return kNoNode;
  const NodeId p = graph.value(v).producer;
  return p != kNoNode && !graph.node(p).dead ? p : kNoNode;
}

const Tensor* ConstantOf(const Graph& graph, ValueId v) {
  if (v == kNoValue) return nullptr;
  const auto& c = graph.value(v).constant;
  return c.has_value() ? &*c : nullptr;
}

ValueId OptionalInput(const ir::Node& node, size_t i) {
  return i < node.inputs.size() ? node.inputs[i] : kNoValue;
}

bool IsBinary(const ir::Node& n, ir::BinaryKind kind) {
  return !n.dead && n.op == OpType::kBinary && n.inputs.size() == 2 && n.attr<ir::BinaryAttrs>().kind == kind;
}

NodeId SoleProducer(const Graph& graph, ValueId v, OpType op, NodeId reader) {
  const NodeId p = LiveProducer(graph, v);
  if (p == kNoNode || graph.node(p).op != op || !IsSoleConsumer(graph, v, reader)) return kNoNode;
  return p;
}

void TakeOverOutput(Graph& graph, NodeId producer, NodeId absorbed) {
  const ValueId old_out = graph.node(producer).outputs[0];
  const ValueId new_out = graph.node(absorbed).outputs[0];
  graph.RemoveNode(absorbed);
  graph.node(producer).outputs[0] = new_out;
  graph.value(new_out).producer = producer;
  graph.value(old_out).producer = kNoNode;
}

bool DependsOn(const Graph& graph, ValueId v, NodeId node) {
  std::vector<bool> seen(static_cast<size_t>(graph.num_nodes()), false);
  std::vector<ValueId> stack{v};
  while (!stack.empty()) {
    const NodeId p = LiveProducer(graph, stack.back());
    stack.pop_back();
    if (p == kNoNode || seen[static_cast<size_t>(p)]) continue;
    if (p == node) return true;
    seen[static_cast<size_t>(p)] = true;
    for (ValueId in : graph.node(p).inputs) {
      if (in != kNoValue) stack.push_back(in);
    }
  }
  return false;
}

}  // namespace kamado::passes
