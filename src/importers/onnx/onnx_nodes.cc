#include "importers/onnx/onnx_nodes.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>

#include "ir/shape_inference.h"

namespace kamado::importers::onnximport {
namespace {

using ir::OpType;
using ir::ValueId;
using AP = ::onnx::AttributeProto;

std::vector<int64_t> RowMajorStrides(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (size_t d = s.size(); d-- > 1;) st[d - 1] = st[d] * s[d];
  return st;
}

// ONNX (numpy) broadcast of two shapes; nullopt when they do not broadcast.
std::optional<Shape> BroadcastShape(const Shape& a, const Shape& b) {
  const size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    const int64_t x = i < r - a.size() ? 1 : a[i - (r - a.size())];
    const int64_t y = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (x != y && x != 1 && y != 1) return std::nullopt;
    out[i] = x == 1 ? y : x;
  }
  return out;
}

// Index into a tensor of shape `s` (right-aligned in `out`) for the flat
// output index `i`, with broadcast axes pinned to 0.
int64_t BroadcastIndex(int64_t i, const Shape& out, const std::vector<int64_t>& out_strides,
                       const Shape& s) {
  const size_t off = out.size() - s.size();
  int64_t j = 0, stride = 1;
  for (size_t d = out.size(); d-- > off;) {
    const int64_t coord = (i / out_strides[d]) % out[d];
    const int64_t dim = s[d - off];
    if (dim != 1) j += coord * stride;
    stride *= dim;
  }
  return j;
}

class NodeConverter {
 public:
  NodeConverter(const ::onnx::NodeProto& node, ImportContext& ctx)
      : node_(node), ctx_(ctx), g_(*ctx.graph), where_(DescribeNode(node)) {}

