#include "ir/graph.h"

#include <algorithm>

namespace kamado::ir {

ValueId Graph::AddValue(std::string name, Shape shape) {
  values_.push_back(Value{std::move(name), std::move(shape), std::nullopt, kNoNode});
  return static_cast<ValueId>(values_.size() - 1);
}

ValueId Graph::AddConstant(std::string name, Tensor tensor) {
  Shape shape = tensor.shape();
  values_.push_back(Value{std::move(name), std::move(shape), std::move(tensor), kNoNode});
  return static_cast<ValueId>(values_.size() - 1);
}

NodeId Graph::AddNode(std::string name, OpType op, std::vector<ValueId> inputs,
                      std::vector<ValueId> outputs, Attrs attrs) {
  const auto id = static_cast<NodeId>(nodes_.size());
  for (ValueId v : outputs) value(v).producer = id;
  nodes_.push_back(Node{std::move(name), op, std::move(inputs), std::move(outputs),
                        std::move(attrs), false});
  return id;
}

std::vector<NodeId> Graph::Consumers(ValueId v) const {
  std::vector<NodeId> result;
  for (NodeId id = 0; id < num_nodes(); ++id) {
    const Node& n = node(id);
    if (n.dead) continue;
    if (std::find(n.inputs.begin(), n.inputs.end(), v) != n.inputs.end()) result.push_back(id);
  }
  return result;
}

bool Graph::IsGraphOutput(ValueId v) const {
  return std::find(outputs_.begin(), outputs_.end(), v) != outputs_.end();
}

bool Graph::IsGraphInput(ValueId v) const {
  return std::find(inputs_.begin(), inputs_.end(), v) != inputs_.end();
}

void Graph::RemoveNode(NodeId id) {
  Node& n = node(id);
  n.dead = true;
  for (ValueId v : n.outputs) {
    if (value(v).producer == id) value(v).producer = kNoNode;
  }
}

void Graph::ReplaceAllUses(ValueId from, ValueId to) {
  for (Node& n : nodes_) {
    if (n.dead) continue;
    std::replace(n.inputs.begin(), n.inputs.end(), from, to);
  }
  std::replace(outputs_.begin(), outputs_.end(), from, to);
}

Result<std::vector<NodeId>> Graph::TopologicalOrder() const {
  // Kahn's algorithm over live nodes; ties keep insertion order so the
  // importer's (already topological) order is preserved.
  std::vector<int> pending(nodes_.size(), 0);
  std::vector<std::vector<NodeId>> readers(values_.size());
  int live = 0;
  for (NodeId id = 0; id < num_nodes(); ++id) {
    const Node& n = node(id);
    if (n.dead) continue;
    ++live;
    for (ValueId v : n.inputs) {
      if (v == kNoValue) continue;
      const NodeId p = value(v).producer;
      if (p != kNoNode && !node(p).dead) {
        ++pending[static_cast<size_t>(id)];
        readers[static_cast<size_t>(v)].push_back(id);
      }
    }
  }
  std::vector<NodeId> order;
  order.reserve(static_cast<size_t>(live));
  std::vector<NodeId> ready;
  for (NodeId id = 0; id < num_nodes(); ++id) {
    if (!node(id).dead && pending[static_cast<size_t>(id)] == 0) ready.push_back(id);
  }
  while (!ready.empty()) {
    std::sort(ready.begin(), ready.end(), std::greater<>());
    const NodeId id = ready.back();
    ready.pop_back();
    order.push_back(id);
    for (ValueId v : node(id).outputs) {
      for (NodeId r : readers[static_cast<size_t>(v)]) {
        if (--pending[static_cast<size_t>(r)] == 0) ready.push_back(r);
      }
    }
  }
  if (static_cast<int>(order.size()) != live) {
    return Internal("graph '" + name + "' has a cycle");
  }
  return order;
}

Status Graph::Verify() const {
  for (NodeId id = 0; id < num_nodes(); ++id) {
    const Node& n = node(id);
    if (n.dead) continue;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const ValueId v = n.inputs[i];
      if (v == kNoValue) continue;
      if (v < 0 || v >= num_values()) {
        return Internal(Describe(n) + ": input " + std::to_string(i) + " is not a value");
      }
      const Value& val = value(v);
      const bool produced = val.producer != kNoNode && !node(val.producer).dead;
      if (!produced && !val.is_constant() && !IsGraphInput(v)) {
        return Internal(Describe(n) + ": input '" + val.name + "' has no producer");
      }
    }
    for (ValueId v : n.outputs) {
      if (value(v).producer != id) {
        return Internal(Describe(n) + ": output '" + value(v).name + "' has another producer");
      }
    }
  }
  for (ValueId v : outputs_) {
    const Value& val = value(v);
    if ((val.producer == kNoNode || node(val.producer).dead) && !IsGraphInput(v)) {
      return Internal("graph output '" + val.name + "' is not produced");
    }
  }
  auto order = TopologicalOrder();
  return order.ok() ? Status::Ok() : order.status();
}

int Graph::CountOps(OpType op) const {
  return static_cast<int>(std::count_if(nodes_.begin(), nodes_.end(), [op](const Node& n) {
    return !n.dead && n.op == op;
  }));
}

int Graph::CountLiveNodes() const {
  return static_cast<int>(
      std::count_if(nodes_.begin(), nodes_.end(), [](const Node& n) { return !n.dead; }));
}

std::string Describe(const Node& node) {
  return std::string(OpTypeName(node.op)) + " node '" + node.name + "'";
}

}  // namespace kamado::ir
