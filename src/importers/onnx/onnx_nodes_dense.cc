// NodeConverter: Gemm and MatMul: Dense, or a 1×1 Conv for a MatMul over
// the last axis of a 3- or 4-D activation.
#include "importers/onnx/onnx_node_converter.h"

namespace kamado::importers::onnximport {

// Dense from a 2-D activation and a constant [N, K] weight.
Status NodeConverter::EmitDense(ValueId x, Tensor weight, std::optional<Tensor> bias) {
  std::vector<ValueId> in{x, AddConst(node_.output(0) + "/weight", std::move(weight))};
  in.push_back(bias ? AddConst(node_.output(0) + "/bias", std::move(*bias)) : ir::kNoValue);
  return Done(Emit(OpType::kDense, std::move(in), ir::DenseAttrs{}));
}

Tensor NodeConverter::Transposed2D(const ConstTensor& b, float scale) {
  const int64_t k = b.shape[0], n = b.shape[1];
  Tensor t({n, k});
  for (int64_t i = 0; i < k; ++i) {
    for (int64_t j = 0; j < n; ++j) t[j * k + i] = scale * b.floats[static_cast<size_t>(i * n + j)];
  }
  return t;
}

Status NodeConverter::Gemm() {
  ASSIGN_OR_RETURN(ValueId x, Activation(0, 2));
  ASSIGN_OR_RETURN(int64_t trans_a, Int("transA", 0));
  if (trans_a != 0)
    return NotSupported("transA", std::to_string(trans_a), "A's rows are the batch");
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
    const bool per_column =
        c->size() == n && (c->shape.size() == 1 || (c->shape.size() == 2 && c->shape[0] == 1));
    if (c->size() != 1 && !per_column) return GemmWithRowBias(x, std::move(w), *c, beta);
    bias = Tensor({n});
    for (int64_t j = 0; j < n; ++j) {
      (*bias)[j] = beta * c->floats[static_cast<size_t>(c->size() == 1 ? 0 : j)];
    }
  }
  return EmitDense(x, std::move(w), std::move(bias));
}

// C with a row (batch) dimension, [M, N] or [M, 1]: a Dense without bias,
// then a Binary add of β·C, whose first dimension must equal the batch size
// the plan is built for.
Status NodeConverter::GemmWithRowBias(ValueId x, Tensor w, const ConstTensor& c, float beta) {
  const int64_t n = w.shape()[0];
  Shape cs = c.shape;
  while (cs.size() < 2) cs.insert(cs.begin(), 1);
  if (cs.size() != 2 || (cs[1] != 1 && cs[1] != n) || cs[0] < 1) {
    return Unsupported(where_ + ": input C of shape " + ShapeToString(c.shape) +
                       " does not broadcast to [M, " + std::to_string(n) + "]");
  }
  std::vector<ValueId> in{x, AddConst(node_.output(0) + "/weight", std::move(w)), ir::kNoValue};
  ASSIGN_OR_RETURN(ValueId y, Emit(OpType::kDense, std::move(in), ir::DenseAttrs{}, "matmul"));
  Tensor bias(cs, c.floats);
  for (float& v : bias.span()) v *= beta;
  const ValueId b = AddConst(node_.output(0) + "/C", std::move(bias));
  return Done(Emit(OpType::kBinary, {y, b}, ir::BinaryAttrs{ir::BinaryKind::kAdd}));
}

// x [N, K] · B [K, M] is a Dense. x [N, H, W, K] or [N, P, K] · B — a Linear
// applied at every position of a channels-last activation, as ConvNeXt's
// blocks are — is a 1×1 convolution over K: the activation is viewed as
// [N, K, H, W] (Transpose; [N, P, K] first as [N, P, 1, K]), convolved with
// Bᵀ as [M, K, 1, 1], and given back in its own order.
Status NodeConverter::MatMul() {
  ASSIGN_OR_RETURN(ValueId x, Activation(0));
  ASSIGN_OR_RETURN(const ConstTensor* b, ConstFloat(1, "B"));
  const Shape xs = ShapeOf(x);
  const bool last_axis = b->shape.size() == 2 && (xs.size() == 3 || xs.size() == 4) && xs.back() == b->shape[0];
  if (!last_axis && (xs.size() != 2 || b->shape.size() != 2)) {
    return Unsupported(where_ +
                       ": only a 2-, 3- or 4-D input times a constant 2-D matrix over its last axis is "
                       "supported, got " +
                       ShapeToString(xs) + " x " + ShapeToString(b->shape));
  }
  if (!last_axis) return EmitDense(x, Transposed2D(*b, 1.0f), std::nullopt);
  const int64_t k = b->shape[0], m = b->shape[1];
  ValueId v = x;
  if (xs.size() == 3) {
    ASSIGN_OR_RETURN(v, Emit(OpType::kReshape, {v}, ir::ReshapeAttrs{{-1, xs[1], 1, k}}, "positions"));
  }
  ASSIGN_OR_RETURN(v, Emit(OpType::kTranspose, {v}, ir::TransposeAttrs{{0, 3, 1, 2}}, "channels_first"));
  Tensor w = Transposed2D(*b, 1.0f);  // [M, K]
  w = Tensor({m, k, 1, 1}, std::vector<float>(w.span().begin(), w.span().end()));
  const ValueId wid = AddConst(node_.output(0) + "/weight", std::move(w));
  ASSIGN_OR_RETURN(v, Emit(OpType::kConv, {v, wid, ir::kNoValue}, ir::ConvAttrs{}, "conv1x1"));
  if (xs.size() == 4) return Done(Emit(OpType::kTranspose, {v}, ir::TransposeAttrs{{0, 2, 3, 1}}));
  ASSIGN_OR_RETURN(v, Emit(OpType::kTranspose, {v}, ir::TransposeAttrs{{0, 2, 3, 1}}, "channels_last"));
  return EmitReshape(v, {-1, xs[1], m});
}

}  // namespace kamado::importers::onnximport
