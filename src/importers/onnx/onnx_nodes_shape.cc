// NodeConverter: Ops that move or view data: Concat, Flatten, Reshape, Squeeze, Unsqueeze,
// Transpose, Pad, Slice, Identity/Dropout and Constant; and the shape
// arithmetic of exports with dynamic axes (Shape, Gather, Cast,
// ConstantOfShape, Range), folded at import time.
#include <algorithm>
#include <cmath>
#include <limits>
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
  const bool keeps_batch = t[0] == kBatchDim || (t[0] == 0 && !allow_zero) ||
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
    ASSIGN_OR_RETURN(t, ConstInts(1, "shape", /*batch_ok=*/true));
  }
  for (size_t d = 0; d < t.size(); ++d) {
    if (t[d] == kBatchDim && (d != 0 || IsConst(0))) {
      return DependsOnBatch("dimension " + std::to_string(d) + " of the target shape");
    }
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

// ---- shape arithmetic -------------------------------------------------

Status NodeConverter::ShapeOp() {
  ASSIGN_OR_RETURN(const Symbol* s, Sym(0));
  const Shape xs = s->constant ? s->constant->shape : g_.value(s->value).shape;
  const auto rank = static_cast<int64_t>(xs.size());
  ASSIGN_OR_RETURN(int64_t start, Int("start", 0));
  ASSIGN_OR_RETURN(int64_t end, Int("end", rank));
  auto clamp = [rank](int64_t v) { return std::clamp(v < 0 ? v + rank : v, int64_t{0}, rank); };
  start = clamp(start);
  end = clamp(end);
  ConstTensor r;
  r.integer = true;
  for (int64_t d = start; d < end; ++d) {
    const int64_t v = xs[static_cast<size_t>(d)];
    r.ints.push_back(v < 0 ? kBatchDim : v);  // only the batch is unknown here
  }
  r.shape = {static_cast<int64_t>(r.ints.size())};
  return Fold(std::move(r));
}

Status NodeConverter::Gather() {
  ASSIGN_OR_RETURN(const Symbol* s, Sym(0));
  if (!s->constant) {
    return Unsupported(where_ + ": gathering from a computed tensor ('" + node_.input(0) +
                       "') is not supported; only from shapes and constants");
  }
  const ConstTensor& data = *s->constant;
  ASSIGN_OR_RETURN(const ConstTensor* idx, Const(1, "indices"));
  if (!idx->integer) return InvalidArgument(where_ + ": indices must be int64 or int32");
  if (idx->HasBatchDim()) return DependsOnBatch("indices");
  ASSIGN_OR_RETURN(int64_t axis_attr, Int("axis", 0));
  if (data.shape.empty()) return InvalidArgument(where_ + ": data is a scalar");
  ASSIGN_OR_RETURN(int64_t axis, Axis(axis_attr, data.shape.size(), "axis"));
  const auto ax = static_cast<size_t>(axis);
  const int64_t dim = data.shape[ax];
  int64_t outer = 1, inner = 1;
  for (size_t d = 0; d < ax; ++d) outer *= data.shape[d];
  for (size_t d = ax + 1; d < data.shape.size(); ++d) inner *= data.shape[d];
  ConstTensor r;
  r.integer = data.integer;
  r.shape.assign(data.shape.begin(), data.shape.begin() + axis);
  r.shape.insert(r.shape.end(), idx->shape.begin(), idx->shape.end());
  r.shape.insert(r.shape.end(), data.shape.begin() + axis + 1, data.shape.end());
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i : idx->ints) {
      const int64_t k = i < 0 ? i + dim : i;
      if (k < 0 || k >= dim) {
        return InvalidArgument(where_ + ": index " + std::to_string(i) + " out of range for " +
                               "axis " + std::to_string(axis) + " of size " + std::to_string(dim));
      }
      const auto from = static_cast<size_t>((o * dim + k) * inner);
      const auto n = static_cast<size_t>(inner);
      if (r.integer) {
        r.ints.insert(r.ints.end(), data.ints.begin() + from, data.ints.begin() + from + n);
      } else {
        r.floats.insert(r.floats.end(), data.floats.begin() + from, data.floats.begin() + from + n);
      }
    }
  }
  return Fold(std::move(r));
}

