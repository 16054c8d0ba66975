#include "passes/pass_manager.h"

#include <spdlog/spdlog.h>

#include <string>

#include "passes/fold_batch_norm.h"
#include "passes/fold_flatten_into_dense.h"
#include "passes/fold_pad.h"
#include "passes/fuse_activation.h"
#include "passes/fuse_add.h"
#include "passes/fuse_gelu.h"
#include "passes/fuse_layer_norm.h"
#include "passes/fuse_swish.h"
#include "passes/sink_transpose.h"
#include "passes/fold_conv_affine.h"
#include "passes/remove_identity.h"
#include "passes/sink_avg_pool.h"

namespace kamado::passes {
namespace {

Status RunOne(const Pass& pass, ir::Graph& graph) {
  const int before = graph.CountLiveNodes();
  auto changed = pass.Run(graph);
  if (!changed.ok()) {
    return changed.status().WithPrefix("pass " + std::string(pass.name()) + " on graph '" +
                                       graph.name + "'");
  }
  if (*changed) {
    spdlog::debug("pass {}: graph '{}' changed, {} -> {} live nodes", pass.name(), graph.name,
                  before, graph.CountLiveNodes());
  } else {
    spdlog::debug("pass {}: graph '{}' unchanged", pass.name(), graph.name);
  }
  return Status::Ok();
}

}  // namespace

Status RunDefaultPasses(ir::Graph& graph, const PassOptions& options) {
  if (options.remove_identity) RETURN_IF_ERROR(RunOne(RemoveIdentity(), graph));
  if (options.fuse_layer_norm) RETURN_IF_ERROR(RunOne(FuseLayerNorm(), graph));
  if (options.fuse_gelu) RETURN_IF_ERROR(RunOne(FuseGelu(), graph));
  if (options.fuse_swish) RETURN_IF_ERROR(RunOne(FuseSwish(), graph));
  if (options.sink_transpose) RETURN_IF_ERROR(RunOne(SinkTranspose(), graph));
  if (options.fold_batch_norm) RETURN_IF_ERROR(RunOne(FoldBatchNorm(), graph));
  if (options.fold_conv_affine) RETURN_IF_ERROR(RunOne(FoldConvAffine(), graph));
  if (options.fold_pad) RETURN_IF_ERROR(RunOne(FoldPad(), graph));
  if (options.fold_flatten_into_dense) RETURN_IF_ERROR(RunOne(FoldFlattenIntoDense(), graph));
  if (options.fuse_add) RETURN_IF_ERROR(RunOne(FuseAdd(), graph));
  if (options.fuse_activation) RETURN_IF_ERROR(RunOne(FuseActivation(), graph));
  if (options.sink_avg_pool) RETURN_IF_ERROR(RunOne(SinkAvgPool(), graph));
  return graph.Verify().WithPrefix("after passes on graph '" + graph.name + "'");
}

}  // namespace kamado::passes
