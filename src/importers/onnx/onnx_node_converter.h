// Internal to the ONNX importer: NodeConverter turns one NodeProto into IR
// nodes (or folds it into a constant). Its helpers for attributes, inputs and
// outputs live here; the converters are defined by op family in
// onnx_nodes_{conv,elementwise,dense,shape}.cc and dispatched from
// onnx_nodes.cc. One converter per node; not thread-safe (it writes
// ctx.symbols and ctx.graph).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "importers/onnx/onnx_nodes.h"
#include "ir/shape_inference.h"

namespace kamado::importers::onnximport {

class NodeConverter {
 public:
  using AP = ::onnx::AttributeProto;
  using OpType = ir::OpType;
  using ValueId = ir::ValueId;

  NodeConverter(const ::onnx::NodeProto& node, ImportContext& ctx)
      : node_(node), ctx_(ctx), g_(*ctx.graph), where_(DescribeNode(node)) {}

  Status Convert();

 private:
  // --- attributes ----------------------------------------------------------

  const AP* Attr(std::string_view name) const {
    for (const AP& a : node_.attribute()) {
      if (a.name() == name) return &a;
    }
    return nullptr;
  }
  Status NotSupported(std::string_view name, const std::string& shown,
                      std::string_view why = "") const {
    return Unsupported(where_ + ": attribute " + std::string(name) + "=" + shown +
                       " is not supported" + (why.empty() ? "" : " (" + std::string(why) + ")"));
  }
  Status WrongType(std::string_view name) const {
    return InvalidArgument(where_ + ": attribute " + std::string(name) + " has the wrong type");
  }
  Result<int64_t> Int(std::string_view name, int64_t fallback) const {
    const AP* a = Attr(name);
    if (a == nullptr) return fallback;
    if (a->type() != AP::INT) return WrongType(name);
    return a->i();
  }
  Result<float> Float(std::string_view name, float fallback) const {
    const AP* a = Attr(name);
    if (a == nullptr) return fallback;
    if (a->type() != AP::FLOAT) return WrongType(name);
    return a->f();
  }
  Result<std::string> String(std::string_view name, std::string fallback) const {
    const AP* a = Attr(name);
    if (a == nullptr) return fallback;
    if (a->type() != AP::STRING) return WrongType(name);
    return a->s();
  }
  Result<std::vector<int64_t>> Ints(std::string_view name, std::vector<int64_t> fallback) const {
    const AP* a = Attr(name);
    if (a == nullptr) return fallback;
    if (a->type() != AP::INTS) return WrongType(name);
    return std::vector<int64_t>(a->ints().begin(), a->ints().end());
  }
  static std::string Quote(const std::string& v) {
    std::string s = "'";  // GCC 12 warns (-Wrestrict) on "'" + std::string
    s += v;
    s += '\'';
    return s;
  }
  static std::string Show(const std::vector<int64_t>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) {
      if (i > 0) s += ',';  // not "," + std::to_string: GCC 12's -Wrestrict false positive
      s += std::to_string(v[i]);
    }
    return s + "]";
  }

  // --- inputs --------------------------------------------------------------

