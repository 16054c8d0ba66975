// NodeConverter: Conv, BatchNormalization, MaxPool/AveragePool (1-D and 2-D;
// pads, auto_pad, ceil_mode), GlobalAveragePool/GlobalMaxPool and the
// reductions (ReduceMean, ReduceSum, ReduceSumSquare, ReduceMax, ReduceMin),
// all lowered to pooling.
#include <algorithm>
#include <numeric>

#include "importers/onnx/onnx_node_converter.h"

namespace kamado::importers::onnximport {

Result<std::array<int64_t, 4>> NodeConverter::WindowPads(const Shape& x,
                                                         std::array<int64_t, 2> kernel,
                                                         std::array<int64_t, 2> strides,
                                                         std::array<int64_t, 2> dilations,
                                                         bool one_d) const {
  ASSIGN_OR_RETURN(std::string auto_pad, String("auto_pad", "NOTSET"));
  if (auto_pad == "NOTSET" && one_d) {
    ASSIGN_OR_RETURN(auto pads, Ints("pads", {0, 0}));
    if (pads.size() != 2) return NotSupported("pads", Show(pads), "1-D window, 2 pads");
    if (pads[0] < 0 || pads[1] < 0) return NotSupported("pads", Show(pads), "negative pads");
    return std::array<int64_t, 4>{0, pads[0], 0, pads[1]};
  }
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

Result<std::array<int64_t, 2>> NodeConverter::Pair(std::string_view name,
                                                   std::vector<int64_t> fallback,
                                                   bool one_d) const {
  if (one_d) {
    if (fallback.size() == 2) fallback.erase(fallback.begin());
    ASSIGN_OR_RETURN(auto v, Ints(name, fallback));
    if (v.size() != 1) return NotSupported(name, Show(v), "1-D window, 1 value");
    return std::array<int64_t, 2>{1, v[0]};
  }
  ASSIGN_OR_RETURN(auto v, Ints(name, fallback));
  if (v.size() != 2) return NotSupported(name, Show(v), "2-D windows only");
  return std::array<int64_t, 2>{v[0], v[1]};
}

Status NodeConverter::Conv() {
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

Status NodeConverter::BatchNormalization() {
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

// LayerNormalization (opset 17): normalised over the axes from `axis` to the
// last. One axis is the IR's LayerNorm; several trailing ones are flattened
// into one first and reshaped back after. Scale and B must be constants with
// one element per normalised position (or one for all); the Mean and
// InvStdDev outputs are refused where every node's extra outputs are.
Status NodeConverter::LayerNormalization() {
  ASSIGN_OR_RETURN(ValueId x, Activation(0));
  const Shape xs = ShapeOf(x);
  ASSIGN_OR_RETURN(int64_t axis_attr, Int("axis", -1));
  ASSIGN_OR_RETURN(int64_t axis, Axis(axis_attr, xs.size(), "axis"));
  if (axis == 0) return NotSupported("axis", std::to_string(axis_attr), "normalising over the batch axis");
  ASSIGN_OR_RETURN(float eps, Float("epsilon", 1e-5f));
  ASSIGN_OR_RETURN(int64_t stash, Int("stash_type", 1));
  if (stash != 1) return NotSupported("stash_type", std::to_string(stash), "only float (1) statistics");
  int64_t count = 1;
  for (size_t d = static_cast<size_t>(axis); d < xs.size(); ++d) count *= xs[d];
  Tensor params[2] = {Tensor(Shape{count}, std::vector<float>(static_cast<size_t>(count), 1.0f)),
                      Tensor(Shape{count}, std::vector<float>(static_cast<size_t>(count), 0.0f))};
  static const char* kRoles[] = {"Scale", "B"};
  for (int i = 1; i <= 2; ++i) {
    if (!HasInput(i)) continue;
    ASSIGN_OR_RETURN(const ConstTensor* c, ConstFloat(i, kRoles[i - 1]));
    if (c->size() != count && c->size() != 1) {
      return Unsupported(where_ + ": input " + kRoles[i - 1] + " of shape " + ShapeToString(c->shape) +
                         " must have one element per normalised position (" + std::to_string(count) +
                         ") or a single one");
    }
    std::vector<float> v(static_cast<size_t>(count));
    for (int64_t k = 0; k < count; ++k) v[static_cast<size_t>(k)] = c->floats[c->size() == 1 ? 0 : k];
    params[i - 1] = Tensor(Shape{count}, std::move(v));
  }
  std::vector<ValueId> in{x};
  const bool flatten = axis + 1 != static_cast<int64_t>(xs.size());
  if (flatten) {
    Shape rows(xs.begin(), xs.begin() + axis);
    rows[0] = -1;
    rows.push_back(count);
    ASSIGN_OR_RETURN(in[0], Emit(OpType::kReshape, {x}, ir::ReshapeAttrs{rows}, "rows"));
  }
  const std::string base = node_.output(0);
  in.push_back(AddConst(base + "/scale", std::move(params[0])));
  in.push_back(AddConst(base + "/bias", std::move(params[1])));
  const ir::LayerNormAttrs attrs{static_cast<int64_t>(ShapeOf(in[0]).size()) - 1, eps};
  if (!flatten) return Done(Emit(OpType::kLayerNorm, std::move(in), attrs));
  ASSIGN_OR_RETURN(ValueId y, Emit(OpType::kLayerNorm, std::move(in), attrs, "normalised"));
  Shape out = xs;
  out[0] = -1;
  return EmitReshape(y, std::move(out));
}

Status NodeConverter::Pool() {
  const bool is_max = node_.op_type() == "MaxPool";
  ASSIGN_OR_RETURN(ValueId x, Activation(0));
  const Shape in_shape = ShapeOf(x);
  const bool one_d = in_shape.size() == 3;
  if (in_shape.size() != 4 && !one_d) {
    return Unsupported(where_ + ": " + std::to_string(static_cast<int>(in_shape.size()) - 2) +
                       "-D pooling is not supported (1-D and 2-D only)");
  }
  // A 1-D pool over [N, C, L] is a 2-D one of height 1 over [N, C, 1, L].
  const Shape xs = one_d ? Shape{in_shape[0], in_shape[1], 1, in_shape[2]} : in_shape;
  ir::PoolAttrs a;
  if (Attr("kernel_shape") == nullptr) {
    return InvalidArgument(where_ + ": missing attribute kernel_shape");
  }
  ASSIGN_OR_RETURN(a.kernel, Pair("kernel_shape", {}, one_d));
  ASSIGN_OR_RETURN(a.strides, Pair("strides", {1, 1}, one_d));
  ASSIGN_OR_RETURN(auto dilations, Pair("dilations", {1, 1}, one_d));
  if (dilations != std::array<int64_t, 2>{1, 1}) {
    ASSIGN_OR_RETURN(auto shown, Ints("dilations", {}));
    return NotSupported("dilations", Show(shown));
  }
  ASSIGN_OR_RETURN(int64_t ceil_mode, Int("ceil_mode", 0));
  ASSIGN_OR_RETURN(int64_t include_pad, Int("count_include_pad", 0));
  a.count_include_pad = include_pad != 0;
  ASSIGN_OR_RETURN(a.pads, WindowPads(xs, a.kernel, a.strides, {1, 1}, one_d));
  if (ceil_mode != 0) {
    // out = ⌈(H + pt + pb − k) / s⌉ + 1, less a last window that would start
    // in the bottom padding; oneDNN gets the overhang as extra bottom padding.
    for (int i = 0; i < 2; ++i) {
      const int64_t span = xs[2 + i] + a.pads[i] + a.pads[i + 2] - a.kernel[i];
      if (span < 0) continue;
      int64_t out = (span + a.strides[i] - 1) / a.strides[i] + 1;
      if ((out - 1) * a.strides[i] >= xs[2 + i] + a.pads[i]) --out;
      const int64_t extra = std::max<int64_t>(
          0, (out - 1) * a.strides[i] + a.kernel[i] - (xs[2 + i] + a.pads[i] + a.pads[i + 2]));
      if (extra > 0 && a.count_include_pad && !is_max) {
        return NotSupported("ceil_mode", std::to_string(ceil_mode),
                            "with count_include_pad=1 when the last window overhangs");
      }
      a.pads[i + 2] += extra;
    }
  }
  for (int i = 0; i < 2; ++i) {
    if (a.pads[i] >= a.kernel[i] || a.pads[i + 2] >= a.kernel[i]) {
      return NotSupported("pads", Show({a.pads.begin(), a.pads.end()}),
                          "a pad as large as the kernel");
    }
  }
  const OpType op = is_max ? OpType::kMaxPool : OpType::kAvgPool;
  if (!one_d) return Done(Emit(op, {x}, a));
  ASSIGN_OR_RETURN(ValueId x2,
                   Emit(OpType::kReshape, {x}, ir::ReshapeAttrs{{-1, xs[1], 1, xs[3]}}, "2d"));
  ASSIGN_OR_RETURN(ValueId pooled, Emit(op, {x2}, a, "pool"));
  const Shape& ps = ShapeOf(pooled);
  return EmitReshape(pooled, {-1, ps[1], ps[3]});
}

Status NodeConverter::GlobalPool() {
  ASSIGN_OR_RETURN(ValueId x, Activation(0));
  if (ShapeOf(x).size() != 4) {
    return Unsupported(where_ + ": " + std::to_string(static_cast<int>(ShapeOf(x).size()) - 2) +
                       "-D pooling is not supported (2-D only)");
  }
  const bool is_max = node_.op_type() == "GlobalMaxPool";
  return Done(Emit(is_max ? OpType::kGlobalMaxPool : OpType::kGlobalAvgPool, {x}, {}));
}

// ReduceMean, ReduceSum, ReduceSumSquare, ReduceMax and ReduceMin over any
// axes but the batch's.
Status NodeConverter::Reduce() {
  const std::string& op = node_.op_type();
  ASSIGN_OR_RETURN(ValueId x, Activation(0));
  const Shape xs = ShapeOf(x);
  ASSIGN_OR_RETURN(auto axes, Ints("axes", {}));
  if (HasInput(1)) {
    ASSIGN_OR_RETURN(axes, ConstInts(1, "axes"));
  }
  ASSIGN_OR_RETURN(int64_t keepdims, Int("keepdims", 1));
  ASSIGN_OR_RETURN(int64_t noop_empty, Int("noop_with_empty_axes", 0));
  if (axes.empty() && noop_empty != 0) {
    if (op != "ReduceSumSquare") return Done(Emit(OpType::kIdentity, {x}, {}));
    return Done(Emit(OpType::kBinary, {x, x}, ir::BinaryAttrs{ir::BinaryKind::kMul}));
  }
  if (axes.empty()) {
    axes.resize(xs.size());
    std::iota(axes.begin(), axes.end(), 0);
  }
  for (int64_t& a : axes) {
    ASSIGN_OR_RETURN(a, Axis(a, xs.size(), "axis"));
  }
  std::sort(axes.begin(), axes.end());
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  if (axes.front() == 0) {
    return NotSupported("axes", Show(axes), "reducing over the batch axis");
  }
  const bool is_max = op == "ReduceMax", is_min = op == "ReduceMin";
  if (xs.size() == 4 && axes == std::vector<int64_t>{2, 3} && (op == "ReduceMean" || is_max)) {
    const OpType global = is_max ? OpType::kGlobalMaxPool : OpType::kGlobalAvgPool;
    if (keepdims != 0) return Done(Emit(global, {x}, {}));
    ASSIGN_OR_RETURN(ValueId pooled, Emit(global, {x}, {}, "pool"));
    return EmitReshape(pooled, {-1, xs[1]});
  }
  // Any other set of axes: move the reduced axes last, view the sample as
  // [1, K, R] (K kept, R reduced elements) and pool each row of R with a
  // [1, R] window: average (times R for a sum), or max (of −x for a min).
  std::vector<bool> reduced(xs.size(), false);
  for (int64_t a : axes) reduced[static_cast<size_t>(a)] = true;
  std::vector<int64_t> perm{0};
  int64_t kept = 1, count = 1;
  for (size_t d = 1; d < xs.size(); ++d) {
    if (!reduced[d]) {
      perm.push_back(static_cast<int64_t>(d));
      kept *= xs[d];
    }
  }
  for (int64_t a : axes) {
    perm.push_back(a);
    count *= xs[static_cast<size_t>(a)];
  }
  auto scale = [&](ValueId v, float by, std::string_view role) {
    const ValueId c = AddConst(node_.output(0) + "/" + std::string(role),
                               Tensor(Shape(ShapeOf(v).size(), 1), std::vector<float>{by}));
    return Emit(OpType::kBinary, {v, c}, ir::BinaryAttrs{ir::BinaryKind::kMul}, role);
  };
  if (op == "ReduceSumSquare") {
    ASSIGN_OR_RETURN(
        x, Emit(OpType::kBinary, {x, x}, ir::BinaryAttrs{ir::BinaryKind::kMul}, "square"));
  } else if (is_min) {
    ASSIGN_OR_RETURN(x, scale(x, -1.0f, "negate"));
  }
  if (!std::is_sorted(perm.begin(), perm.end())) {
    ASSIGN_OR_RETURN(x, Emit(OpType::kTranspose, {x}, ir::TransposeAttrs{perm}, "transpose"));
  }
  ASSIGN_OR_RETURN(ValueId rows,
                   Emit(OpType::kReshape, {x}, ir::ReshapeAttrs{{-1, 1, kept, count}}, "rows"));
  ir::PoolAttrs window;
  window.kernel = {1, count};
  ASSIGN_OR_RETURN(ValueId pooled, Emit(is_max || is_min ? OpType::kMaxPool : OpType::kAvgPool,
                                        {rows}, window, "pool"));
  if (op == "ReduceSum" || op == "ReduceSumSquare") {
    ASSIGN_OR_RETURN(pooled, scale(pooled, static_cast<float>(count), "sum"));
  } else if (is_min) {
    ASSIGN_OR_RETURN(pooled, scale(pooled, -1.0f, "negate_back"));
  }
  Shape out{-1};
  for (size_t d = 1; d < xs.size(); ++d) {
    if (!reduced[d]) {
      out.push_back(xs[d]);
    } else if (keepdims != 0) {
      out.push_back(1);
    }
  }
  return EmitReshape(pooled, std::move(out));
}

}  // namespace kamado::importers::onnximport
