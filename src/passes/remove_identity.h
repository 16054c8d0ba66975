// RemoveIdentity: drops Identity nodes (Dropout at inference, no-op
// reshapes) and Pads of zero on every side, and points their readers, and the graph outputs, at the input.
// An Identity whose output is a graph output and whose input is a constant is
// kept (a graph output must be computed). When a graph output is rewired to an
// intermediate value, that value takes the output's name so that callers
// still see the output under its original name.
#pragma once

#include "passes/pass.h"

namespace kamado::passes {

class RemoveIdentity final : public Pass {
 public:
  std::string_view name() const override { return "RemoveIdentity"; }
  Result<bool> Run(ir::Graph& graph) const override;
};

}  // namespace kamado::passes
