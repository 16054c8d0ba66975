// FuseGelu: GELU as exporters write it in ONNX before opset 20 —
//   Div(x, √2) or Mul(x, 1/√2) → Erf → Add(·, 1) → Mul(x, ·) → Mul(·, ½)
// (PyTorch's nn.GELU, and the Mul orders either way round) — becomes one
// Activation(kGeluErf) of x, which oneDNN runs as eltwise_gelu_erf and
// FuseActivation can then fuse into the Conv or Dense before it. Requires:
// each intermediate value is read only by the next node and is not a graph
// output; the constants are scalars equal to √2, 1/√2, 1 and ½ (to 1e-6
// relative). Anything else is left as it is (an Erf on its own is refused
// when compiled: oneDNN 2.6 has no erf). The tanh form as torch.onnx writes
// nn.GELU(approximate='tanh') — x·x, ·x, · 0.044715, + x, · √(2/π), Tanh,
// + 1, · x, · ½, the constants on either side — becomes one
// Activation(kGeluTanh) (eltwise_gelu_tanh) under the same conditions.
#pragma once

#include "passes/pass.h"

namespace kamado::passes {

class FuseGelu final : public Pass {
 public:
  std::string_view name() const override { return "FuseGelu"; }
  Result<bool> Run(ir::Graph& graph) const override;
};

}  // namespace kamado::passes
