// SinkAvgPool: AvgPool → 1x1 Conv becomes 1x1 Conv → AvgPool, so the pool
// runs on the Conv's (fewer) output channels. Both are linear per pixel, so
// the order can be swapped: W·avg(x) = avg(W·x). The bias stays in the Conv
// because the pool's weights sum to 1 in every window (padding excluded from
// the divisor, or no padding at all); the Conv's activations, which do not
// commute with the pool, move to the pool's post-ops.
//
// Requires: the pool's output is read only by the Conv and is not a graph
// output; the Conv is 1x1, stride 1, no padding or dilation, one group, no
// residual sum, with constant weights; and it has fewer output channels than
// input channels (otherwise the swap makes the pool more expensive). In
// Inception-style blocks this is the pooling branch: a 3x3 average pool on
// 192..2048 channels followed by a 1x1 Conv to 32..192.
#pragma once

#include "passes/pass.h"

namespace kamado::passes {

class SinkAvgPool final : public Pass {
 public:
  std::string_view name() const override { return "SinkAvgPool"; }
  Result<bool> Run(ir::Graph& graph) const override;
};

}  // namespace kamado::passes
