// The operators of kamado's graph IR and their attributes.
//
// Conventions (the same as ONNX, so the ONNX importer maps 1:1):
// - 4-D activations have logical shape [N, C, H, W]; the physical layout is
//   the runtime's business. A TF.js (NHWC) model is imported into this
//   logical order and its graph input is marked Layout::kNHWC so the runtime
//   reads the user's buffer correctly.
// - Conv weights are [O, I/group, kH, kW]; depthwise is group == C.
// - Dense weights are [O, K] (y = x·Wᵀ + b), or [O, C, H, W] when Dense reads
//   a 4-D input directly (after FoldFlattenIntoDense).
// - pads are {top, left, bottom, right}.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <variant>
#include <vector>

namespace kamado::ir {

// The op list, written once. Everything that walks the ops derives from it:
// the enum, OpTypeName, kAllOpTypes (which tests/ops/op_coverage_test.cc
// walks: every op must have shape inference, a reference kernel, a oneDNN
// lowering and an ONNX export), and -Werror=switch makes every `switch` over
// OpType list them all. Adding an op: docs/ARCHITECTURE.md "Adding an op".
#define KAMADO_IR_OP_TYPES(X)                                                                   \
  X(Conv)          /* {x, weight, bias|none, [residual]} */                                     \
  X(BatchNorm)     /* {x, gamma, beta, mean, variance}; inference form */                       \
  X(Activation)    /* {x} */                                                                    \
  X(Pad)           /* {x}; constant padding of H and W */                                       \
  X(MaxPool)       /* {x} */                                                                    \
  X(AvgPool)       /* {x} */                                                                    \
  X(GlobalAvgPool) /* {x} -> [N, C, 1, 1] */                                                    \
  X(GlobalMaxPool) /* {x} -> [N, C, 1, 1] */                                                    \
  X(Concat)        /* {x0, x1, ...} */                                                          \
  X(Binary)        /* {a, b}; element-wise a ∘ b, b broadcast to a (BinaryAttrs) */             \
  X(Flatten)       /* {x} -> [N, C*H*W] */                                                      \
  X(Dense)         /* {x, weight, bias|none} */                                                 \
  X(Softmax)       /* {x} */                                                                    \
  X(Identity)      /* {x}; Dropout at inference, no-op reshapes */                              \
  X(Reshape)       /* {x}; same elements in row-major order, new shape (a view) */              \
  X(Transpose)     /* {x}; permutes the axes; the batch axis stays first */                     \
  X(Slice)         /* {x}; a box of x (every batch row), as ONNX Slice with steps of 1 */      \
  X(LayerNorm)     /* {x, gamma, beta}; each vector along one axis normalised (LayerNormAttrs) */

enum class OpType {
#define KAMADO_IR_OP_ENUMERATOR(name) k##name,
  KAMADO_IR_OP_TYPES(KAMADO_IR_OP_ENUMERATOR)
#undef KAMADO_IR_OP_ENUMERATOR
};

// Every OpType, in the order above.
inline constexpr OpType kAllOpTypes[] = {
#define KAMADO_IR_OP_LIST_ENTRY(name) OpType::k##name,
    KAMADO_IR_OP_TYPES(KAMADO_IR_OP_LIST_ENTRY)
#undef KAMADO_IR_OP_LIST_ENTRY
};

// "Conv", "BatchNorm", ...: the enumerator without its k.
std::string_view OpTypeName(OpType op);

enum class ActivationKind {
  kRelu,         // max(x, 0)
  kClip,         // min(max(x, alpha), beta); ReLU6 is Clip(0, 6)
  kLeakyRelu,    // x >= 0 ? x : alpha·x
  kSigmoid,      // 1 / (1 + e^-x)
  kTanh,         // tanh(x)
  kElu,          // x >= 0 ? x : alpha·(e^x − 1)
  kHardSigmoid,  // max(0, min(1, alpha·x + beta))
  kHardSwish,    // x · max(0, min(1, x/6 + 1/2))
  kExp,          // e^x
  kReciprocal,   // 1 / x
  kNeg,          // −x
  kAbs,          // |x|
  kSqrt,         // √x
  kErf,          // erf(x); oneDNN 2.6 runs it only as part of GELU (FuseGelu)
  kGeluErf,      // x · ½ · (1 + erf(x/√2)), GELU's exact form
  kSwish,        // x · σ(alpha·x); SiLU is alpha = 1 (EfficientNet, Keras 'swish')
  kGeluTanh,     // x · ½ · (1 + tanh(√(2/π)·(x + 0.044715·x³))), GELU's tanh form
};

std::string_view ActivationKindName(ActivationKind kind);

struct Activation {
  ActivationKind kind = ActivationKind::kRelu;
  float alpha = 0.0f;
  float beta = 0.0f;

