// ir::Graph: the mutable model representation that importers build, passes
// rewrite and the runtime compiles. Not thread-safe; one owner at a time.
//
// Values are tensors (activations or constants); nodes are operators that
// read and write values by id. Ids stay stable while passes run: removing a
// node only marks it dead, and Compact() is never needed for correctness
// (the runtime walks TopologicalOrder(), which skips dead nodes).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/layout.h"
#include "core/result.h"
#include "core/tensor.h"
#include "ir/op_type.h"

namespace kamado::ir {

using ValueId = int32_t;
using NodeId = int32_t;
inline constexpr ValueId kNoValue = -1;
inline constexpr NodeId kNoNode = -1;

struct Value {
  std::string name;
  Shape shape;                     // logical; batch may be -1 (dynamic)
  std::optional<Tensor> constant;  // set for weights and other constants
  NodeId producer = kNoNode;

  bool is_constant() const { return constant.has_value(); }
};

struct Node {
  std::string name;
  OpType op = OpType::kIdentity;
  std::vector<ValueId> inputs;  // kNoValue marks an absent optional input
  std::vector<ValueId> outputs;
  Attrs attrs;
  bool dead = false;

  template <typename T>
  T& attr() { return std::get<T>(attrs); }
  template <typename T>
  const T& attr() const { return std::get<T>(attrs); }
};

class Graph {
 public:
  ValueId AddValue(std::string name, Shape shape = {});
  ValueId AddConstant(std::string name, Tensor tensor);
  // Appends a node and makes it the producer of `outputs`.
  NodeId AddNode(std::string name, OpType op, std::vector<ValueId> inputs,
                 std::vector<ValueId> outputs, Attrs attrs = {});
  void AddInput(ValueId v) { inputs_.push_back(v); }
  void AddOutput(ValueId v) { outputs_.push_back(v); }

  Value& value(ValueId id) { return values_[static_cast<size_t>(id)]; }
  const Value& value(ValueId id) const { return values_[static_cast<size_t>(id)]; }
  Node& node(NodeId id) { return nodes_[static_cast<size_t>(id)]; }
  const Node& node(NodeId id) const { return nodes_[static_cast<size_t>(id)]; }
  int32_t num_values() const { return static_cast<int32_t>(values_.size()); }
  int32_t num_nodes() const { return static_cast<int32_t>(nodes_.size()); }

  const std::vector<ValueId>& inputs() const { return inputs_; }
  const std::vector<ValueId>& outputs() const { return outputs_; }
  std::vector<ValueId>& mutable_outputs() { return outputs_; }

  // Live nodes reading `v`, once per node.
  std::vector<NodeId> Consumers(ValueId v) const;
  bool IsGraphOutput(ValueId v) const;
  bool IsGraphInput(ValueId v) const;
  // Marks a node dead; its outputs lose their producer.
  void RemoveNode(NodeId id);
  // Points every live reader of `from` (and the graph outputs) at `to`.
  void ReplaceAllUses(ValueId from, ValueId to);

  // Live nodes, producers before consumers. Internal error on a cycle.
  Result<std::vector<NodeId>> TopologicalOrder() const;
  // Structural checks: inputs exist and are produced, constants or graph
  // inputs; outputs are produced; no cycle. Errors name the node.
  Status Verify() const;
  int CountOps(OpType op) const;
  int CountLiveNodes() const;

  std::string name;
  Layout input_layout = Layout::kNCHW;  // for 4-D graph inputs

 private:
  std::vector<Value> values_;
  std::vector<Node> nodes_;
  std::vector<ValueId> inputs_;
  std::vector<ValueId> outputs_;
};

// Describes a node for error messages: "Conv node 'conv2d_1'".
std::string Describe(const Node& node);

}  // namespace kamado::ir
