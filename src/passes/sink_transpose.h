// SinkTranspose: moves a Transpose below the element-wise work it feeds and
// cancels it against the Transpose that undoes it. PyTorch models that work
// channels-last inside a block (ConvNeXt: permute to NHWC, LayerNorm, the
// Linears as Transpose · 1×1 Conv · Transpose, GELU, permute back) otherwise
// run a reorder at every permute. Rules, each applied where the Transpose's
// output is read by exactly one node and is not a graph output:
//   T_q(T_p(x))              → T_r(x), r[i] = p[q[i]]; nothing when r is the identity
//   Activation(T_p(x))       → T_p(Activation(x))
//   LayerNorm_a(T_p(x))      → T_p(LayerNorm_{p[a]}(x))
//   Binary(T_p(x), c), c constant → T_p(Binary(x, c permuted back))
// repeated until nothing moves. The values computed are the same; only where
// the permutes happen changes.
#pragma once

#include "passes/pass.h"

namespace kamado::passes {

class SinkTranspose final : public Pass {
 public:
  std::string_view name() const override { return "SinkTranspose"; }
  Result<bool> Run(ir::Graph& graph) const override;
};

}  // namespace kamado::passes
