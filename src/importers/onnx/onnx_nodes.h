// Internal to the ONNX importer: the symbol table of ONNX names and turning
// one NodeProto into IR nodes.
//
// An ONNX name is bound either to an IR value (an activation, or a float
// constant already added to the graph) or to a ConstTensor known at import
// time (initializers, Constant nodes, folded nodes). Float constants are
// added to the graph only when an IR node reads them; integer constants
// (shapes, axes, pads) never are.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "core/result.h"
#include "importers/onnx/onnx_tensor.h"
#include "ir/graph.h"

namespace kamado::importers::onnximport {

struct Symbol {
  ir::ValueId value = ir::kNoValue;
  std::optional<ConstTensor> constant;
};

struct ImportContext {
  ir::Graph* graph = nullptr;
  std::filesystem::path base_dir;  // for external data
  int64_t opset = 0;               // of the default domain
  // Dimension 0 of the graph input as declared (0 when symbolic). A Reshape
  // target whose dimension 0 equals it is taken to keep the batch, as in
  // PyTorch's x.reshape(1, -1) exported at batch 1.
  int64_t declared_batch = 0;
  std::map<std::string, Symbol> symbols;
};

// "node 'conv1' (Conv)", the prefix of every error about a node.
std::string DescribeNode(const ::onnx::NodeProto& node);

// Adds the nodes computing `node` (or folds it) and binds its outputs in
// ctx.symbols. Unsupported for an unknown op or an attribute value, dtype or
// shape kamado cannot run; InvalidArgument for a missing input or
// inconsistent shapes.
Status ConvertNode(const ::onnx::NodeProto& node, ImportContext& ctx);

}  // namespace kamado::importers::onnximport
