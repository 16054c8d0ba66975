// NodeConverter: Activations, Clip, Add/Sub/Mul/Div (broadcast constants, folding),
// Pow by a constant, Sum/Mean and Softmax.
#include <cmath>
#include <limits>
#include <map>
#include <sstream>

#include "importers/onnx/onnx_node_converter.h"

namespace kamado::importers::onnximport {

namespace {

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

}  // namespace

Status NodeConverter::ActivationOp() {
  using K = ir::ActivationKind;
  ASSIGN_OR_RETURN(ValueId x, Activation(0));
  // The activations without attributes.
  static const std::map<std::string, K, std::less<>> kPlain = {
      {"Relu", K::kRelu}, {"Sigmoid", K::kSigmoid},
      {"Tanh", K::kTanh}, {"HardSwish", K::kHardSwish},
      {"Exp", K::kExp},   {"Reciprocal", K::kReciprocal},
      {"Neg", K::kNeg},   {"Abs", K::kAbs},
      {"Sqrt", K::kSqrt}, {"Erf", K::kErf}};
  const std::string& op = node_.op_type();
  ir::Activation act;
  if (auto plain = kPlain.find(op); plain != kPlain.end()) {
    act = {plain->second};
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

Status NodeConverter::Clip() {
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
  return Done(
      Emit(OpType::kActivation, {x}, ir::ActivationAttrs{{ir::ActivationKind::kClip, lo, hi}}));
}

Status NodeConverter::BinaryOp() {
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
  ir::BinaryAttrs final_attrs = attrs;
  if (sa->constant) std::swap(xi, yi);
  ASSIGN_OR_RETURN(ValueId x, Activation(xi));
  const Shape xs = ShapeOf(x);
  if (sa->constant && attrs.kind == ir::BinaryKind::kSub) {
    // c − x = (−1·x) + c
    const ValueId minus_one = AddConst(node_.output(0) + "/minus_one",
                                       Tensor(Shape(xs.size(), 1), std::vector<float>{-1.0f}));
    ASSIGN_OR_RETURN(
        x, Emit(OpType::kBinary, {x, minus_one}, ir::BinaryAttrs{ir::BinaryKind::kMul}, "negate"));
    final_attrs.kind = ir::BinaryKind::kAdd;
  } else if (sa->constant && attrs.kind == ir::BinaryKind::kDiv) {
    // c / x = (1/x) · c
    ASSIGN_OR_RETURN(x, Emit(OpType::kActivation, {x},
                             ir::ActivationAttrs{{ir::ActivationKind::kReciprocal}}, "reciprocal"));
    final_attrs.kind = ir::BinaryKind::kMul;
  }
  ASSIGN_OR_RETURN(const Symbol* sy, Sym(yi));
  if (!sy->constant) {
    const ValueId y = sy->value;
    if (ShapeOf(y) != xs) {
      // Two computed values of one rank (both batch-first), one broadcasting
      // to the other, as in a squeeze-and-excitation x · σ(pool(x)).
      auto broadcasts = [](const Shape& small, const Shape& big) {
        if (small.size() != big.size()) return false;
        for (size_t d = 1; d < big.size(); ++d) {
          if (small[d] != 1 && small[d] != big[d]) return false;
        }
        return true;
      };
      const bool commutes =
          attrs.kind == ir::BinaryKind::kAdd || attrs.kind == ir::BinaryKind::kMul;
      if (broadcasts(ShapeOf(y), xs)) return Done(Emit(OpType::kBinary, {x, y}, attrs));
      if (commutes && broadcasts(xs, ShapeOf(y))) {
        return Done(Emit(OpType::kBinary, {y, x}, attrs));
      }
      return Unsupported(where_ + ": broadcasting between two computed inputs (" +
                         ShapeToString(xs) + " and " + ShapeToString(ShapeOf(y)) +
                         ") is not supported" +
                         (commutes ? "" : " unless the second broadcasts to the first"));
    }
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
  return Done(Emit(OpType::kBinary, {x, y}, final_attrs));
}

Status NodeConverter::FoldBinary(const ir::BinaryAttrs& attrs, const ConstTensor& a,
                                 const ConstTensor& b) {
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
      if (x == kBatchDim || y == kBatchDim) {
        // The batch only passes through an identity (·1, /1, +0, −0).
        const int64_t other = x == kBatchDim ? y : x;
        const bool identity =
            ((attrs.kind == ir::BinaryKind::kMul) && other == 1) ||
            (attrs.kind == ir::BinaryKind::kDiv && x == kBatchDim && y == 1) ||
            (attrs.kind == ir::BinaryKind::kAdd && other == 0) ||
            (attrs.kind == ir::BinaryKind::kSub && x == kBatchDim && y == 0);
        if (!identity || (x == kBatchDim && y == kBatchDim)) return DependsOnBatch("the result");
        r.ints.push_back(kBatchDim);
        continue;
      }
      switch (attrs.kind) {
        case ir::BinaryKind::kAdd:
          r.ints.push_back(x + y);
          break;
        case ir::BinaryKind::kSub:
          r.ints.push_back(x - y);
          break;
        case ir::BinaryKind::kMul:
          r.ints.push_back(x * y);
          break;
        case ir::BinaryKind::kDiv:
          r.ints.push_back(y == 0 ? 0 : x / y);
          break;
      }
    } else {
      r.floats.push_back(
          attrs.Apply(a.floats[static_cast<size_t>(ia)], b.floats[static_cast<size_t>(ib)]));
    }
  }
  return Fold(std::move(r));
}

// Pow by a constant scalar exponent, each as the exact op it is: x² is x·x
// (how PyTorch's decomposed LayerNorm writes its variance at opset < 17),
// x^0.5 √x, x^1 x, x^−1 1/x. A constant base folds; any other exponent, or
// one computed in the graph, is an error naming the node and the exponent.
Status NodeConverter::Pow() {
  ASSIGN_OR_RETURN(const Symbol* sy, Sym(1));
  if (!sy->constant) {
    return Unsupported(where_ + ": exponent Y ('" + node_.input(1) +
                       "') is computed in the graph; only a constant scalar exponent is supported");
  }
  const ConstTensor& y = *sy->constant;
  if (y.size() != 1) {
    return Unsupported(where_ + ": exponent Y of shape " + ShapeToString(y.shape) +
                       " is not supported (only a scalar exponent)");
  }
  const double e = y.integer ? static_cast<double>(y.ints[0]) : static_cast<double>(y.floats[0]);
  ASSIGN_OR_RETURN(const Symbol* sx, Sym(0));
  if (sx->constant) {
    if (sx->constant->integer) return Unsupported(where_ + ": Pow of an integer tensor is not supported");
    ConstTensor r = *sx->constant;
    for (float& v : r.floats) v = static_cast<float>(std::pow(static_cast<double>(v), e));
    return Fold(std::move(r));
  }
  ASSIGN_OR_RETURN(ValueId x, Activation(0));
  using K = ir::ActivationKind;
  if (e == 2) return Done(Emit(OpType::kBinary, {x, x}, ir::BinaryAttrs{ir::BinaryKind::kMul}));
  if (e == 1) return Done(Emit(OpType::kIdentity, {x}, {}));
  if (e == 0.5) return Done(Emit(OpType::kActivation, {x}, ir::ActivationAttrs{{K::kSqrt}}));
  if (e == -1) return Done(Emit(OpType::kActivation, {x}, ir::ActivationAttrs{{K::kReciprocal}}));
  std::ostringstream shown;
  shown << e;
  return Unsupported(where_ + ": exponent " + shown.str() + " is not supported (only 2, 1, 0.5 and -1)");
}

// Sum and Mean of computed inputs of one shape: a chain of adds (then ·1/n).
Status NodeConverter::SumOrMean() {
  const bool mean = node_.op_type() == "Mean";
  const int n = node_.input_size();
  if (n < 1) return InvalidArgument(where_ + ": has no inputs");
  ASSIGN_OR_RETURN(ValueId acc, Activation(0));
  const Shape xs = ShapeOf(acc);
  std::vector<ValueId> terms{acc};
  for (int i = 1; i < n; ++i) {
    ASSIGN_OR_RETURN(ValueId v, Activation(i));
    if (ShapeOf(v) != xs) {
      return Unsupported(where_ + ": inputs of different shapes (" + ShapeToString(xs) + " and " +
                         ShapeToString(ShapeOf(v)) + ") are not supported");
    }
    terms.push_back(v);
  }
  if (n == 1) return Done(Emit(OpType::kIdentity, {acc}, {}));
  for (int i = 1; i < n; ++i) {
    const bool last = i == n - 1 && !mean;
    ASSIGN_OR_RETURN(acc, Emit(OpType::kBinary, {acc, terms[static_cast<size_t>(i)]},
                               ir::BinaryAttrs{ir::BinaryKind::kAdd},
                               last ? "" : "add" + std::to_string(i)));
  }
  if (!mean) return Status::Ok();
  const ValueId inv_n = AddConst(node_.output(0) + "/inv_n",
                                 Tensor(Shape(xs.size(), 1), std::vector<float>{1.0f / n}));
  return Done(Emit(OpType::kBinary, {acc, inv_n}, ir::BinaryAttrs{ir::BinaryKind::kMul}));
}

Status NodeConverter::Softmax() {
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

}  // namespace kamado::importers::onnximport
