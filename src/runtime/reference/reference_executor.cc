#include "runtime/reference/reference_executor.h"

#include <optional>
#include <string>
#include <variant>

#include "runtime/reference/reference_kernels.h"

namespace kamado::reference {
namespace {

using ir::Graph;
using ir::Node;
using ir::OpType;
using ir::ValueId;

// Computed activations by value id; constants are read from the graph.
using Values = std::vector<std::optional<Tensor>>;

bool IsNhwc4D(const Graph& graph, const Shape& shape) {
  return graph.input_layout == Layout::kNHWC && shape.size() == 4;
}

Status CheckInput(const Graph& graph, ValueId id, const Tensor& t) {
  const ir::Value& value = graph.value(id);
  Shape expected = value.shape;
  const bool nhwc = IsNhwc4D(graph, expected);
  if (nhwc) expected = {expected[0], expected[2], expected[3], expected[1]};
  const Shape& got = t.shape();
  bool match = got.size() == expected.size();
  for (size_t d = 0; match && d < got.size(); ++d) {
    match = got[d] >= 0 && (expected[d] < 0 || expected[d] == got[d]);
  }
  if (!match) {
    return InvalidArgument("input '" + value.name + "': expected shape " + ShapeToString(expected) +
                           (nhwc ? " (NHWC)" : "") + ", got " + ShapeToString(got));
  }
  if (t.size() != NumElements(got)) {
    return InvalidArgument("input '" + value.name + "': tensor holds " + std::to_string(t.size()) +
                           " values, shape " + ShapeToString(got) + " needs " +
                           std::to_string(NumElements(got)));
  }
  return Status::Ok();
}

template <typename T>
Result<const T*> AttrsOf(const Node& node) {
  const T* attrs = std::get_if<T>(&node.attrs);
  if (attrs == nullptr) return InvalidArgument("missing or mismatched attributes");
  return attrs;
}

class NodeRunner {
 public:
  NodeRunner(const Graph& graph, const Values& values) : graph_(graph), values_(values) {}

