// Pass: one graph rewrite, modelled on ONNX Runtime's graph transformers.
//
// Contract for every pass:
// - Run() rewrites the graph in place and returns true when it changed it.
// - A pattern that cannot be rewritten (shape unknown, weight not constant,
//   value read twice, ...) is skipped: "cannot fuse" is `false`, never an
//   error. Errors are reserved for a malformed graph or a bug.
// - Intermediate values are fused away only when they have exactly one
//   consumer and are not graph outputs.
// - Constant tensors are never modified in place (Tensor copies share
//   storage, and a weight may be shared); rewritten weights are new constants.
// - Node and value ids stay stable: nodes are removed by marking them dead.
// Passes hold no state; one instance may be run on many graphs, but a graph
// must be rewritten by one thread at a time.
#pragma once

#include <string_view>

#include "core/result.h"
#include "ir/graph.h"

namespace kamado::passes {

class Pass {
 public:
  virtual ~Pass() = default;
  // The class name, for logs: "FoldBatchNorm".
  virtual std::string_view name() const = 0;
  // Returns whether the graph changed.
  virtual Result<bool> Run(ir::Graph& graph) const = 0;
};

}  // namespace kamado::passes