  Status Convert() {
    using Method = Status (NodeConverter::*)();
    static const std::map<std::string, Method, std::less<>> kConverters = {
        {"Conv", &NodeConverter::Conv},
        {"BatchNormalization", &NodeConverter::BatchNormalization},
        {"Relu", &NodeConverter::ActivationOp},
        {"Sigmoid", &NodeConverter::ActivationOp},
        {"Tanh", &NodeConverter::ActivationOp},
        {"LeakyRelu", &NodeConverter::ActivationOp},
        {"Elu", &NodeConverter::ActivationOp},
        {"HardSigmoid", &NodeConverter::ActivationOp},
        {"HardSwish", &NodeConverter::ActivationOp},
        {"Clip", &NodeConverter::Clip},
        {"Add", &NodeConverter::BinaryOp},
        {"Sub", &NodeConverter::BinaryOp},
        {"Mul", &NodeConverter::BinaryOp},
        {"Div", &NodeConverter::BinaryOp},
        {"Concat", &NodeConverter::Concat},
        {"MaxPool", &NodeConverter::Pool},
        {"AveragePool", &NodeConverter::Pool},
        {"GlobalAveragePool", &NodeConverter::GlobalPool},
        {"GlobalMaxPool", &NodeConverter::GlobalPool},
        {"ReduceMean", &NodeConverter::ReduceMean},
        {"Gemm", &NodeConverter::Gemm},
        {"MatMul", &NodeConverter::MatMul},
        {"Flatten", &NodeConverter::Flatten},
        {"Reshape", &NodeConverter::Reshape},
        {"Squeeze", &NodeConverter::Squeeze},
        {"Unsqueeze", &NodeConverter::Unsqueeze},
        {"Transpose", &NodeConverter::Transpose},
        {"Pad", &NodeConverter::Pad},
        {"Softmax", &NodeConverter::Softmax},
        {"Identity", &NodeConverter::Identity},
        {"Dropout", &NodeConverter::Identity},
        {"Constant", &NodeConverter::Constant},
    };
    const std::string& domain = node_.domain();
    const auto it = kConverters.find(node_.op_type());
    if (it == kConverters.end() || !(domain.empty() || domain == "ai.onnx")) {
      return Unsupported(where_ + ": op type '" +
                         (domain.empty() ? "" : domain + ".") + node_.op_type() +
                         "' is not supported");
    }
    for (int i = 1; i < node_.output_size(); ++i) {
      if (!node_.output(i).empty()) {
        return Unsupported(where_ + ": output " + std::to_string(i) + " ('" + node_.output(i) +
                           "') is not supported; only the first output is");
      }
    }
    if (Attr("consumed_inputs") != nullptr) {
      return NotSupported("consumed_inputs", "set", "opset < 7 legacy attribute");
    }
    if (node_.output_size() < 1 || node_.output(0).empty()) {
      return InvalidArgument(where_ + ": has no output");
    }
    return (this->*(it->second))();
  }

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
    for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
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
  Result<std::vector<int64_t>> ConstInts(int i, std::string_view role) const {
    ASSIGN_OR_RETURN(const ConstTensor* c, Const(i, role));
    if (!c->integer) {
      return InvalidArgument(where_ + ": input " + std::string(role) + " must be int64");
    }
    return c->ints;
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

  // --- converters ----------------------------------------------------------

  Result<std::array<int64_t, 4>> WindowPads(const Shape& x, std::array<int64_t, 2> kernel,
                                            std::array<int64_t, 2> strides,
                                            std::array<int64_t, 2> dilations) const {
    ASSIGN_OR_RETURN(std::string auto_pad, String("auto_pad", "NOTSET"));
    if (auto_pad == "NOTSET") {
      ASSIGN_OR_RETURN(auto pads, Ints("pads", {0, 0, 0, 0}));
      if (pads.size() != 4) return NotSupported("pads", Show(pads), "2-D windows only");
      for (int64_t p : pads) {
        if (p < 0) return NotSupported("pads", Show(pads), "negative pads");
      }
      return std::array<int64_t, 4>{pads[0], pads[1], pads[2], pads[3]};
    }
    if (auto_pad == "VALID") return std::array<int64_t, 4>{0, 0, 0, 0};
    if (auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER") {
      return NotSupported("auto_pad", Quote(auto_pad));
    }
    std::array<int64_t, 4> pads{};
    for (int i = 0; i < 2; ++i) {
      auto p = ir::SamePadding(x[2 + i], kernel[i], strides[i], dilations[i]);
      if (auto_pad == "SAME_LOWER") std::swap(p[0], p[1]);  // the extra pixel goes first
      pads[i] = p[0];
      pads[i + 2] = p[1];
    }
    return pads;
  }
  Result<std::array<int64_t, 2>> Pair(std::string_view name, std::vector<int64_t> fallback) const {
    ASSIGN_OR_RETURN(auto v, Ints(name, fallback));
    if (v.size() != 2) return NotSupported(name, Show(v), "2-D windows only");
    return std::array<int64_t, 2>{v[0], v[1]};
  }

  Status Conv() {
    ASSIGN_OR_RETURN(ValueId x, Activation(0));
    const Shape& xs = ShapeOf(x);
    if (xs.size() != 4) {
      return Unsupported(where_ + ": " + std::to_string(static_cast<int>(xs.size()) - 2) +
                         "-D convolution is not supported (2-D only)");
    }
    ASSIGN_OR_RETURN(const ConstTensor* w, ConstFloat(1, "W"));
    if (w->shape.size() != 4) return InvalidArgument(where_ + ": W must be 4-D");
    ir::ConvAttrs a;
    ASSIGN_OR_RETURN(a.kernel, Pair("kernel_shape", {w->shape[2], w->shape[3]}));
    ASSIGN_OR_RETURN(a.strides, Pair("strides", {1, 1}));
    ASSIGN_OR_RETURN(a.dilations, Pair("dilations", {1, 1}));
    ASSIGN_OR_RETURN(a.group, Int("group", 1));
    ASSIGN_OR_RETURN(a.pads, WindowPads(xs, a.kernel, a.strides, a.dilations));
    std::vector<ValueId> in{x};
    ASSIGN_OR_RETURN(ValueId wv, Value(1));
    in.push_back(wv);
    if (HasInput(2)) {
      ASSIGN_OR_RETURN(const ConstTensor* b, ConstFloat(2, "B"));
      (void)b;
      ASSIGN_OR_RETURN(ValueId bv, Value(2));
      in.push_back(bv);
    } else {
      in.push_back(ir::kNoValue);
    }
    return Done(Emit(OpType::kConv, std::move(in), a));
  }

  Status BatchNormalization() {
    ASSIGN_OR_RETURN(ValueId x, Activation(0));
    ASSIGN_OR_RETURN(int64_t training, Int("training_mode", 0));
    if (training != 0) return NotSupported("training_mode", std::to_string(training));
    ASSIGN_OR_RETURN(int64_t spatial, Int("spatial", 1));
    if (spatial != 1) return NotSupported("spatial", std::to_string(spatial));
    ASSIGN_OR_RETURN(float eps, Float("epsilon", 1e-5f));
    std::vector<ValueId> in{x};
    static const char* kRoles[] = {"scale", "B", "mean", "var"};
    for (int i = 1; i <= 4; ++i) {
      ASSIGN_OR_RETURN(const ConstTensor* c, ConstFloat(i, kRoles[i - 1]));
      (void)c;
      ASSIGN_OR_RETURN(ValueId v, Value(i));
      in.push_back(v);
    }
    return Done(Emit(OpType::kBatchNorm, std::move(in), ir::BatchNormAttrs{eps}));
  }

  Status ActivationOp() {
    using K = ir::ActivationKind;
    ASSIGN_OR_RETURN(ValueId x, Activation(0));
    const std::string& op = node_.op_type();
    ir::Activation act;
    if (op == "Relu") {
      act = {K::kRelu};
    } else if (op == "Sigmoid") {
      act = {K::kSigmoid};
    } else if (op == "Tanh") {
      act = {K::kTanh};
    } else if (op == "HardSwish") {
      act = {K::kHardSwish};
    } else if (op == "LeakyRelu") {
      ASSIGN_OR_RETURN(float alpha, Float("alpha", 0.01f));
      act = {K::kLeakyRelu, alpha};
    } else if (op == "Elu") {
      ASSIGN_OR_RETURN(float alpha, Float("alpha", 1.0f));
      act = {K::kElu, alpha};
    } else {  // HardSigmoid
      ASSIGN_OR_RETURN(float alpha, Float("alpha", 0.2f));
      ASSIGN_OR_RETURN(float beta, Float("beta", 0.5f));
      act = {K::kHardSigmoid, alpha, beta};
    }
    return Done(Emit(OpType::kActivation, {x}, ir::ActivationAttrs{act}));
  }

  Status Clip() {
    ASSIGN_OR_RETURN(ValueId x, Activation(0));
    float lo = std::numeric_limits<float>::lowest();
    float hi = std::numeric_limits<float>::max();
    if (ctx_.opset < 11) {
      ASSIGN_OR_RETURN(lo, Float("min", lo));
      ASSIGN_OR_RETURN(hi, Float("max", hi));
    } else {
      for (int i = 1; i <= 2; ++i) {
        if (!HasInput(i)) continue;
        ASSIGN_OR_RETURN(const ConstTensor* c, ConstFloat(i, i == 1 ? "min" : "max"));
        if (c->size() != 1) return InvalidArgument(where_ + ": min and max must be scalars");
        (i == 1 ? lo : hi) = c->floats[0];
      }
    }
    return Done(Emit(OpType::kActivation, {x},
                     ir::ActivationAttrs{{ir::ActivationKind::kClip, lo, hi}}));
  }

  Status BinaryOp() {
    static const std::map<std::string, ir::BinaryKind, std::less<>> kKinds = {
        {"Add", ir::BinaryKind::kAdd},
        {"Sub", ir::BinaryKind::kSub},
        {"Mul", ir::BinaryKind::kMul},
        {"Div", ir::BinaryKind::kDiv}};
    const ir::BinaryAttrs attrs{kKinds.at(node_.op_type())};
    ASSIGN_OR_RETURN(int64_t legacy_broadcast, Int("broadcast", 0));
    ASSIGN_OR_RETURN(const Symbol* sa, Sym(0));
    ASSIGN_OR_RETURN(const Symbol* sb, Sym(1));
    if (legacy_broadcast != 0 && Attr("axis") != nullptr) {
      return NotSupported("axis", "set", "legacy (opset < 7) broadcasting");
    }
    if (sa->constant && sb->constant) return FoldBinary(attrs, *sa->constant, *sb->constant);
    int xi = 0, yi = 1;
    if (sa->constant) {
      if (attrs.kind == ir::BinaryKind::kSub || attrs.kind == ir::BinaryKind::kDiv) {
        return Unsupported(where_ + ": a constant first operand ('" + node_.input(0) +
                           "') is not supported for " + node_.op_type());
      }
      std::swap(xi, yi);
    }
    ASSIGN_OR_RETURN(ValueId x, Activation(xi));
    const Shape& xs = ShapeOf(x);
    ASSIGN_OR_RETURN(const Symbol* sy, Sym(yi));
    if (!sy->constant) {
      const ValueId y = sy->value;
      if (ShapeOf(y) != xs) {
        return Unsupported(where_ + ": broadcasting between two computed inputs (" +
                           ShapeToString(xs) + " and " + ShapeToString(ShapeOf(y)) +
                           ") is not supported");
      }
      if (attrs.kind == ir::BinaryKind::kAdd) return Done(Emit(OpType::kAdd, {x, y}, {}));
      return Done(Emit(OpType::kBinary, {x, y}, attrs));
    }
    const ConstTensor& c = *sy->constant;
    if (c.integer) {
      return Unsupported(where_ + ": input '" + node_.input(yi) +
                         "' has an integer dtype; only float32 is supported");
    }
    if (c.shape.size() > xs.size()) {
      return Unsupported(where_ + ": constant " + ShapeToString(c.shape) +
                         " has more dimensions than the input " + ShapeToString(xs));
    }
    Shape bs(xs.size() - c.shape.size(), 1);
    bs.insert(bs.end(), c.shape.begin(), c.shape.end());
    for (size_t d = 0; d < bs.size(); ++d) {
      if (bs[d] == 1 || (d > 0 && bs[d] == xs[d])) continue;
      return Unsupported(where_ + ": constant " + ShapeToString(c.shape) +
                         (d == 0 ? " spans the batch dimension of " : " does not broadcast to ") +
                         ShapeToString(xs));
    }
    const ValueId y = AddConst(node_.input(yi), Tensor(bs, c.floats));
    return Done(Emit(OpType::kBinary, {x, y}, attrs));
  }
  Status FoldBinary(const ir::BinaryAttrs& attrs, const ConstTensor& a, const ConstTensor& b) {
    const auto out = BroadcastShape(a.shape, b.shape);
    if (!out) return InvalidArgument(where_ + ": shapes do not broadcast");
    ConstTensor r;
    r.shape = *out;
    r.integer = a.integer && b.integer;
    if (a.integer != b.integer) return InvalidArgument(where_ + ": mixed dtypes");
    const auto st = RowMajorStrides(*out);
    const int64_t n = NumElements(*out);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t ia = BroadcastIndex(i, *out, st, a.shape);
      const int64_t ib = BroadcastIndex(i, *out, st, b.shape);
      if (r.integer) {
        const int64_t x = a.ints[static_cast<size_t>(ia)], y = b.ints[static_cast<size_t>(ib)];
        switch (attrs.kind) {
          case ir::BinaryKind::kAdd: r.ints.push_back(x + y); break;
          case ir::BinaryKind::kSub: r.ints.push_back(x - y); break;
          case ir::BinaryKind::kMul: r.ints.push_back(x * y); break;
          case ir::BinaryKind::kDiv: r.ints.push_back(y == 0 ? 0 : x / y); break;
        }
      } else {
        r.floats.push_back(
            attrs.Apply(a.floats[static_cast<size_t>(ia)], b.floats[static_cast<size_t>(ib)]));
      }
    }
    return Fold(std::move(r));
  }

