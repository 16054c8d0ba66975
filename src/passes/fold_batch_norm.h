// FoldBatchNorm: Conv → BatchNorm (and Dense → BatchNorm) becomes one Conv
// (Dense) with rescaled weights and a new bias:
//   w' = w·γ/√(σ²+ε) per output channel,  b' = (b−μ)·γ/√(σ²+ε) + β
// (b = 0 when the producer has no bias). Requires: the producer's output is
// read only by the BatchNorm and is not a graph output; the producer has no
// post-ops; weight, bias and the four BatchNorm parameters are constants.
// New constants are written; the old ones are left untouched.
#pragma once

#include "passes/pass.h"

namespace kamado::passes {

class FoldBatchNorm final : public Pass {
 public:
  std::string_view name() const override { return "FoldBatchNorm"; }
  Result<bool> Run(ir::Graph& graph) const override;
};

}  // namespace kamado::passes
