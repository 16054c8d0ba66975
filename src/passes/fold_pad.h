// FoldPad: Pad(value 0) → Conv becomes a Conv whose pads include the Pad's.
// Requires: the Pad's output is read only by the Conv, as its data input
// (inputs[0]), and is not a graph output. Pooling is left alone: MaxPool pads
// with −∞ and AvgPool may exclude padded cells from the divisor, so a zero Pad
// in front of them is not the same as their own padding.
#pragma once

#include "passes/pass.h"

namespace kamado::passes {

class FoldPad final : public Pass {
 public:
  std::string_view name() const override { return "FoldPad"; }
  Result<bool> Run(ir::Graph& graph) const override;
};

}  // namespace kamado::passes