  Status Concat() {
    ASSIGN_OR_RETURN(int64_t axis_attr, Int("axis", 1));
    ASSIGN_OR_RETURN(const Symbol* first, Sym(0));
    bool all_const = true, any_const = false;
    for (int i = 0; i < node_.input_size(); ++i) {
      ASSIGN_OR_RETURN(const Symbol* s, Sym(i));
      all_const = all_const && s->constant.has_value();
      any_const = any_const || s->constant.has_value();
    }
    if (all_const) {
      const size_t rank = first->constant->shape.size();
      ASSIGN_OR_RETURN(int64_t axis, Axis(axis_attr, rank, "axis"));
      ConstTensor r = *first->constant;
      const auto ax = static_cast<size_t>(axis);
      int64_t outer = 1;
      for (size_t d = 0; d < ax; ++d) outer *= r.shape[d];
      std::vector<const ConstTensor*> parts;
      r.shape[ax] = 0;
      for (int i = 0; i < node_.input_size(); ++i) {
        const ConstTensor& c = *ctx_.symbols.at(node_.input(i)).constant;
        if (c.shape.size() != rank || c.integer != r.integer) {
          return InvalidArgument(where_ + ": inputs differ in rank or dtype");
        }
        r.shape[ax] += c.shape[ax];
        parts.push_back(&c);
      }
      r.floats.clear();
      r.ints.clear();
      for (int64_t o = 0; o < outer; ++o) {
        for (const ConstTensor* c : parts) {
          const int64_t chunk = c->size() / std::max<int64_t>(outer, 1);
          if (r.integer) {
            r.ints.insert(r.ints.end(), c->ints.begin() + o * chunk,
                          c->ints.begin() + (o + 1) * chunk);
          } else {
            r.floats.insert(r.floats.end(), c->floats.begin() + o * chunk,
                            c->floats.begin() + (o + 1) * chunk);
          }
        }
      }
      return Fold(std::move(r));
    }
    if (any_const) {
      return Unsupported(where_ + ": mixing constant and computed inputs is not supported");
    }
    std::vector<ValueId> in;
    for (int i = 0; i < node_.input_size(); ++i) {
      ASSIGN_OR_RETURN(ValueId v, Activation(i));
      in.push_back(v);
    }
    ASSIGN_OR_RETURN(int64_t axis, Axis(axis_attr, ShapeOf(in[0]).size(), "axis"));
    if (axis == 0) return NotSupported("axis", std::to_string(axis_attr), "the batch axis");
    return Done(Emit(OpType::kConcat, std::move(in), ir::ConcatAttrs{axis}));
  }