Status NodeConverter::Cast() {
  using TP = ::onnx::TensorProto;
  ASSIGN_OR_RETURN(int64_t to, Int("to", 0));
  const bool to_int = to == TP::INT64 || to == TP::INT32 || to == TP::INT16 || to == TP::INT8 ||
                      to == TP::UINT8 || to == TP::UINT16 || to == TP::UINT32 ||
                      to == TP::UINT64 || to == TP::BOOL;
  const bool to_float = to == TP::FLOAT || to == TP::DOUBLE || to == TP::FLOAT16;
  if (!to_int && !to_float) {
    return NotSupported("to", DataTypeName(static_cast<int32_t>(to)));
  }
  ASSIGN_OR_RETURN(const Symbol* s, Sym(0));
  if (!s->constant) {
    // Activations are float32: a cast to float keeps them; to an integer
    // type would change the answers.
    if (!to_float) {
      return NotSupported("to", DataTypeName(static_cast<int32_t>(to)),
                          "only float casts of computed tensors");
    }
    ASSIGN_OR_RETURN(ValueId x, Activation(0));
    return Done(Emit(OpType::kIdentity, {x}, {}));
  }
  ConstTensor r = *s->constant;
  if (to_int && !r.integer) {
    r.integer = true;
    for (float f : r.floats) r.ints.push_back(to == TP::BOOL ? f != 0.0f : static_cast<int64_t>(f));
    r.floats.clear();
  } else if (to_float && r.integer) {
    if (r.HasBatchDim()) return DependsOnBatch("the value cast to float");
    r.integer = false;
    for (int64_t v : r.ints) r.floats.push_back(static_cast<float>(v));
    r.ints.clear();
  } else if (to == TP::BOOL) {
    if (r.HasBatchDim()) return DependsOnBatch("the value cast to bool");
    for (int64_t& v : r.ints) v = v != 0;
  }
  return Fold(std::move(r));
}

