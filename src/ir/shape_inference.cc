#include "ir/shape_inference.h"

#include <string>

namespace kamado::ir {
namespace {

Status Expect(bool ok, const Node& node, const std::string& what) {
  return ok ? Status::Ok() : InvalidArgument(Describe(node) + ": " + what);
}

const Shape& InShape(const Graph& g, const Node& n, size_t i) { return g.value(n.inputs[i]).shape; }

Status Check4D(const Graph& g, const Node& n) {
  RETURN_IF_ERROR(Expect(!n.inputs.empty() && n.inputs[0] != kNoValue, n, "missing input"));
  const Shape& s = InShape(g, n, 0);
  return Expect(s.size() == 4, n, "expects a 4-D input, got " + ShapeToString(s));
}

Status WindowShape(Graph& g, const Node& n, std::array<int64_t, 2> kernel,
                   std::array<int64_t, 2> strides, std::array<int64_t, 2> dilations,
                   std::array<int64_t, 4> pads, int64_t channels) {
  const Shape& x = InShape(g, n, 0);
  for (int i = 0; i < 2; ++i) {
    RETURN_IF_ERROR(Expect(kernel[i] > 0 && strides[i] > 0 && dilations[i] > 0, n,
                           "kernel, strides and dilations must be positive"));
    RETURN_IF_ERROR(Expect(pads[i] >= 0 && pads[i + 2] >= 0, n, "pads must be non-negative"));
  }
  const int64_t oh = WindowOutputSize(x[2], kernel[0], strides[0], dilations[0], pads[0], pads[2]);
  const int64_t ow = WindowOutputSize(x[3], kernel[1], strides[1], dilations[1], pads[1], pads[3]);
  RETURN_IF_ERROR(Expect(oh > 0 && ow > 0, n,
                         "window larger than the padded input " + ShapeToString(x)));
  g.value(n.outputs[0]).shape = {x[0], channels, oh, ow};
  return Status::Ok();
}

}  // namespace

int64_t WindowOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t dilation,
                         int64_t pad_begin, int64_t pad_end) {
  const int64_t effective = (kernel - 1) * dilation + 1;
  const int64_t span = in + pad_begin + pad_end - effective;
  return span < 0 ? 0 : span / stride + 1;
}

std::array<int64_t, 2> SamePadding(int64_t in, int64_t kernel, int64_t stride, int64_t dilation) {
  const int64_t out = (in + stride - 1) / stride;
  const int64_t effective = (kernel - 1) * dilation + 1;
  const int64_t total = std::max<int64_t>((out - 1) * stride + effective - in, 0);
  return {total / 2, total - total / 2};
}

