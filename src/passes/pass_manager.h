// The default pass pipeline, run on an imported graph before compilation.
//
// Call order: import → (optional) ir::InferShapes → RunDefaultPasses →
// runtime compile. Passes read value shapes where they need them
// (FoldFlattenIntoDense), so run shape inference first for full effect.
// Not thread-safe with respect to `graph` (one owner at a time).
#pragma once

#include "core/status.h"
#include "ir/graph.h"

namespace kamado::passes {

// Each flag turns one pass on or off (all on by default).
struct PassOptions {
  bool fold_batch_norm = true;
  bool remove_identity = true;
  bool fold_pad = true;
  bool fuse_add = true;
  bool fuse_gelu = true;
  bool fuse_layer_norm = true;
  bool fuse_swish = true;
  bool sink_transpose = true;
  bool fold_conv_affine = true;
  bool fuse_activation = true;
  bool fold_flatten_into_dense = true;
  bool sink_avg_pool = true;
};

// Runs, in this order, each enabled pass once: RemoveIdentity, FuseLayerNorm,
// FuseGelu, FuseSwish, SinkTranspose, FoldBatchNorm, FoldConvAffine, FoldPad,
// FoldFlattenIntoDense, FuseAdd, FuseActivation, SinkAvgPool; then
// graph.Verify(). The order matters: the patterns that become one op (LayerNorm,
// GELU, swish) do so before SinkTranspose moves permutes through them; permutes
// cancel before FoldConvAffine can see a Conv's bias Add or layer-scale Mul
// right after it; BatchNorm and those fold before the activation after them is
// fused (a Conv with post-ops cannot absorb them), Add fuses before the
// activation after it, giving Conv[sum, relu], and SinkAvgPool comes last so
// the Conv's fused activation moves with it to the pool. Logs at debug level
// what each pass changed. Errors come from a malformed graph (Verify) or a pass
// bug, and are prefixed with the pass name; the graph may then be partly
// rewritten.
Status RunDefaultPasses(ir::Graph& graph, const PassOptions& options = {});

}  // namespace kamado::passes