Status NodeConverter::Slice() {
  ASSIGN_OR_RETURN(const Symbol* s, Sym(0));
  const Shape xs = s->constant ? s->constant->shape : g_.value(s->value).shape;
  const size_t rank = xs.size();
  std::vector<int64_t> starts, ends, axes, steps;
  if (ctx_.opset < 10) {
    ASSIGN_OR_RETURN(starts, Ints("starts", {}));
    ASSIGN_OR_RETURN(ends, Ints("ends", {}));
    ASSIGN_OR_RETURN(axes, Ints("axes", {}));
  } else {
    ASSIGN_OR_RETURN(starts, ConstInts(1, "starts"));
    ASSIGN_OR_RETURN(ends, ConstInts(2, "ends"));
    if (HasInput(3)) {
      ASSIGN_OR_RETURN(axes, ConstInts(3, "axes"));
    }
    if (HasInput(4)) {
      ASSIGN_OR_RETURN(steps, ConstInts(4, "steps"));
    }
  }
  if (axes.empty()) {
    for (size_t d = 0; d < starts.size(); ++d) axes.push_back(static_cast<int64_t>(d));
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (starts.size() != ends.size() || axes.size() != starts.size() || steps.size() != starts.size()) {
    return InvalidArgument(where_ + ": starts, ends, axes and steps differ in length");
  }
  // Per axis: first index, step and count (ONNX's clamping).
  std::vector<int64_t> first(rank, 0), step(rank, 1), count(xs.begin(), xs.end());
  std::vector<bool> seen(rank, false);
  for (size_t i = 0; i < axes.size(); ++i) {
    ASSIGN_OR_RETURN(int64_t a, Axis(axes[i], rank, "axis"));
    const auto d = static_cast<size_t>(a);
    if (seen[d]) return InvalidArgument(where_ + ": axis " + std::to_string(axes[i]) + " repeated");
    seen[d] = true;
    if (steps[i] == 0) return InvalidArgument(where_ + ": a step is 0");
    const int64_t dim = xs[d];
    if (dim < 0) {  // the batch axis of an activation: only whole
      if (starts[i] == 0 && steps[i] == 1 && ends[i] >= std::numeric_limits<int32_t>::max()) {
        count[d] = -1;
        continue;
      }
      return NotSupported("axes", Show(axes), "slicing the batch axis");
    }
    int64_t b = starts[i] < 0 ? starts[i] + dim : starts[i];
    int64_t e = ends[i] < 0 ? ends[i] + dim : ends[i];
    if (steps[i] > 0) {
      b = std::clamp(b, int64_t{0}, dim);
      e = std::clamp(e, int64_t{0}, dim);
      count[d] = std::max<int64_t>(0, (e - b + steps[i] - 1) / steps[i]);
    } else {
      b = std::clamp(b, int64_t{0}, dim - 1);
      e = std::clamp(e, int64_t{-1}, dim - 1);
      count[d] = std::max<int64_t>(0, (b - e - steps[i] - 1) / -steps[i]);
    }
    first[d] = b;
    step[d] = steps[i];
  }
  for (size_t d = 0; d < rank; ++d) {
    if (count[d] == 0) {
      return Unsupported(where_ + ": the slice of " + ShapeToString(xs) +
                         " is empty; zero-sized tensors are not supported");
    }
  }
  if (s->constant) {
    const ConstTensor& c = *s->constant;
    ConstTensor r;
    r.integer = c.integer;
    r.shape = Shape(count.begin(), count.end());
    const auto xst = RowMajorStrides(xs);
    const auto yst = RowMajorStrides(r.shape);
    for (int64_t i = 0; i < NumElements(r.shape); ++i) {
      int64_t rest = i, j = 0;
      for (size_t d = 0; d < rank; ++d) {
        j += (first[d] + rest / yst[d] * step[d]) * xst[d];
        rest %= yst[d];
      }
      if (r.integer) {
        r.ints.push_back(c.ints[static_cast<size_t>(j)]);
      } else {
        r.floats.push_back(c.floats[static_cast<size_t>(j)]);
      }
    }
    return Fold(std::move(r));
  }
  for (size_t d = 0; d < rank; ++d) {
    if (step[d] != 1) {
      return NotSupported("steps", Show(steps), "steps other than 1 of a computed tensor");
    }
  }
  ASSIGN_OR_RETURN(ValueId x, Activation(0));
  bool whole = true;
  for (size_t d = 1; d < rank; ++d) whole = whole && first[d] == 0 && count[d] == xs[d];
  if (whole) return Done(Emit(OpType::kIdentity, {x}, {}));
  count[0] = -1;
  return Done(Emit(OpType::kSlice, {x}, ir::SliceAttrs{first, count}));
}

Status NodeConverter::ConstantOfShape() {
  ASSIGN_OR_RETURN(auto shape, ConstInts(0, "input"));
  ConstTensor r;
  r.shape = Shape(shape.begin(), shape.end());
  // A constant this large is no classifier's: refused before it is allocated.
  constexpr int64_t kMaxElements = int64_t{1} << 24;
  int64_t elements = 1;
  for (int64_t d : shape) {
    if (d < 0) return InvalidArgument(where_ + ": negative dimension in " + Show(shape));
    if (d > 0 && elements > kMaxElements / d) {
      return InvalidArgument(where_ + ": shape " + Show(shape) + " holds more than 2^24 elements");
    }
    elements *= d;
  }
  if (const AP* v = Attr("value")) {
    ASSIGN_OR_RETURN(ConstTensor c, DecodeTensor(v->t(), ctx_.base_dir, where_ + ": attribute value"));
    if (c.size() != 1) return InvalidArgument(where_ + ": attribute value must hold one element");
    r.integer = c.integer;
    if (c.integer) {
      r.ints.assign(static_cast<size_t>(r.size()), c.ints[0]);
    } else {
      r.floats.assign(static_cast<size_t>(r.size()), c.floats[0]);
    }
  } else {
    r.floats.assign(static_cast<size_t>(r.size()), 0.0f);
  }
  return Fold(std::move(r));
}

Status NodeConverter::Range() {
  ASSIGN_OR_RETURN(const ConstTensor* start, Const(0, "start"));
  ASSIGN_OR_RETURN(const ConstTensor* limit, Const(1, "limit"));
  ASSIGN_OR_RETURN(const ConstTensor* delta, Const(2, "delta"));
  for (const ConstTensor* c : {start, limit, delta}) {
    if (c->size() != 1) return InvalidArgument(where_ + ": start, limit and delta must be scalars");
    if (c->integer != start->integer) return InvalidArgument(where_ + ": mixed dtypes");
    if (c->HasBatchDim()) return DependsOnBatch("start, limit or delta");
  }
  ConstTensor r;
  r.integer = start->integer;
  constexpr int64_t kMaxElements = int64_t{1} << 24;
  if (r.integer) {
    const int64_t b = start->ints[0], e = limit->ints[0], d = delta->ints[0];
    if (d == 0) return InvalidArgument(where_ + ": delta is 0");
    const int64_t n = std::max<int64_t>(0, d > 0 ? (e - b + d - 1) / d : (b - e - d - 1) / -d);
    if (n > kMaxElements) return InvalidArgument(where_ + ": more than 2^24 elements");
    for (int64_t i = 0; i < n; ++i) r.ints.push_back(b + i * d);
  } else {
    const float b = start->floats[0], e = limit->floats[0], d = delta->floats[0];
    if (!(d != 0.0f)) return InvalidArgument(where_ + ": delta is 0 or NaN");
    const double steps = std::ceil((static_cast<double>(e) - b) / d);
    if (!(steps < static_cast<double>(kMaxElements))) {
      return InvalidArgument(where_ + ": more than 2^24 elements");
    }
    const auto n = static_cast<int64_t>(std::max(0.0, steps));
    for (int64_t i = 0; i < n; ++i) r.floats.push_back(b + static_cast<float>(i) * d);
  }
  r.shape = {static_cast<int64_t>(r.integer ? r.ints.size() : r.floats.size())};
  return Fold(std::move(r));
}

}  // namespace kamado::importers::onnximport