Status InferNodeShapes(Graph& g, NodeId id) {
  Node& n = g.node(id);
  RETURN_IF_ERROR(Expect(!n.outputs.empty(), n, "has no outputs"));
  for (ValueId v : n.inputs) {
    if (v != kNoValue && g.value(v).shape.empty()) {
      return InvalidArgument(Describe(n) + ": input '" + g.value(v).name + "' has no shape");
    }
  }
  Value& out = g.value(n.outputs[0]);
  switch (n.op) {
    case OpType::kConv: {
      RETURN_IF_ERROR(Check4D(g, n));
      const auto& a = n.attr<ConvAttrs>();
      RETURN_IF_ERROR(Expect(n.inputs.size() >= 2 && n.inputs[1] != kNoValue, n, "missing weight"));
      const Shape& x = InShape(g, n, 0);
      const Shape& w = InShape(g, n, 1);
      RETURN_IF_ERROR(Expect(w.size() == 4, n, "weight must be 4-D, got " + ShapeToString(w)));
      RETURN_IF_ERROR(Expect(a.group > 0 && x[1] % a.group == 0 && w[0] % a.group == 0, n,
                             "group " + std::to_string(a.group) + " does not divide channels"));
      RETURN_IF_ERROR(Expect(w[1] * a.group == x[1], n,
                             "weight " + ShapeToString(w) + " does not match input " +
                                 ShapeToString(x) + " with group " + std::to_string(a.group)));
      RETURN_IF_ERROR(Expect(w[2] == a.kernel[0] && w[3] == a.kernel[1], n,
                             "kernel attribute does not match the weight shape"));
      if (n.inputs.size() > 2 && n.inputs[2] != kNoValue) {
        const Shape& b = InShape(g, n, 2);
        RETURN_IF_ERROR(Expect(b.size() == 1 && b[0] == w[0], n, "bias must be [" +
                                                                    std::to_string(w[0]) + "]"));
      }
      RETURN_IF_ERROR(WindowShape(g, n, a.kernel, a.strides, a.dilations, a.pads, w[0]));
      if (a.HasSum()) {
        RETURN_IF_ERROR(Expect(n.inputs.size() == 4, n, "sum post-op without residual input"));
        RETURN_IF_ERROR(Expect(InShape(g, n, 3) == out.shape, n, "residual shape mismatch"));
      }
      return Status::Ok();
    }
    case OpType::kBatchNorm: {
      RETURN_IF_ERROR(Expect(n.inputs.size() == 5, n, "expects 5 inputs"));
      const Shape& x = InShape(g, n, 0);
      RETURN_IF_ERROR(Expect(x.size() >= 2, n, "expects at least a 2-D input"));
      for (size_t i = 1; i < 5; ++i) {
        RETURN_IF_ERROR(Expect(InShape(g, n, i) == Shape{x[1]}, n,
                               "parameter '" + g.value(n.inputs[i]).name + "' must be [" +
                                   std::to_string(x[1]) + "]"));
      }
      out.shape = x;
      return Status::Ok();
    }
    case OpType::kActivation:
    case OpType::kIdentity:
    case OpType::kSoftmax:
      out.shape = InShape(g, n, 0);
      if (n.op == OpType::kSoftmax) {
        const int64_t axis = n.attr<SoftmaxAttrs>().axis;
        RETURN_IF_ERROR(Expect(axis >= 0 && axis < static_cast<int64_t>(out.shape.size()), n,
                               "softmax axis out of range"));
      }
      return Status::Ok();
    case OpType::kPad: {
      RETURN_IF_ERROR(Check4D(g, n));
      const auto& p = n.attr<PadAttrs>().pads;
      const Shape& x = InShape(g, n, 0);
      for (int64_t v : p) RETURN_IF_ERROR(Expect(v >= 0, n, "negative pads are unsupported"));
      out.shape = {x[0], x[1], x[2] + p[0] + p[2], x[3] + p[1] + p[3]};
      return Status::Ok();
    }
    case OpType::kMaxPool:
    case OpType::kAvgPool: {
      RETURN_IF_ERROR(Check4D(g, n));
      const auto& a = n.attr<PoolAttrs>();
      return WindowShape(g, n, a.kernel, a.strides, {1, 1}, a.pads, InShape(g, n, 0)[1]);
    }
    case OpType::kGlobalAvgPool:
    case OpType::kGlobalMaxPool: {
      RETURN_IF_ERROR(Check4D(g, n));
      const Shape& x = InShape(g, n, 0);
      out.shape = {x[0], x[1], 1, 1};
      return Status::Ok();
    }
    case OpType::kConcat: {
      RETURN_IF_ERROR(Expect(!n.inputs.empty(), n, "has no inputs"));
      const int64_t axis = n.attr<ConcatAttrs>().axis;
      Shape s = InShape(g, n, 0);
      RETURN_IF_ERROR(Expect(axis >= 1 && axis < static_cast<int64_t>(s.size()), n,
                             "axis " + std::to_string(axis) + " out of range"));
      for (size_t i = 1; i < n.inputs.size(); ++i) {
        const Shape& t = InShape(g, n, i);
        bool match = t.size() == s.size();
        for (size_t d = 0; match && d < s.size(); ++d) {
          if (static_cast<int64_t>(d) != axis && t[d] != s[d]) match = false;
        }
        RETURN_IF_ERROR(Expect(match, n, "input " + ShapeToString(t) +
                                             " does not match " + ShapeToString(s)));
        s[static_cast<size_t>(axis)] += t[static_cast<size_t>(axis)];
      }
      out.shape = s;
      return Status::Ok();
    }
    case OpType::kFlatten: {
      const Shape& x = InShape(g, n, 0);
      RETURN_IF_ERROR(Expect(x.size() >= 2, n, "expects at least a 2-D input"));
      int64_t k = 1;
      for (size_t d = 1; d < x.size(); ++d) k *= x[d];
      out.shape = {x[0], k};
      return Status::Ok();
    }
    case OpType::kDense: {
      RETURN_IF_ERROR(Expect(n.inputs.size() >= 2, n, "missing weight"));
      const Shape& x = InShape(g, n, 0);
      const Shape& w = InShape(g, n, 1);
      RETURN_IF_ERROR(Expect(x.size() == w.size() && (x.size() == 2 || x.size() == 4), n,
                             "input " + ShapeToString(x) + " and weight " + ShapeToString(w) +
                                 " must both be 2-D or 4-D"));
      for (size_t d = 1; d < x.size(); ++d) {
        RETURN_IF_ERROR(Expect(x[d] == w[d], n, "input " + ShapeToString(x) +
                                                    " does not match weight " + ShapeToString(w)));
      }
      if (n.inputs.size() > 2 && n.inputs[2] != kNoValue) {
        RETURN_IF_ERROR(Expect(InShape(g, n, 2) == Shape{w[0]}, n, "bias shape mismatch"));
      }
      out.shape = {x[0], w[0]};
      return Status::Ok();
    }
    case OpType::kBinary: {
      RETURN_IF_ERROR(Expect(n.inputs.size() == 2, n, "expects 2 inputs"));
      const Shape& a = InShape(g, n, 0);
      const Shape& b = InShape(g, n, 1);
      bool ok = a.size() == b.size();
      // A dimension 0 of b may be fixed while a's batch is not (-1); the
      // runtime checks it against the batch it builds for.
      for (size_t d = 0; ok && d < a.size(); ++d) {
        ok = b[d] == 1 || b[d] == a[d] || (d == 0 && a[d] < 0);
      }
      RETURN_IF_ERROR(Expect(ok, n, "input " + ShapeToString(b) + " does not broadcast to " +
                                        ShapeToString(a)));
      out.shape = a;
      return Status::Ok();
    }
    case OpType::kReshape: {
      const Shape& x = InShape(g, n, 0);
      Shape s = n.attr<ReshapeAttrs>().shape;
      RETURN_IF_ERROR(Expect(!s.empty() && !x.empty(), n, "reshape of or to a scalar"));
      if (s[0] < 0 || x[0] < 0) {
        RETURN_IF_ERROR(Expect(s[0] < 0 || s[0] == x[0], n, "reshape changes the batch size"));
        s[0] = x[0];
      }
      bool positive = true;
      for (size_t d = 1; d < s.size(); ++d) positive = positive && s[d] > 0;
      RETURN_IF_ERROR(Expect(positive && NumElements(s) == NumElements(x), n,
                             "cannot reshape " + ShapeToString(x) + " to " + ShapeToString(s)));
      out.shape = s;
      return Status::Ok();
    }
    case OpType::kTranspose: {
      const Shape& x = InShape(g, n, 0);
      const auto& perm = n.attr<TransposeAttrs>().perm;
      bool ok = perm.size() == x.size() && !perm.empty() && perm[0] == 0;
      std::vector<bool> seen(x.size(), false);
      for (size_t i = 0; ok && i < perm.size(); ++i) {
        ok = perm[i] >= 0 && perm[i] < static_cast<int64_t>(x.size()) &&
             !seen[static_cast<size_t>(perm[i])];
        if (ok) seen[static_cast<size_t>(perm[i])] = true;
      }
      RETURN_IF_ERROR(Expect(ok, n, "perm is not a permutation of " + ShapeToString(x) +
                                        " that keeps the batch axis first"));
      Shape s(x.size());
      for (size_t i = 0; i < perm.size(); ++i) s[i] = x[static_cast<size_t>(perm[i])];
      out.shape = s;
      return Status::Ok();
    }
    case OpType::kSlice: {
      const Shape& x = InShape(g, n, 0);
      const auto& a = n.attr<SliceAttrs>();
      bool ok = !x.empty() && a.starts.size() == x.size() && a.sizes.size() == x.size() &&
                a.starts[0] == 0 && a.sizes[0] == -1;
      for (size_t d = 1; ok && d < x.size(); ++d) {
        ok = a.starts[d] >= 0 && a.sizes[d] > 0 && a.starts[d] + a.sizes[d] <= x[d];
      }
      RETURN_IF_ERROR(Expect(ok, n, "starts " + ShapeToString(a.starts) + " sizes " +
                                        ShapeToString(a.sizes) + " are not a box of " +
                                        ShapeToString(x) + " with the whole batch"));
      Shape s = a.sizes;
      s[0] = x[0];
      out.shape = s;
      return Status::Ok();
    }
    case OpType::kLayerNorm: {
      RETURN_IF_ERROR(Expect(n.inputs.size() == 3 && n.inputs[1] != kNoValue && n.inputs[2] != kNoValue,
                             n, "expects x, gamma and beta"));
      const Shape& x = InShape(g, n, 0);
      const int64_t axis = n.attr<LayerNormAttrs>().axis;
      RETURN_IF_ERROR(Expect(x.size() >= 2 && axis >= 1 && axis < static_cast<int64_t>(x.size()), n,
                             "axis " + std::to_string(axis) + " is not a non-batch axis of " +
                                 ShapeToString(x)));
      const int64_t c = x[static_cast<size_t>(axis)];
      for (size_t i = 1; i < 3; ++i) {
        RETURN_IF_ERROR(Expect(InShape(g, n, i) == Shape{c}, n,
                               "parameter '" + g.value(n.inputs[i]).name + "' must be [" +
                                   std::to_string(c) + "]"));
      }
      out.shape = x;
      return Status::Ok();
    }
  }
  return Internal(Describe(n) + ": no shape rule");
}

Status InferShapes(Graph& graph) {
  ASSIGN_OR_RETURN(auto order, graph.TopologicalOrder());
  for (NodeId id : order) RETURN_IF_ERROR(InferNodeShapes(graph, id));
  return Status::Ok();
}

}  // namespace kamado::ir
