// FuseSwish: Mul(x, Sigmoid(x)) (either order) — SiLU as PyTorch exports it
// (EfficientNet's every activation) — becomes one Activation(kSwish) of x,
// which oneDNN runs as eltwise_swish and FuseActivation can then fuse into
// the Conv before it. Requires: the Sigmoid's output read only by that Mul
// and not a graph output. A gate of another value (x · σ(f(x)), a
// squeeze-and-excitation block) is not this and is left as it is.
#pragma once

#include "passes/pass.h"

namespace kamado::passes {

class FuseSwish final : public Pass {
 public:
  std::string_view name() const override { return "FuseSwish"; }
  Result<bool> Run(ir::Graph& graph) const override;
};

}  // namespace kamado::passes
