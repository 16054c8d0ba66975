// NodeConverter: Ops that move or view data: Concat, Flatten, Reshape, Squeeze, Unsqueeze,
// Transpose, Pad, Identity/Dropout and Constant.
#include <algorithm>
#include <numeric>

#include "importers/onnx/onnx_node_converter.h"

namespace kamado::importers::onnximport {

Status NodeConverter::Concat() {
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

Status NodeConverter::Flatten() {
  ASSIGN_OR_RETURN(const Symbol* s, Sym(0));
  ASSIGN_OR_RETURN(int64_t axis_attr, Int("axis", 1));
  if (s->constant) {
    const Shape& cs = s->constant->shape;
    const int64_t axis = axis_attr < 0 ? axis_attr + static_cast<int64_t>(cs.size()) : axis_attr;
    int64_t outer = 1;
    for (int64_t d = 0; d < axis && d < static_cast<int64_t>(cs.size()); ++d)
      outer *= cs[static_cast<size_t>(d)];
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
Result<Shape> NodeConverter::BatchShape(const Shape& xs, std::vector<int64_t> t,
                                        bool allow_zero) const {
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
Result<ConstTensor> NodeConverter::FoldReshape(const ConstTensor& c, std::vector<int64_t> t,
                                               bool allow_zero) {
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
    return InvalidArgument(where_ + ": cannot reshape " + ShapeToString(c.shape) + " to " +
                           Show(t));
  }
  return r;
}

Status NodeConverter::Reshape() {
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

Result<std::vector<int64_t>> NodeConverter::AxesArg() const {
  if (ctx_.opset < 13) return Ints("axes", {});
  if (!HasInput(1)) return std::vector<int64_t>{};
  return ConstInts(1, "axes");
}

Status NodeConverter::Squeeze() {
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
      return InvalidArgument(where_ + ": axis " + std::to_string(a) + " of " + ShapeToString(xs) +
                             " is not 1");
    }
    drop[static_cast<size_t>(ax)] = true;
  }
  Shape out;
  for (size_t d = 0; d < xs.size(); ++d) {
    if (!drop[d]) out.push_back(xs[d]);
  }
  return ReshapeInput0To(*s, std::move(out));
}

Status NodeConverter::Unsqueeze() {
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
  return ReshapeInput0To(*s, std::move(out));
}

Status NodeConverter::Transpose() {
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

Status NodeConverter::Pad() {
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

Status NodeConverter::Identity() {
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

Status NodeConverter::Constant() {
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

}  // namespace kamado::importers::onnximport