  Status Pool() {
    const bool is_max = node_.op_type() == "MaxPool";
    ASSIGN_OR_RETURN(ValueId x, Activation(0));
    const Shape& xs = ShapeOf(x);
    if (xs.size() != 4) {
      return Unsupported(where_ + ": " + std::to_string(static_cast<int>(xs.size()) - 2) +
                         "-D pooling is not supported (2-D only)");
    }
    ir::PoolAttrs a;
    if (Attr("kernel_shape") == nullptr) {
      return InvalidArgument(where_ + ": missing attribute kernel_shape");
    }
    ASSIGN_OR_RETURN(a.kernel, Pair("kernel_shape", {}));
    ASSIGN_OR_RETURN(a.strides, Pair("strides", {1, 1}));
    ASSIGN_OR_RETURN(auto dilations, Ints("dilations", {1, 1}));
    if (dilations != std::vector<int64_t>{1, 1}) {
      return NotSupported("dilations", Show(dilations));
    }
    ASSIGN_OR_RETURN(int64_t ceil_mode, Int("ceil_mode", 0));
    if (ceil_mode != 0) return NotSupported("ceil_mode", std::to_string(ceil_mode));
    ASSIGN_OR_RETURN(int64_t include_pad, Int("count_include_pad", 0));
    a.count_include_pad = include_pad != 0;
    ASSIGN_OR_RETURN(a.pads, WindowPads(xs, a.kernel, a.strides, {1, 1}));
    for (int i = 0; i < 2; ++i) {
      if (a.pads[i] >= a.kernel[i] || a.pads[i + 2] >= a.kernel[i]) {
        return NotSupported("pads", Show({a.pads.begin(), a.pads.end()}),
                            "a pad as large as the kernel");
      }
    }
    return Done(Emit(is_max ? OpType::kMaxPool : OpType::kAvgPool, {x}, a));
  }