  bool HasInput(int i) const { return node_.input_size() > i && !node_.input(i).empty(); }
  Result<const Symbol*> Sym(int i) const {
    if (!HasInput(i)) return InvalidArgument(where_ + ": missing input " + std::to_string(i));
    const auto it = ctx_.symbols.find(node_.input(i));
    if (it == ctx_.symbols.end()) {
      return InvalidArgument(where_ + ": input '" + node_.input(i) +
                             "' is not produced by any node, input or initializer");
    }
    return &it->second;
  }
  bool IsConst(int i) const {
    if (!HasInput(i)) return false;
    const auto it = ctx_.symbols.find(node_.input(i));
    return it != ctx_.symbols.end() && it->second.constant.has_value();
  }
  // The import-time value of input `i`; Unsupported when it is computed at run time.
  Result<const ConstTensor*> Const(int i, std::string_view role) const {
    ASSIGN_OR_RETURN(const Symbol* s, Sym(i));
    if (!s->constant) {
      return Unsupported(where_ + ": input " + std::string(role) + " ('" + node_.input(i) +
                         "') must be a constant (initializer or Constant)");
    }
    return &*s->constant;
  }
  // `batch_ok`: the value may hold kBatchDim (a Reshape's target shape).
  Result<std::vector<int64_t>> ConstInts(int i, std::string_view role,
                                         bool batch_ok = false) const {
    ASSIGN_OR_RETURN(const ConstTensor* c, Const(i, role));
    if (!c->integer) {
      return InvalidArgument(where_ + ": input " + std::string(role) + " must be int64");
    }
    if (!batch_ok && c->HasBatchDim()) return DependsOnBatch(role);
    return c->ints;
  }
  Status DependsOnBatch(std::string_view what) const {
    return Unsupported(where_ + ": " + std::string(what) +
                       " depends on the batch size, which kamado knows only when it builds the "
                       "plan for a batch; only a Reshape may keep it as its dimension 0");
  }
  Result<const ConstTensor*> ConstFloat(int i, std::string_view role) const {
    ASSIGN_OR_RETURN(const ConstTensor* c, Const(i, role));
    if (c->integer) {
      return Unsupported(where_ + ": input " + std::string(role) + " ('" + node_.input(i) +
                         "') has an integer dtype; only float32 is supported");
    }
    return c;
  }
  // Input `i` as an IR value (adding a float constant to the graph on first use).
  Result<ValueId> Value(int i) {
    ASSIGN_OR_RETURN(const Symbol* cs, Sym(i));
    Symbol& s = const_cast<Symbol&>(*cs);
    if (s.value != ir::kNoValue) return s.value;
    if (s.constant->integer) {
      return Unsupported(where_ + ": input '" + node_.input(i) +
                         "' has an integer dtype; only float32 is supported");
    }
    s.value = g_.AddConstant(node_.input(i), s.constant->ToTensor());
    return s.value;
  }
  // Input `i`, which must be computed at run time (not a constant).
  Result<ValueId> Activation(int i, size_t rank = 0) {
    ASSIGN_OR_RETURN(const Symbol* s, Sym(i));
    if (s->constant) {
      return Unsupported(where_ + ": a constant input '" + node_.input(i) +
                         "' here is not supported");
    }
    const Shape& shape = g_.value(s->value).shape;
    if (rank != 0 && shape.size() != rank) {
      return Unsupported(where_ + ": expects a " + std::to_string(rank) + "-D input, got " +
                         ShapeToString(shape));
    }
    return s->value;
  }
  const Shape& ShapeOf(ValueId v) const { return g_.value(v).shape; }
  ValueId AddConst(const std::string& name, Tensor t) { return g_.AddConstant(name, std::move(t)); }

  // --- outputs -------------------------------------------------------------

  // Adds an IR node; the last one of a node is named after the ONNX node and
  // its value after the ONNX output, intermediate ones "<output>/<role>".
  Result<ValueId> Emit(OpType op, std::vector<ValueId> in, ir::Attrs attrs,
                       std::string_view role = "") {
    const std::string out_name = node_.output(0);
    const std::string node_name = node_.name().empty() ? out_name : node_.name();
    const bool last = role.empty();
    const ValueId out = g_.AddValue(last ? out_name : out_name + "/" + std::string(role));
    const ir::NodeId id = g_.AddNode(last ? node_name : node_name + "/" + std::string(role), op,
                                     std::move(in), {out}, std::move(attrs));
    RETURN_IF_ERROR(ir::InferNodeShapes(g_, id).WithPrefix(where_));
    if (last) ctx_.symbols[out_name] = Symbol{out, std::nullopt};
    return out;
  }
  Status Done(Result<ValueId> r) { return r.status(); }
  Status Fold(ConstTensor c) {
    ctx_.symbols[node_.output(0)] = Symbol{ir::kNoValue, std::move(c)};
    return Status::Ok();
  }
  // Batch-preserving reshape of activation `x` to `shape` (shape[0] = -1).
  Status EmitReshape(ValueId x, Shape shape) {
    return Done(Emit(OpType::kReshape, {x}, ir::ReshapeAttrs{std::move(shape)}));
  }
  // Input 0 given the full shape `out`: a constant is folded, an activation
  // reshaped (Squeeze and Unsqueeze, which never touch the batch axis here).
  Status ReshapeInput0To(const Symbol& s, Shape out) {
    if (s.constant) {
      ConstTensor r = *s.constant;
      r.shape = std::move(out);
      return Fold(std::move(r));
    }
    ASSIGN_OR_RETURN(ValueId x, Activation(0));
    return EmitReshape(x, std::move(out));
  }

