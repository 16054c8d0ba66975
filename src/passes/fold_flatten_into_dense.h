// FoldFlattenIntoDense: Flatten(x) → Dense, x 4-D [N, C, H, W], becomes a
// Dense reading x directly with its weight [O, K] reshaped and permuted to
// [O, C, H, W] (so the runtime needs no reorder of the activation):
//   w4[o][c][h][w] = W[o][(h·W + w)·C + c]  (FlattenAttrs::channels_last)
//   w4[o][c][h][w] = W[o][(c·H + h)·W + w]  (otherwise)
// Requires: the Flatten's output is read only by the Dense (as inputs[0]) and
// is not a graph output; C, H, W are known; the weight is a constant [O, C·H·W].
#pragma once

#include "passes/pass.h"

namespace kamado::passes {

class FoldFlattenIntoDense final : public Pass {
 public:
  std::string_view name() const override { return "FoldFlattenIntoDense"; }
  Result<bool> Run(ir::Graph& graph) const override;
};

}  // namespace kamado::passes