  Status GlobalPool() {
    ASSIGN_OR_RETURN(ValueId x, Activation(0));
    if (ShapeOf(x).size() != 4) {
      return Unsupported(where_ + ": " + std::to_string(static_cast<int>(ShapeOf(x).size()) - 2) +
                         "-D pooling is not supported (2-D only)");
    }
    const bool is_max = node_.op_type() == "GlobalMaxPool";
    return Done(Emit(is_max ? OpType::kGlobalMaxPool : OpType::kGlobalAvgPool, {x}, {}));
  }

  Status ReduceMean() {
    ASSIGN_OR_RETURN(ValueId x, Activation(0));
    const Shape& xs = ShapeOf(x);
    ASSIGN_OR_RETURN(auto axes, Ints("axes", {}));
    if (HasInput(1)) {
      ASSIGN_OR_RETURN(axes, ConstInts(1, "axes"));
    }
    ASSIGN_OR_RETURN(int64_t keepdims, Int("keepdims", 1));
    for (int64_t& a : axes) {
      ASSIGN_OR_RETURN(a, Axis(a, xs.size(), "axis"));
    }
    std::sort(axes.begin(), axes.end());
    if (xs.size() != 4 || axes != std::vector<int64_t>{2, 3}) {
      return NotSupported("axes", Show(axes), "only the mean over H and W of a 4-D input");
    }
    if (keepdims != 0) return Done(Emit(OpType::kGlobalAvgPool, {x}, {}));
    ASSIGN_OR_RETURN(ValueId pooled, Emit(OpType::kGlobalAvgPool, {x}, {}, "pool"));
    return EmitReshape(pooled, {-1, xs[1]});
  }

  // Dense from a 2-D activation and a constant [N, K] weight.
  Status EmitDense(ValueId x, Tensor weight, std::optional<Tensor> bias) {
    std::vector<ValueId> in{x, AddConst(node_.output(0) + "/weight", std::move(weight))};
    in.push_back(bias ? AddConst(node_.output(0) + "/bias", std::move(*bias)) : ir::kNoValue);
    return Done(Emit(OpType::kDense, std::move(in), ir::DenseAttrs{}));
  }
  static Tensor Transposed2D(const ConstTensor& b, float scale) {  // [K, N] -> [N, K]
    const int64_t k = b.shape[0], n = b.shape[1];
    Tensor t({n, k});
    for (int64_t i = 0; i < k; ++i) {
      for (int64_t j = 0; j < n; ++j) t[j * k + i] = scale * b.floats[static_cast<size_t>(i * n + j)];
    }
    return t;
  }

  Status Gemm() {
    ASSIGN_OR_RETURN(ValueId x, Activation(0, 2));
    ASSIGN_OR_RETURN(int64_t trans_a, Int("transA", 0));
    if (trans_a != 0) return NotSupported("transA", std::to_string(trans_a), "A's rows are the batch");
    ASSIGN_OR_RETURN(int64_t trans_b, Int("transB", 0));
    ASSIGN_OR_RETURN(float alpha, Float("alpha", 1.0f));
    ASSIGN_OR_RETURN(float beta, Float("beta", 1.0f));
    ASSIGN_OR_RETURN(const ConstTensor* b, ConstFloat(1, "B"));
    if (b->shape.size() != 2) return InvalidArgument(where_ + ": B must be 2-D");
    Tensor w;
    if (trans_b != 0) {
      w = Tensor(b->shape, b->floats);
      for (float& v : w.span()) v *= alpha;
    } else {
      w = Transposed2D(*b, alpha);
    }
    const int64_t n = w.shape()[0];
    std::optional<Tensor> bias;
    if (HasInput(2)) {
      ASSIGN_OR_RETURN(const ConstTensor* c, ConstFloat(2, "C"));
      const bool per_column = c->size() == n && (c->shape.size() == 1 ||
                                                  (c->shape.size() == 2 && c->shape[0] == 1));
      if (c->size() != 1 && !per_column) {
        return Unsupported(where_ + ": C of shape " + ShapeToString(c->shape) +
                           " is not supported (a scalar, [N] or [1, N]; not per row)");
      }
      bias = Tensor({n});
      for (int64_t j = 0; j < n; ++j) {
        (*bias)[j] = beta * c->floats[static_cast<size_t>(c->size() == 1 ? 0 : j)];
      }
    }
    return EmitDense(x, std::move(w), std::move(bias));
  }

  Status MatMul() {
    ASSIGN_OR_RETURN(ValueId x, Activation(0));
    ASSIGN_OR_RETURN(const ConstTensor* b, ConstFloat(1, "B"));
    if (ShapeOf(x).size() != 2 || b->shape.size() != 2) {
      return Unsupported(where_ + ": only a 2-D input times a constant 2-D matrix is supported, "
                         "got " + ShapeToString(ShapeOf(x)) + " x " + ShapeToString(b->shape));
    }
    return EmitDense(x, Transposed2D(*b, 1.0f), std::nullopt);
  }