  // Normalises a possibly negative axis against `rank`.
  Result<int64_t> Axis(int64_t axis, size_t rank, std::string_view name) const {
    const auto r = static_cast<int64_t>(rank);
    const int64_t a = axis < 0 ? axis + r : axis;
    if (a < 0 || a >= r) {
      return InvalidArgument(where_ + ": " + std::string(name) + " " + std::to_string(axis) +
                             " out of range for rank " + std::to_string(rank));
    }
    return a;
  }

  // --- onnx_nodes_conv.cc: Conv, BatchNormalization, pooling, reductions
  // Window attributes as {H, W}; `one_d` reads the 1-D form ([L] and pads
  // [begin, end]) as a window of height 1.
  Result<std::array<int64_t, 4>> WindowPads(const Shape& x, std::array<int64_t, 2> kernel,
                                            std::array<int64_t, 2> strides,
                                            std::array<int64_t, 2> dilations,
                                            bool one_d = false) const;
  Result<std::array<int64_t, 2>> Pair(std::string_view name, std::vector<int64_t> fallback,
                                      bool one_d = false) const;
  Status Conv();
  Status BatchNormalization();
  Status LayerNormalization();
  Status Pool();
  Status GlobalPool();
  Status Reduce();

  // --- onnx_nodes_elementwise.cc: activations, Clip, Add/Sub/Mul/Div, Sum/Mean, Softmax
  Status ActivationOp();
  Status Clip();
  Status BinaryOp();
  Status Pow();
  Status FoldBinary(const ir::BinaryAttrs& attrs, const ConstTensor& a, const ConstTensor& b);
  Status SumOrMean();
  Status Softmax();

  // --- onnx_nodes_dense.cc: Gemm, MatMul
  // Dense from a 2-D activation and a constant [N, K] weight.
  Status EmitDense(ValueId x, Tensor weight, std::optional<Tensor> bias);
  static Tensor Transposed2D(const ConstTensor& b, float scale);  // [K, N] -> [N, K]
  Status Gemm();
  // C with a row (batch) dimension, [M, N] or [M, 1]: a Dense without bias,
  // then a Binary add of β·C, whose first dimension must equal the batch size
  // the plan is built for.
  Status GemmWithRowBias(ValueId x, Tensor w, const ConstTensor& c, float beta);
  Status MatMul();

  // --- onnx_nodes_shape.cc: Concat, Flatten, Reshape, Squeeze, Unsqueeze, Transpose, Pad,
  // Identity, Constant
  Status Concat();
  Status Flatten();
  // Resolves an ONNX target shape (0 = copy, -1 = infer) for an input whose
  // dimension 0 is the batch; the result keeps -1 at dimension 0.
  Result<Shape> BatchShape(const Shape& xs, std::vector<int64_t> t, bool allow_zero) const;
  // Constant reshape with ONNX's full semantics.
  Result<ConstTensor> FoldReshape(const ConstTensor& c, std::vector<int64_t> t, bool allow_zero);
  Status Reshape();
  Result<std::vector<int64_t>> AxesArg() const;
  Status Squeeze();
  Status Unsqueeze();
  Status Transpose();
  Status Pad();
  Status Identity();
  Status Constant();
  // Shape arithmetic, folded at import time (kBatchDim stands for the batch).
  Status ShapeOp();
  Status Gather();
  Status Cast();
  Status Slice();
  Status ConstantOfShape();
  Status Range();

  const ::onnx::NodeProto& node_;
  ImportContext& ctx_;
  ir::Graph& g_;
  const std::string where_;
};

}  // namespace kamado::importers::onnximport
