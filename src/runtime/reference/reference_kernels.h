// Reference kernels: plain, obviously correct implementations of every IR op
// (see ir/op_type.h for the semantics). They are the oracle that the oneDNN
// runtime and the graph passes are tested against, in the spirit of ncnn's
// tests/testutil.cpp: clarity first, but sums (conv, dense, pooling) use
// double accumulators and conv loops run over contiguous rows, so a whole
// InceptionV3 at 299×299 runs in seconds on one core.
//
// Contract shared by all kernels:
// - 4-D tensors are NCHW, row-major; the batch N is whatever the input has.
// - Inputs are never modified; every result is a freshly allocated Tensor
//   (no storage shared with an input).
// - Shape mismatches are reported as InvalidArgument, attributes the kernel
//   cannot honour (e.g. a sum post-op on Dense) as Unsupported; messages name
//   the op and the offending shape or attribute. Callers add the node name.
// - Stateless and thread-safe: kernels may run concurrently on distinct
//   outputs.
#pragma once

#include <span>
#include <vector>

#include "core/result.h"
#include "core/tensor.h"
#include "ir/op_type.h"

namespace kamado::reference {

// Convolution. src [N, C, H, W], weight [O, C/group, kH, kW], bias [O] or
// null, residual (required iff attrs has a sum post-op) of the output shape
// [N, O, OH, OW]. dst = post_ops(bias + Σ src·weight), post-ops applied in
// order on the float result; padded cells contribute zero.
Result<Tensor> Conv2D(const Tensor& src, const Tensor& weight, const Tensor* bias,
                      const ir::ConvAttrs& attrs, const Tensor* residual = nullptr);

// Inference batch norm over axis 1 of an (at least 2-D) src:
// dst = (x − mean) / √(variance + ε) · gamma + beta, each parameter [C].
Result<Tensor> BatchNorm(const Tensor& src, const Tensor& gamma, const Tensor& beta,
                         const Tensor& mean, const Tensor& variance,
                         const ir::BatchNormAttrs& attrs);

// Element-wise ir::Activation::Apply, any shape.
Tensor Activation(const Tensor& src, const ir::Activation& activation);

// Constant padding of H and W of a 4-D src; pads {top, left, bottom, right}.
Result<Tensor> Pad(const Tensor& src, const ir::PadAttrs& attrs);

// Max pooling of a 4-D src; padded cells are ignored (never win).
// Each pad must be smaller than the kernel along its axis.
Result<Tensor> MaxPool(const Tensor& src, const ir::PoolAttrs& attrs);

// Average pooling of a 4-D src. Divisor: kH·kW when count_include_pad,
// else the number of window cells that lie inside the input.
// Each pad must be smaller than the kernel along its axis.
Result<Tensor> AvgPool(const Tensor& src, const ir::PoolAttrs& attrs);

// Mean over H and W of a 4-D src -> [N, C, 1, 1].
Result<Tensor> GlobalAvgPool(const Tensor& src);

// Concatenation along `attrs.axis` (>= 1); all other dimensions must match.
Result<Tensor> Concat(std::span<const Tensor> srcs, const ir::ConcatAttrs& attrs);

// [N, d1, d2, ...] -> [N, d1·d2·...]. For a 4-D [N, C, H, W] src with
// channels_last the elements come in (h, w, c) order, else in (c, h, w).
Result<Tensor> Flatten(const Tensor& src, const ir::FlattenAttrs& attrs);

// Fully connected: dst[n, o] = post_ops(bias[o] + Σ_k src[n, k]·weight[o, k]).
// src [N, K] with weight [O, K], or src [N, C, H, W] with weight [O, C, H, W]
// (summed over c, h, w). bias [O] or null. Post-ops must be activations.
Result<Tensor> Dense(const Tensor& src, const Tensor& weight, const Tensor* bias,
                     const ir::DenseAttrs& attrs);

// Softmax along `attrs.axis` (0 <= axis < rank), computed as
// e^(x − max) / Σ e^(x − max) so large inputs do not overflow.
Result<Tensor> Softmax(const Tensor& src, const ir::SoftmaxAttrs& attrs);

// Element-wise a ∘ b; b has a's rank and each dimension 1 or a's (broadcast).
Result<Tensor> Binary(const Tensor& a, const Tensor& b, const ir::BinaryAttrs& attrs);

// Maximum over H and W of a 4-D src -> [N, C, 1, 1].
Result<Tensor> GlobalMaxPool(const Tensor& src);

// The same elements with shape attrs.shape (a -1 first dimension = src's batch).
Result<Tensor> Reshape(const Tensor& src, const ir::ReshapeAttrs& attrs);

// dst axis i = src axis perm[i], any rank.
Result<Tensor> Transpose(const Tensor& src, const ir::TransposeAttrs& attrs);

// The box attrs.starts .. + attrs.sizes of src (sizes[0] = -1: every batch row).
Result<Tensor> Slice(const Tensor& src, const ir::SliceAttrs& attrs);

// Each vector along attrs.axis normalised to mean 0 and variance 1 (the
// population variance, plus attrs.epsilon), then · gamma + beta.
Result<Tensor> LayerNorm(const Tensor& src, const Tensor& gamma, const Tensor& beta,
                         const ir::LayerNormAttrs& attrs);

// Layout helpers for graph inputs and outputs: [N, H, W, C] <-> [N, C, H, W].
Result<Tensor> NhwcToNchw(const Tensor& src);
Result<Tensor> NchwToNhwc(const Tensor& src);

}  // namespace kamado::reference