  Status Flatten() {
    ASSIGN_OR_RETURN(const Symbol* s, Sym(0));
    ASSIGN_OR_RETURN(int64_t axis_attr, Int("axis", 1));
    if (s->constant) {
      const Shape& cs = s->constant->shape;
      const int64_t axis = axis_attr < 0 ? axis_attr + static_cast<int64_t>(cs.size()) : axis_attr;
      int64_t outer = 1;
      for (int64_t d = 0; d < axis && d < static_cast<int64_t>(cs.size()); ++d) outer *= cs[static_cast<size_t>(d)];
      ConstTensor r = *s->constant;
      r.shape = {outer, r.size() / std::max<int64_t>(outer, 1)};
      return Fold(std::move(r));
    }
    ASSIGN_OR_RETURN(ValueId x, Activation(0));
    const Shape& xs = ShapeOf(x);
    const int64_t axis = axis_attr < 0 ? axis_attr + static_cast<int64_t>(xs.size()) : axis_attr;
    if (axis != 1) {
      return NotSupported("axis", std::to_string(axis_attr), "only axis 1 keeps the batch axis");
    }
    if (xs.size() < 2) return EmitReshape(x, {-1, 1});
    return Done(Emit(OpType::kFlatten, {x}, ir::FlattenAttrs{false}));
  }

  // Resolves an ONNX target shape (0 = copy, -1 = infer) for an input whose
  // dimension 0 is the batch; the result keeps -1 at dimension 0.
  Result<Shape> BatchShape(const Shape& xs, std::vector<int64_t> t, bool allow_zero) const {
    if (t.empty()) return Unsupported(where_ + ": reshaping to a scalar is not supported");
    int64_t per_sample = 1;
    for (size_t d = 1; d < xs.size(); ++d) per_sample *= xs[d];
    int64_t known = 1, infer = -1;
    for (size_t d = 1; d < t.size(); ++d) {
      if (t[d] == 0 && !allow_zero) t[d] = d < xs.size() ? xs[d] : 0;
      if (t[d] == -1) {
        if (infer >= 0) return InvalidArgument(where_ + ": more than one -1 in the shape");
        infer = static_cast<int64_t>(d);
      } else {
        known *= t[d];
      }
    }
    const bool keeps_batch = (t[0] == 0 && !allow_zero) ||
                             (t[0] == -1 && infer < 0 && known == per_sample) ||
                             (t[0] > 0 && (t[0] == xs[0] || t[0] == ctx_.declared_batch));
    if (!keeps_batch) {
      return Unsupported(where_ + ": reshaping " + ShapeToString(xs) + " to " + Show(t) +
                         " changes the batch dimension, which is not supported");
    }
    if (infer >= 0) {
      if (known == 0 || per_sample % known != 0) {
        return InvalidArgument(where_ + ": cannot reshape " + ShapeToString(xs) + " to " + Show(t));
      }
      t[static_cast<size_t>(infer)] = per_sample / known;
    }
    t[0] = -1;
    return Shape(t.begin(), t.end());
  }
  // Constant reshape with ONNX's full semantics.
  Result<ConstTensor> FoldReshape(const ConstTensor& c, std::vector<int64_t> t, bool allow_zero) {
    int64_t known = 1, infer = -1;
    for (size_t d = 0; d < t.size(); ++d) {
      if (t[d] == 0 && !allow_zero && d < c.shape.size()) t[d] = c.shape[d];
      if (t[d] == -1) {
        infer = static_cast<int64_t>(d);
      } else {
        known *= t[d];
      }
    }
    if (infer >= 0 && known != 0) t[static_cast<size_t>(infer)] = c.size() / known;
    ConstTensor r = c;
    r.shape = Shape(t.begin(), t.end());
    if (NumElements(r.shape) != c.size()) {
      return InvalidArgument(where_ + ": cannot reshape " + ShapeToString(c.shape) + " to " + Show(t));
    }
    return r;
  }

  Status Reshape() {
    std::vector<int64_t> t;
    if (ctx_.opset < 5) {
      ASSIGN_OR_RETURN(t, Ints("shape", {}));
    } else {
      ASSIGN_OR_RETURN(t, ConstInts(1, "shape"));
    }
    ASSIGN_OR_RETURN(int64_t allow_zero, Int("allowzero", 0));
    const bool has_zero = std::find(t.begin(), t.end(), 0) != t.end();
    if (allow_zero != 0 && has_zero) {
      return NotSupported("allowzero", std::to_string(allow_zero), "zero-sized dimensions");
    }
    ASSIGN_OR_RETURN(const Symbol* s, Sym(0));
    if (s->constant) {
      ASSIGN_OR_RETURN(auto r, FoldReshape(*s->constant, t, false));
      return Fold(std::move(r));
    }
    ASSIGN_OR_RETURN(ValueId x, Activation(0));
    ASSIGN_OR_RETURN(Shape shape, BatchShape(ShapeOf(x), t, false));
    return EmitReshape(x, std::move(shape));
  }

