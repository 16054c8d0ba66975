// FoldConvAffine: a Conv followed by an Add, Sub, Mul or Div with a constant
// that is one number per output channel ([1, O, 1, 1]) or one for all folds
// into the Conv's weights and bias:
//   + c: b' = b + c      − c: b' = b − c
//   · c: w' = w·c, b' = b·c      / c: w' = w/c, b' = b/c (c ≠ 0)
// PyTorch's Linear bias after a MatMul run as a 1×1 conv, and ConvNeXt's
// layer scale γ, come out this way; folded, the activation and the residual
// sum after them fuse into the Conv too. Requires: the Conv has no post-ops
// yet and its output is read only by that node and is not a graph output.
#pragma once

#include "passes/pass.h"

namespace kamado::passes {

class FoldConvAffine final : public Pass {
 public:
  std::string_view name() const override { return "FoldConvAffine"; }
  Result<bool> Run(ir::Graph& graph) const override;
};

}  // namespace kamado::passes