  Result<Tensor> Run(const Node& n) {
    switch (n.op) {
      case OpType::kConv: {
        ASSIGN_OR_RETURN(auto a, AttrsOf<ir::ConvAttrs>(n));
        ASSIGN_OR_RETURN(auto x, Input(n, 0));
        ASSIGN_OR_RETURN(auto w, Input(n, 1));
        ASSIGN_OR_RETURN(auto b, Optional(n, 2));
        const Tensor* residual = nullptr;
        if (a->HasSum()) {
          ASSIGN_OR_RETURN(residual, Input(n, 3));
        }
        return Conv2D(*x, *w, b, *a, residual);
      }
      case OpType::kBatchNorm: {
        ASSIGN_OR_RETURN(auto a, AttrsOf<ir::BatchNormAttrs>(n));
        ASSIGN_OR_RETURN(auto x, Input(n, 0));
        ASSIGN_OR_RETURN(auto gamma, Input(n, 1));
        ASSIGN_OR_RETURN(auto beta, Input(n, 2));
        ASSIGN_OR_RETURN(auto mean, Input(n, 3));
        ASSIGN_OR_RETURN(auto variance, Input(n, 4));
        return BatchNorm(*x, *gamma, *beta, *mean, *variance, *a);
      }
      case OpType::kActivation: {
        ASSIGN_OR_RETURN(auto a, AttrsOf<ir::ActivationAttrs>(n));
        ASSIGN_OR_RETURN(auto x, Input(n, 0));
        return Activation(*x, a->activation);
      }
      case OpType::kPad: {
        ASSIGN_OR_RETURN(auto a, AttrsOf<ir::PadAttrs>(n));
        ASSIGN_OR_RETURN(auto x, Input(n, 0));
        return Pad(*x, *a);
      }
      case OpType::kMaxPool:
      case OpType::kAvgPool: {
        ASSIGN_OR_RETURN(auto a, AttrsOf<ir::PoolAttrs>(n));
        ASSIGN_OR_RETURN(auto x, Input(n, 0));
        return n.op == OpType::kMaxPool ? MaxPool(*x, *a) : AvgPool(*x, *a);
      }
      case OpType::kGlobalAvgPool: {
        ASSIGN_OR_RETURN(auto x, Input(n, 0));
        return GlobalAvgPool(*x);
      }
      case OpType::kConcat: {
        ASSIGN_OR_RETURN(auto a, AttrsOf<ir::ConcatAttrs>(n));
        std::vector<Tensor> srcs;  // copies share storage; no data is copied
        for (size_t i = 0; i < n.inputs.size(); ++i) {
          ASSIGN_OR_RETURN(auto x, Input(n, i));
          srcs.push_back(*x);
        }
        return Concat(srcs, *a);
      }
      case OpType::kFlatten: {
        ASSIGN_OR_RETURN(auto a, AttrsOf<ir::FlattenAttrs>(n));
        ASSIGN_OR_RETURN(auto x, Input(n, 0));
        return Flatten(*x, *a);
      }
      case OpType::kDense: {
        ASSIGN_OR_RETURN(auto a, AttrsOf<ir::DenseAttrs>(n));
        ASSIGN_OR_RETURN(auto x, Input(n, 0));
        ASSIGN_OR_RETURN(auto w, Input(n, 1));
        ASSIGN_OR_RETURN(auto b, Optional(n, 2));
        return Dense(*x, *w, b, *a);
      }
      case OpType::kSoftmax: {
        ASSIGN_OR_RETURN(auto a, AttrsOf<ir::SoftmaxAttrs>(n));
        ASSIGN_OR_RETURN(auto x, Input(n, 0));
        return Softmax(*x, *a);
      }
      case OpType::kIdentity: {
        ASSIGN_OR_RETURN(auto x, Input(n, 0));
        return *x;  // shares storage; nothing downstream writes to its inputs
      }
      case OpType::kBinary: {
        ASSIGN_OR_RETURN(auto attrs, AttrsOf<ir::BinaryAttrs>(n));
        ASSIGN_OR_RETURN(auto a, Input(n, 0));
        ASSIGN_OR_RETURN(auto b, Input(n, 1));
        return Binary(*a, *b, *attrs);
      }
      case OpType::kGlobalMaxPool: {
        ASSIGN_OR_RETURN(auto x, Input(n, 0));
        return GlobalMaxPool(*x);
      }
      case OpType::kReshape: {
        ASSIGN_OR_RETURN(auto a, AttrsOf<ir::ReshapeAttrs>(n));
        ASSIGN_OR_RETURN(auto x, Input(n, 0));
        return Reshape(*x, *a);
      }
      case OpType::kTranspose: {
        ASSIGN_OR_RETURN(auto a, AttrsOf<ir::TransposeAttrs>(n));
        ASSIGN_OR_RETURN(auto x, Input(n, 0));
        return Transpose(*x, *a);
      }
      case OpType::kSlice: {
        ASSIGN_OR_RETURN(auto a, AttrsOf<ir::SliceAttrs>(n));
        ASSIGN_OR_RETURN(auto x, Input(n, 0));
        return Slice(*x, *a);
      }
      case OpType::kLayerNorm: {
        ASSIGN_OR_RETURN(auto a, AttrsOf<ir::LayerNormAttrs>(n));
        ASSIGN_OR_RETURN(auto x, Input(n, 0));
        ASSIGN_OR_RETURN(auto gamma, Input(n, 1));
        ASSIGN_OR_RETURN(auto beta, Input(n, 2));
        return LayerNorm(*x, *gamma, *beta, *a);
      }
    }
    return Unsupported("no reference kernel");
  }