  Result<std::vector<int64_t>> AxesArg() const {
    if (ctx_.opset < 13) return Ints("axes", {});
    if (!HasInput(1)) return std::vector<int64_t>{};
    return ConstInts(1, "axes");
  }

  Status Squeeze() {
    ASSIGN_OR_RETURN(auto axes, AxesArg());
    ASSIGN_OR_RETURN(const Symbol* s, Sym(0));
    const Shape xs = s->constant ? s->constant->shape : g_.value(s->value).shape;
    std::vector<bool> drop(xs.size(), false);
    if (axes.empty()) {
      for (size_t d = s->constant ? 0 : 1; d < xs.size(); ++d) drop[d] = xs[d] == 1;
    }
    for (int64_t a : axes) {
      ASSIGN_OR_RETURN(int64_t ax, Axis(a, xs.size(), "axis"));
      if (ax == 0 && !s->constant) {
        return NotSupported("axes", Show(axes), "squeezing the batch axis");
      }
      if (xs[static_cast<size_t>(ax)] != 1) {
        return InvalidArgument(where_ + ": axis " + std::to_string(a) + " of " +
                               ShapeToString(xs) + " is not 1");
      }
      drop[static_cast<size_t>(ax)] = true;
    }
    Shape out;
    for (size_t d = 0; d < xs.size(); ++d) {
      if (!drop[d]) out.push_back(xs[d]);
    }
    if (s->constant) {
      ConstTensor r = *s->constant;
      r.shape = out;
      return Fold(std::move(r));
    }
    ASSIGN_OR_RETURN(ValueId x, Activation(0));
    return EmitReshape(x, out);
  }

  Status Unsqueeze() {
    ASSIGN_OR_RETURN(auto axes, AxesArg());
    ASSIGN_OR_RETURN(const Symbol* s, Sym(0));
    const Shape xs = s->constant ? s->constant->shape : g_.value(s->value).shape;
    const size_t rank = xs.size() + axes.size();
    std::vector<bool> inserted(rank, false);
    for (int64_t a : axes) {
      ASSIGN_OR_RETURN(int64_t ax, Axis(a, rank, "axis"));
      if (ax == 0 && !s->constant) {
        return NotSupported("axes", Show(axes), "inserting an axis before the batch axis");
      }
      inserted[static_cast<size_t>(ax)] = true;
    }
    Shape out;
    size_t next = 0;
    for (size_t d = 0; d < rank; ++d) out.push_back(inserted[d] ? 1 : xs[next++]);
    if (s->constant) {
      ConstTensor r = *s->constant;
      r.shape = out;
      return Fold(std::move(r));
    }
    ASSIGN_OR_RETURN(ValueId x, Activation(0));
    return EmitReshape(x, out);
  }

  Status Transpose() {
    ASSIGN_OR_RETURN(const Symbol* s, Sym(0));
    const Shape xs = s->constant ? s->constant->shape : g_.value(s->value).shape;
    std::vector<int64_t> reversed(xs.size());
    std::iota(reversed.rbegin(), reversed.rend(), 0);
    ASSIGN_OR_RETURN(auto perm, Ints("perm", reversed));
    if (perm.size() != xs.size()) {
      return InvalidArgument(where_ + ": perm " + Show(perm) + " does not match rank " +
                             std::to_string(xs.size()));
    }
    if (s->constant) {
      const ConstTensor& c = *s->constant;
      ConstTensor r = c;
      Shape ys(xs.size());
      for (size_t i = 0; i < perm.size(); ++i) ys[i] = xs[static_cast<size_t>(perm[i])];
      r.shape = ys;
      const auto xst = RowMajorStrides(xs);
      const auto yst = RowMajorStrides(ys);
      for (int64_t i = 0; i < c.size(); ++i) {
        int64_t rest = i, j = 0;
        for (size_t d = 0; d < ys.size(); ++d) {
          j += rest / yst[d] * xst[static_cast<size_t>(perm[d])];
          rest %= yst[d];
        }
        if (c.integer) {
          r.ints[static_cast<size_t>(i)] = c.ints[static_cast<size_t>(j)];
        } else {
          r.floats[static_cast<size_t>(i)] = c.floats[static_cast<size_t>(j)];
        }
      }
      return Fold(std::move(r));
    }
    if (perm.empty() || perm[0] != 0) {
      return NotSupported("perm", Show(perm), "moving the batch axis");
    }
    ASSIGN_OR_RETURN(ValueId x, Activation(0));
    return Done(Emit(OpType::kTranspose, {x}, ir::TransposeAttrs{perm}));
  }

