// FuseLayerNorm: LayerNorm as exporters write it before opset 17 (PyTorch's
// nn.LayerNorm at opset 13) —
//   m = mean(x); d = x − m; v = mean(d · d); y = d / √(v + ε)
// with both means over one axis a (ReduceMean, keepdims, as the ONNX
// importer lowers it: [Transpose a last] → Reshape [N, 1, K, C] → AvgPool
// 1×C → Reshape) — becomes one LayerNorm of x over a, and a following Mul by
// a constant and Add of a constant that vary only along a (or are scalars)
// become its gamma and beta. Requires: every intermediate value read only by
// the next node of the pattern (d by the square and the Div) and not a graph
// output; ε a constant scalar ≥ 0. Anything else is left as it is (it still
// runs, as pools and element-wise ops).
#pragma once

#include "passes/pass.h"

namespace kamado::passes {

class FuseLayerNorm final : public Pass {
 public:
  std::string_view name() const override { return "FuseLayerNorm"; }
  Result<bool> Run(ir::Graph& graph) const override;
};

}  // namespace kamado::passes