 private:
  // Input `i` of `n`, or null when it is absent (past the end or kNoValue).
  Result<const Tensor*> Optional(const Node& n, size_t i) {
    if (i >= n.inputs.size() || n.inputs[i] == ir::kNoValue) {
      return static_cast<const Tensor*>(nullptr);
    }
    const ValueId v = n.inputs[i];
    if (v < 0 || v >= graph_.num_values()) {
      return InvalidArgument("input " + std::to_string(i) + " is not a value");
    }
    const auto& computed = values_[static_cast<size_t>(v)];
    if (computed.has_value()) return &*computed;
    const ir::Value& value = graph_.value(v);
    if (value.is_constant()) return &*value.constant;
    return InvalidArgument("input '" + value.name + "' is neither computed nor a constant");
  }

  Result<const Tensor*> Input(const Node& n, size_t i) {
    ASSIGN_OR_RETURN(const Tensor* t, Optional(n, i));
    if (t == nullptr) return InvalidArgument("missing input " + std::to_string(i));
    return t;
  }

  const Graph& graph_;
  const Values& values_;
};

}  // namespace

Result<std::vector<Tensor>> RunReference(const Graph& graph, const std::vector<Tensor>& inputs) {
  const std::vector<ValueId>& graph_inputs = graph.inputs();
  if (inputs.size() != graph_inputs.size()) {
    std::string names;
    for (ValueId v : graph_inputs)
      names += (names.empty() ? "'" : ", '") + graph.value(v).name + "'";
    return InvalidArgument("graph '" + graph.name + "' expects " +
                           std::to_string(graph_inputs.size()) + " inputs (" + names + "), got " +
                           std::to_string(inputs.size()));
  }

  Values values(static_cast<size_t>(graph.num_values()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const ValueId v = graph_inputs[i];
    RETURN_IF_ERROR(CheckInput(graph, v, inputs[i]));
    if (IsNhwc4D(graph, inputs[i].shape())) {
      ASSIGN_OR_RETURN(values[static_cast<size_t>(v)], NhwcToNchw(inputs[i]));
    } else {
      values[static_cast<size_t>(v)] = inputs[i];
    }
  }

  ASSIGN_OR_RETURN(auto order, graph.TopologicalOrder());
  // Reads left of each value (graph outputs hold one for good), so that an
  // activation is freed after its last consumer: peak memory stays near the
  // widest cut of the graph rather than the sum of all activations.
  std::vector<int> reads_left(values.size(), 0);
  for (ir::NodeId id : order) {
    for (ValueId v : graph.node(id).inputs) {
      if (v >= 0 && v < graph.num_values()) ++reads_left[static_cast<size_t>(v)];
    }
  }
  for (ValueId v : graph.outputs()) ++reads_left[static_cast<size_t>(v)];

  NodeRunner runner(graph, values);
  for (ir::NodeId id : order) {
    const Node& node = graph.node(id);
    if (node.outputs.empty()) return InvalidArgument(ir::Describe(node) + ": has no outputs");
    Result<Tensor> dst = runner.Run(node);
    if (!dst.ok()) return dst.status().WithPrefix(ir::Describe(node));
    values[static_cast<size_t>(node.outputs[0])] = std::move(dst).value();
    for (ValueId v : node.inputs) {
      if (v >= 0 && v < graph.num_values() && --reads_left[static_cast<size_t>(v)] == 0) {
        values[static_cast<size_t>(v)].reset();
      }
    }
  }

  std::vector<Tensor> outputs;
  for (ValueId v : graph.outputs()) {
    const auto& computed = values[static_cast<size_t>(v)];
    const ir::Value& value = graph.value(v);
    if (!computed.has_value() && !value.is_constant()) {
      return Internal("graph output '" + value.name + "' was not computed");
    }
    const Tensor& t = computed.has_value() ? *computed : *value.constant;
    if (IsNhwc4D(graph, t.shape())) {
      ASSIGN_OR_RETURN(auto nhwc, NchwToNhwc(t));
      outputs.push_back(std::move(nhwc));
    } else {
      outputs.push_back(t.Clone());
    }
  }
  return outputs;
}

}  // namespace kamado::reference