  float Apply(float x) const;  // the reference definition above
  bool operator==(const Activation&) const = default;
};

// Work fused onto the end of a Conv or Dense, applied in order: an
// activation, or (Conv only) adding the residual input element-wise.
struct PostOp {
  enum class Kind { kActivation, kSum } kind = Kind::kActivation;
  Activation activation;  // when kind == kActivation

  static PostOp Act(Activation a) { return {Kind::kActivation, a}; }
  static PostOp Sum() { return {Kind::kSum, {}}; }
  bool operator==(const PostOp&) const = default;
};

bool HasSumPostOp(const std::vector<PostOp>& post_ops);

struct ConvAttrs {
  std::array<int64_t, 2> kernel{1, 1};
  std::array<int64_t, 2> strides{1, 1};
  std::array<int64_t, 2> dilations{1, 1};  // 1 = no dilation (ONNX convention)
  std::array<int64_t, 4> pads{0, 0, 0, 0};
  int64_t group = 1;
  std::vector<PostOp> post_ops;  // at most one kSum; then inputs[3] is the residual

  bool HasSum() const;
};

struct BatchNormAttrs {
  float epsilon = 1e-3f;
  // A ReLU after the normalisation (FuseActivation: DenseNet's and the
  // pre-activation nets' BN → ReLU → Conv; oneDNN's fuse_norm_relu).
  bool relu = false;
};

struct ActivationAttrs {
  Activation activation;
};

struct PadAttrs {
  std::array<int64_t, 4> pads{0, 0, 0, 0};
  float value = 0.0f;
};

struct PoolAttrs {
  std::array<int64_t, 2> kernel{1, 1};
  std::array<int64_t, 2> strides{1, 1};
  std::array<int64_t, 4> pads{0, 0, 0, 0};
  // Average pooling only: whether padded cells count in the divisor.
  // TF/Keras 'same' leaves them out (false); ONNX's count_include_pad=1 is true.
  bool count_include_pad = false;
  // Activations applied to the pooled value, in order (no kSum). Set by the
  // SinkAvgPool pass, which moves a 1x1 Conv's activations here.
  std::vector<PostOp> post_ops = {};
};

struct ConcatAttrs {
  int64_t axis = 1;  // logical axis (channels of NCHW = 1)
};

struct FlattenAttrs {
  // Order of the flattened elements of an [N, C, H, W] input: true = (h, w, c)
  // as Keras channels_last does, false = (c, h, w) as ONNX does.
  bool channels_last = false;
};

struct DenseAttrs {
  std::vector<PostOp> post_ops;  // activations only
};

struct SoftmaxAttrs {
  int64_t axis = 1;
};

enum class BinaryKind { kAdd, kSub, kMul, kDiv };

std::string_view BinaryKindName(BinaryKind kind);

// kBinary: dst = a ∘ b with dst's shape = a's. b has a's rank and each of its
// dimensions is 1 (broadcast) or a's (ONNX/numpy broadcasting after the
// importer prepends 1s); b's dimension 0 may also be a fixed size (a constant
// with a row per sample, as Gemm's C of shape [M, N]), which then must equal
// the batch size at run time. A same-shape add of two activations is what
// FuseAdd turns into a convolution's residual sum.
struct BinaryAttrs {
  BinaryKind kind = BinaryKind::kAdd;

  float Apply(float a, float b) const;
};

// kReshape: the output shape; dimension 0 is -1 (the batch, unchanged) or
// the input's own batch size. Elements keep their row-major order.
struct ReshapeAttrs {
  std::vector<int64_t> shape;
};

// kTranspose: output axis i is input axis perm[i]; perm[0] must be 0.
struct TransposeAttrs {
  std::vector<int64_t> perm;
};

// kSlice: output dimension d is input dimension d's [starts[d], starts[d] +
// sizes[d]); one entry per axis of the input, and axis 0 (the batch) is
// always whole (starts[0] = 0, sizes[0] = -1). ShuffleNetV2's channel split.
struct SliceAttrs {
  std::vector<int64_t> starts;
  std::vector<int64_t> sizes;
};

// kLayerNorm: y = (x − mean) / √(var + epsilon) · gamma + beta, the mean and
// the (population) variance taken over axis `axis` alone, separately for
// every position of the other axes; gamma and beta are constants of shape
// [x's size along `axis`]. ONNX LayerNormalization with the last axis (after
// PyTorch's permute to channels-last, as ConvNeXt), or axis 1 of an NCHW
// tensor (LayerNorm over channels, Keras' LayerNormalization).
struct LayerNormAttrs {
  int64_t axis = 1;
  float epsilon = 1e-5f;
};

using Attrs = std::variant<std::monostate, ConvAttrs, BatchNormAttrs, ActivationAttrs, PadAttrs,
                           PoolAttrs, ConcatAttrs, FlattenAttrs, DenseAttrs, SoftmaxAttrs,
                           BinaryAttrs, ReshapeAttrs, TransposeAttrs, SliceAttrs, LayerNormAttrs>;

}  // namespace kamado::ir