  Status Pad() {
    ASSIGN_OR_RETURN(std::string mode, String("mode", "constant"));
    if (mode != "constant") return NotSupported("mode", Quote(mode));
    ASSIGN_OR_RETURN(ValueId x, Activation(0));
    const Shape& xs = ShapeOf(x);
    std::vector<int64_t> pads;
    float value = 0.0f;
    if (ctx_.opset < 11) {
      ASSIGN_OR_RETURN(pads, Ints(ctx_.opset < 2 ? "paddings" : "pads", {}));
      ASSIGN_OR_RETURN(value, Float("value", 0.0f));
    } else {
      ASSIGN_OR_RETURN(pads, ConstInts(1, "pads"));
      if (HasInput(2)) {
        ASSIGN_OR_RETURN(const ConstTensor* v, ConstFloat(2, "constant_value"));
        if (v->size() != 1) return InvalidArgument(where_ + ": constant_value must be a scalar");
        value = v->floats[0];
      }
      if (HasInput(3)) return Unsupported(where_ + ": input axes is not supported");
    }
    if (xs.size() != 4 || pads.size() != 8 || pads[0] || pads[1] || pads[4] || pads[5]) {
      return NotSupported("pads", Show(pads), "padding of H and W of a 4-D input only");
    }
    ir::PadAttrs a;
    a.pads = {pads[2], pads[3], pads[6], pads[7]};
    a.value = value;
    for (int64_t p : a.pads) {
      if (p < 0) return NotSupported("pads", Show(pads), "negative pads");
    }
    return Done(Emit(OpType::kPad, {x}, a));
  }

  Status Softmax() {
    ASSIGN_OR_RETURN(ValueId x, Activation(0));
    const Shape xs = ShapeOf(x);
    ASSIGN_OR_RETURN(int64_t axis_attr, Int("axis", ctx_.opset < 13 ? 1 : -1));
    ASSIGN_OR_RETURN(int64_t axis, Axis(axis_attr, xs.size(), "axis"));
    const auto rank = static_cast<int64_t>(xs.size());
    if (ctx_.opset >= 13 || axis == rank - 1) {
      return Done(Emit(OpType::kSoftmax, {x}, ir::SoftmaxAttrs{axis}));
    }
    // Before opset 13, softmax normalises over all axes from `axis` on: the
    // same as a softmax over the last axis of [d0, ..., d(axis−1), Π rest].
    if (axis == 0) return NotSupported("axis", std::to_string(axis_attr), "the batch axis");
    Shape flat(xs.begin(), xs.begin() + axis);
    int64_t rest = 1;
    for (int64_t d = axis; d < rank; ++d) rest *= xs[static_cast<size_t>(d)];
    flat.push_back(rest);
    flat[0] = -1;
    ASSIGN_OR_RETURN(ValueId f, Emit(OpType::kReshape, {x}, ir::ReshapeAttrs{flat}, "flat"));
    ASSIGN_OR_RETURN(ValueId sm, Emit(OpType::kSoftmax, {f}, ir::SoftmaxAttrs{axis}, "softmax"));
    Shape back = xs;
    back[0] = -1;
    return EmitReshape(sm, back);
  }

  Status Identity() {
    ASSIGN_OR_RETURN(const Symbol* s, Sym(0));
    if (node_.op_type() == "Dropout") {
      ASSIGN_OR_RETURN(int64_t is_test, Int("is_test", 1));
      (void)is_test;  // opset < 7 only; always inference here
      if (HasInput(2)) {
        ASSIGN_OR_RETURN(auto training, ConstInts(2, "training_mode"));
        (void)training;
      }
    }
    if (s->constant) return Fold(*s->constant);
    ASSIGN_OR_RETURN(ValueId x, Activation(0));
    return Done(Emit(OpType::kIdentity, {x}, {}));
  }

  Status Constant() {
    for (const AP& a : node_.attribute()) {
      ConstTensor c;
      if (a.name() == "value") {
        ASSIGN_OR_RETURN(c, DecodeTensor(a.t(), ctx_.base_dir, where_ + ": attribute value"));
      } else if (a.name() == "value_float") {
        c.floats = {a.f()};
      } else if (a.name() == "value_floats") {
        c.floats.assign(a.floats().begin(), a.floats().end());
        c.shape = {static_cast<int64_t>(c.floats.size())};
      } else if (a.name() == "value_int") {
        c.integer = true;
        c.ints = {a.i()};
      } else if (a.name() == "value_ints") {
        c.integer = true;
        c.ints.assign(a.ints().begin(), a.ints().end());
        c.shape = {static_cast<int64_t>(c.ints.size())};
      } else {
        return NotSupported(a.name(), "set");
      }
      return Fold(std::move(c));
    }
    return InvalidArgument(where_ + ": has no value attribute");
  }

  const ::onnx::NodeProto& node_;
  ImportContext& ctx_;
  ir::Graph& g_;
  const std::string where_;
};

}  // namespace

std::string DescribeNode(const ::onnx::NodeProto& node) {
  return "node '" + (node.name().empty() ? node.output_size() ? node.output(0) : "" : node.name()) +
         "' (" + node.op_type() + ")";
}

Status ConvertNode(const ::onnx::NodeProto& node, ImportContext& ctx) {
  return NodeConverter(node, ctx).Convert();
}

}  // namespace kamado::importers::onnximport
