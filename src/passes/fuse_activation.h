// FuseActivation: Conv or Dense → Activation becomes the Conv (Dense) with
// the activation appended to its post-ops; the producer takes over the
// activation's output value. Requires: the producer's output is read only by
// the Activation and is not a graph output. Chains of activations fuse one
// after another (post-ops apply in order). A BatchNorm that did not fold
// (BN → ReLU → Conv, DenseNet's) takes a plain ReLU as its `relu` flag.
#pragma once

#include "passes/pass.h"

namespace kamado::passes {

class FuseActivation final : public Pass {
 public:
  std::string_view name() const override { return "FuseActivation"; }
  Result<bool> Run(ir::Graph& graph) const override;
};

}  // namespace kamado::passes
