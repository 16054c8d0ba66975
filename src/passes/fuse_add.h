// FuseAdd: a same-shape Binary Add(a, b) of two activations, where a is
// produced by a Conv, becomes that Conv with a Sum post-op and residual input
// inputs[3] = b; the Conv takes over the Add's output value. Requires: the Conv's output is read only by the Add and is not
// a graph output, the Conv has no post-ops yet, and b is not the Conv's own
// output. When both operands qualify, the Conv later in node order is chosen
// (its residual, the earlier one's output, is then already computed).
#pragma once

#include "passes/pass.h"

namespace kamado::passes {

class FuseAdd final : public Pass {
 public:
  std::string_view name() const override { return "FuseAdd"; }
  Result<bool> Run(ir::Graph& graph) const override;
};

}  // namespace kamado::passes
