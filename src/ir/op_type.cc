#include "ir/op_type.h"

#include <algorithm>
#include <cmath>

namespace kamado::ir {

std::string_view OpTypeName(OpType op) {
  switch (op) {
#define KAMADO_IR_OP_NAME(name) \
  case OpType::k##name:         \
    return #name;
    KAMADO_IR_OP_TYPES(KAMADO_IR_OP_NAME)
#undef KAMADO_IR_OP_NAME
  }
  return "?";
}

std::string_view ActivationKindName(ActivationKind kind) {
  switch (kind) {
    case ActivationKind::kRelu: return "relu";
    case ActivationKind::kClip: return "clip";
    case ActivationKind::kLeakyRelu: return "leaky_relu";
    case ActivationKind::kSigmoid: return "sigmoid";
    case ActivationKind::kTanh: return "tanh";
    case ActivationKind::kElu: return "elu";
    case ActivationKind::kHardSigmoid: return "hard_sigmoid";
    case ActivationKind::kHardSwish: return "hard_swish";
    case ActivationKind::kExp: return "exp";
    case ActivationKind::kReciprocal: return "reciprocal";
    case ActivationKind::kNeg: return "neg";
    case ActivationKind::kAbs: return "abs";
    case ActivationKind::kSqrt: return "sqrt";
    case ActivationKind::kErf: return "erf";
    case ActivationKind::kGeluErf: return "gelu_erf";
    case ActivationKind::kSwish: return "swish";
    case ActivationKind::kGeluTanh: return "gelu_tanh";
  }
  return "?";
}

float Activation::Apply(float x) const {
  switch (kind) {
    case ActivationKind::kRelu: return x > 0.0f ? x : 0.0f;
    case ActivationKind::kClip: return std::min(std::max(x, alpha), beta);
    case ActivationKind::kLeakyRelu: return x >= 0.0f ? x : alpha * x;
    case ActivationKind::kSigmoid: return 1.0f / (1.0f + std::exp(-x));
    case ActivationKind::kTanh: return std::tanh(x);
    case ActivationKind::kElu: return x >= 0.0f ? x : alpha * (std::exp(x) - 1.0f);
    case ActivationKind::kHardSigmoid: return std::max(0.0f, std::min(1.0f, alpha * x + beta));
    case ActivationKind::kHardSwish:
      return x * std::max(0.0f, std::min(1.0f, x / 6.0f + 0.5f));
    case ActivationKind::kExp: return std::exp(x);
    case ActivationKind::kReciprocal: return 1.0f / x;
    case ActivationKind::kNeg: return -x;
    case ActivationKind::kAbs: return std::abs(x);
    case ActivationKind::kSqrt: return std::sqrt(x);
    case ActivationKind::kErf: return std::erf(x);
    case ActivationKind::kGeluErf: return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));
    case ActivationKind::kSwish: return x / (1.0f + std::exp(-alpha * x));
    case ActivationKind::kGeluTanh:
      return 0.5f * x * (1.0f + std::tanh(0.79788456080286536f * (x + 0.044715f * x * x * x)));
  }
  return x;
}

std::string_view BinaryKindName(BinaryKind kind) {
  switch (kind) {
    case BinaryKind::kAdd: return "add";
    case BinaryKind::kSub: return "sub";
    case BinaryKind::kMul: return "mul";
    case BinaryKind::kDiv: return "div";
  }
  return "?";
}

float BinaryAttrs::Apply(float a, float b) const {
  switch (kind) {
    case BinaryKind::kAdd: return a + b;
    case BinaryKind::kSub: return a - b;
    case BinaryKind::kMul: return a * b;
    case BinaryKind::kDiv: return a / b;
  }
  return a;
}

bool HasSumPostOp(const std::vector<PostOp>& post_ops) {
  return std::any_of(post_ops.begin(), post_ops.end(),
                     [](const PostOp& p) { return p.kind == PostOp::Kind::kSum; });
}

bool ConvAttrs::HasSum() const { return HasSumPostOp(post_ops); }

}  // namespace kamado::ir
