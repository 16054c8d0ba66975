// CompiledModel: an ir::Graph after the passes, with its oneDNN primitives
// and reordered weights. Immutable from the caller's point of view and
// shared (std::shared_ptr<const CompiledModel>) by every Session and thread.
//
// Primitives depend on the batch size and the thread count, so they live in
// Plans created on first use for each (batch, threads) pair and cached; that
// cache and the reordered-weights cache are guarded by `mu_`. Weights are
// reordered once per distinct layout a primitive asks for, and only the
// reordered copy is kept.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "ir/graph.h"
#include "passes/pass_manager.h"
#include "runtime/constant_arena.h"
#include "runtime/plan.h"
#include "runtime/precision.h"
#include "runtime/quantization.h"
#include "runtime/tensor_info.h"

namespace kamado::runtime {
namespace detail {
class PlanBuilder;
}  // namespace detail

struct CompileOptions {
  bool run_passes = true;
  passes::PassOptions passes;
  int threads = 0;  // thread count of the plan built eagerly; 0 = OpenMP's default
  // Winograd F(2x2, 3x3) for the 3x3 convolutions it was measured to speed
  // up (see PlanBuilder::UseWinograd); off: every convolution direct.
  bool winograd = true;
  // The type activations and convolution weights are held in (precision.h);
  // unset: fp32 here, or the model's `precision:` when loaded through
  // model::LoadModel. Compile fails with Unsupported when this CPU cannot
  // run it (CheckPrecisionSupported).
  std::optional<Precision> precision;
  // int8 only, and required there: the ranges `kamado quantize` measured
  // (runtime/quantization.h). model::LoadModel reads them from the model
  // directory.
  std::shared_ptr<const QuantTable> quantization;
};

class CompiledModel {
 public:
  // Runs the passes, checks every op can be lowered by building the batch-1
  // plan (or the plan for the one batch size a constant with a row per
  // sample, such as Gemm's C of shape [M, N], allows; other batch sizes then
  // fail in GetPlan/Session::Run with Unsupported), and returns the shareable
  // model.
  static Result<std::shared_ptr<const CompiledModel>> Compile(ir::Graph graph,
                                                              const CompileOptions& options = {});

  const std::vector<TensorInfo>& inputs() const { return inputs_; }
  const std::vector<TensorInfo>& outputs() const { return outputs_; }
  // The graph after the passes. Constant values whose weights were reordered
  // no longer hold their source tensor (only the reordered copy is kept).
  const ir::Graph& graph() const { return graph_; }
  bool winograd() const { return winograd_; }
  Precision precision() const { return precision_; }
  // int8: the ranges it was compiled with (null otherwise), and the bits
  // its weights were quantised to on this CPU (runtime/quantization.h).
  const std::shared_ptr<const QuantTable>& quantization() const { return quant_; }
  int weight_bits() const { return weight_bits_; }

  // A model read back from a compiled file (runtime/compiled_file.h):
  // `graph` is after the passes, with the sources of reordered weights
  // released; `constants` are those weights in the layouts the plans chose,
  // pointing into `storage` (the file's mapping), which the model keeps
  // alive. Builds the batch-1 plan as Compile does.
  static Result<std::shared_ptr<const CompiledModel>> FromCompiled(
      ir::Graph graph, bool winograd, Precision precision, int threads,
      std::vector<std::pair<ir::ValueId, dnnl::memory>> constants,
      std::shared_ptr<const void> storage,
      std::shared_ptr<const QuantTable> quantization = nullptr);

  // Every reordered weight the plans built so far use, by value (for the
  // compiled-file writer). Thread-safe.
  std::vector<std::pair<ir::ValueId, dnnl::memory>> ReorderedConstants() const;

  // Bytes of weights this model reordered into its own memory (for a model
  // from a compiled file: those the file did not hold). Thread-safe.
  size_t private_weight_bytes() const;

  // The plan for `batch` × `threads`, built on first use. Thread-safe:
  // plans are built under `mu_`, and a built plan is immutable.
  Result<std::shared_ptr<const Plan>> GetPlan(int64_t batch, int threads) const;

 private:
  // The plan builder runs inside GetPlan, with `mu_` held, and is the only
  // caller of the *Locked functions.
  friend class detail::PlanBuilder;

  CompiledModel() = default;
  // Records the inputs and outputs and builds the first plan (batch 1, or
  // the one batch size a constant with a row per sample allows).
  Status Finish(int threads);

  // Whether `value` is a constant (its source tensor may have been released
  // after compile). `mu_` must be held.
  bool IsConstantLocked(ir::ValueId value) const;
  // Reordered weights for constant `value` in layout `desc`; created on first
  // request. `mu_` must be held.
  // `scales` (int8): the reorder from the fp32 source multiplies by them
  // (mask as oneDNN's output scales): weights quantised per output channel,
  // biases into the accumulator's units. A copy made once keeps them.
  Result<dnnl::memory> ConstantLocked(ir::ValueId value, const dnnl::memory::desc& desc,
                                      const dnnl::memory::desc& source_desc,
                                      const std::vector<float>* scales = nullptr,
                                      int scale_mask = 0) const;
  // Sets quant_, act_scales_ and weight_bits_ for an int8 model.
  Status SetQuantization(std::shared_ptr<const QuantTable> table);

  ir::Graph graph_;
  std::vector<TensorInfo> inputs_;
  std::vector<TensorInfo> outputs_;
  bool winograd_ = true;
  Precision precision_ = Precision::kFp32;
  std::shared_ptr<const QuantTable> quant_;
  std::vector<std::optional<ActivationScale>> act_scales_;  // by value id (int8)
  int weight_bits_ = 8;

  // A compiled file's mapping, when the weights in constants_ point into
  // it; released after everything that points into it.
  std::shared_ptr<const void> storage_;
  mutable std::mutex mu_;
  // Storage of the reordered weights (on huge pages where the kernel
  // allows): the dnnl::memory objects in constants_ and in every plan only
  // point into it, so it is declared first and destroyed last.
  mutable ConstantArena weights_;
  mutable std::map<std::pair<int64_t, int>, std::shared_ptr<const Plan>> plans_;
  mutable std::map<ir::ValueId, std::vector<dnnl::memory>> constants_;
};

}  // namespace kamado::runtime
