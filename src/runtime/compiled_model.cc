#include "runtime/compiled_model.h"

#include <omp.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "ir/shape_inference.h"
#include "runtime/dnnl/dnnl_util.h"
#include "runtime/plan_builder.h"

namespace kamado::runtime {
namespace {

bool IsBlocked(const dnnl::memory::desc& md) { return md.data.format_kind == dnnl_blocked; }

// A copy of `from` in layout `desc`, stored in `arena`.
Result<dnnl::memory> ReorderInto(ConstantArena& arena, dnnl::memory from,
                                 const dnnl::memory::desc& desc, const std::string& name,
                                 const std::vector<float>* scales = nullptr, int mask = 0) {
  void* storage = arena.Allocate(desc.get_size());
  if (storage == nullptr) {
    return ResourceExhausted("cannot allocate " + std::to_string(desc.get_size()) +
                             " bytes for constant '" + name + "'");
  }
  try {
    dnnl::memory target(desc, CpuEngine(), storage);
    dnnl::stream stream(CpuEngine());
    dnnl::primitive_attr attr;
    if (scales != nullptr) attr.set_output_scales(mask, *scales);
    dnnl::reorder(dnnl::reorder::primitive_desc(from, target, attr)).execute(stream, from, target);
    stream.wait();
    return target;
  } catch (const dnnl::error& e) {
    return FromDnnlError(e, "reordering constant '" + name + "'");
  }
}

// The batch size a Binary's second operand pins (its dimension 0 when fixed
// and not 1), or 1.
int64_t FixedBatch(const ir::Graph& graph) {
  for (ir::NodeId id = 0; id < graph.num_nodes(); ++id) {
    const ir::Node& n = graph.node(id);
    if (n.dead || n.op != ir::OpType::kBinary || n.inputs.size() < 2) continue;
    const Shape& b = graph.value(n.inputs[1]).shape;
    if (!b.empty() && b[0] > 1) return b[0];
  }
  return 1;
}

}  // namespace

Result<std::shared_ptr<const CompiledModel>> CompiledModel::Compile(ir::Graph graph,
                                                                    const CompileOptions& options) {
  const Precision precision = options.precision.value_or(Precision::kFp32);
  RETURN_IF_ERROR(CheckPrecisionSupported(precision));
  RETURN_IF_ERROR(ir::InferShapes(graph));
  if (options.run_passes) RETURN_IF_ERROR(passes::RunDefaultPasses(graph, options.passes));
  RETURN_IF_ERROR(graph.Verify());
  // Constants no live node reads (the weights a fold replaced, such as a
  // Conv's before its BatchNorm was folded in: 85 MiB of InceptionV3's) are
  // released: nothing can read them again.
  std::vector<bool> read(static_cast<size_t>(graph.num_values()), false);
  for (ir::NodeId id = 0; id < graph.num_nodes(); ++id) {
    if (graph.node(id).dead) continue;
    for (ir::ValueId v : graph.node(id).inputs) {
      if (v != ir::kNoValue) read[static_cast<size_t>(v)] = true;
    }
  }
  for (ir::ValueId v : graph.outputs()) read[static_cast<size_t>(v)] = true;
  for (ir::ValueId v = 0; v < graph.num_values(); ++v) {
    if (!read[static_cast<size_t>(v)]) graph.value(v).constant.reset();
  }
  std::shared_ptr<CompiledModel> model(new CompiledModel());
  model->graph_ = std::move(graph);
  model->winograd_ = options.winograd;
  model->precision_ = precision;
  if (precision == Precision::kInt8) RETURN_IF_ERROR(model->SetQuantization(options.quantization));
  RETURN_IF_ERROR(model->Finish(options.threads > 0 ? options.threads : omp_get_max_threads()));
  // Keep only the reordered weights: a later plan that wants another layout
  // reorders from those (so the source stays where the only copy is in
  // Winograd's format, which oneDNN cannot reorder from). int8 keeps its
  // fp32 sources: oneDNN cannot reorder out of a quantised layout that
  // carries compensation, and a fresh copy must be quantised from fp32.
  if (precision == Precision::kInt8) return std::shared_ptr<const CompiledModel>(std::move(model));
  for (const auto& [value, memories] : model->constants_) {
    if (std::any_of(memories.begin(), memories.end(),
                    [](const dnnl::memory& m) { return IsBlocked(m.get_desc()); })) {
      model->graph_.value(value).constant.reset();
    }
  }
  return std::shared_ptr<const CompiledModel>(std::move(model));
}

Status CompiledModel::Finish(int threads) {
  // Inputs and outputs in the caller's layout, batch -1.
  auto describe = [this](const std::vector<ir::ValueId>& values, const char* what,
                         std::vector<TensorInfo>& out) -> Status {
    for (ir::ValueId v : values) {
      Shape s = graph_.value(v).shape;
      if (s.size() == 4 && graph_.input_layout == Layout::kNHWC) s = {s[0], s[2], s[3], s[1]};
      if (s.empty()) return InvalidArgument(std::string(what) + " '" + graph_.value(v).name + "' has no shape");
      s[0] = -1;
      out.push_back({graph_.value(v).name, s});
    }
    return Status::Ok();
  };
  RETURN_IF_ERROR(describe(graph_.inputs(), "graph input", inputs_));
  RETURN_IF_ERROR(describe(graph_.outputs(), "graph output", outputs_));
  // Build the batch-1 plan now so an unsupported op fails at load, not at
  // the first request (or the plan for the one batch size a constant with a
  // row per sample allows, e.g. Gemm's C of shape [M, N]).
  return GetPlan(FixedBatch(graph_), threads).status();
}

Result<std::shared_ptr<const CompiledModel>> CompiledModel::FromCompiled(
    ir::Graph graph, bool winograd, Precision precision, int threads,
    std::vector<std::pair<ir::ValueId, dnnl::memory>> constants,
    std::shared_ptr<const void> storage, std::shared_ptr<const QuantTable> quantization) {
  RETURN_IF_ERROR(CheckPrecisionSupported(precision));
  std::shared_ptr<CompiledModel> model(new CompiledModel());
  model->storage_ = std::move(storage);
  model->graph_ = std::move(graph);
  model->winograd_ = winograd;
  model->precision_ = precision;
  if (precision == Precision::kInt8) RETURN_IF_ERROR(model->SetQuantization(std::move(quantization)));
  for (auto& [value, memory] : constants) model->constants_[value].push_back(std::move(memory));
  RETURN_IF_ERROR(model->Finish(threads));
  return std::shared_ptr<const CompiledModel>(std::move(model));
}

size_t CompiledModel::private_weight_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return weights_.reserved_bytes();
}

std::vector<std::pair<ir::ValueId, dnnl::memory>> CompiledModel::ReorderedConstants() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<ir::ValueId, dnnl::memory>> out;
  for (const auto& [value, memories] : constants_) {
    for (const dnnl::memory& m : memories) out.emplace_back(value, m);
  }
  return out;
}

Result<std::shared_ptr<const Plan>> CompiledModel::GetPlan(int64_t batch, int threads) const {
  if (batch < 1) return InvalidArgument("batch size must be at least 1, got " + std::to_string(batch));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = plans_.find({batch, threads});
  if (it != plans_.end()) return it->second;
  // oneDNN sizes its kernels' thread partitioning at creation, from the
  // calling thread's OpenMP setting.
  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  auto plan = BuildPlan(*this, batch, threads);
  omp_set_num_threads(saved);
  if (!plan.ok()) return plan.status();
  std::shared_ptr<const Plan> shared = std::move(plan).value();
  spdlog::debug("model '{}': plan for batch {} × {} threads: {} steps, arena {:.1f} MiB "
                "(unshared {:.1f} MiB), scratchpad {:.1f} KiB, {:.2f} GFLOP",
                graph_.name, batch, threads, shared->steps.size(),
                shared->memory.arena_bytes / 1048576.0, shared->memory.unshared_bytes / 1048576.0,
                shared->scratchpad_bytes / 1024.0, shared->total_flops / 1e9);
  plans_.emplace(std::make_pair(batch, threads), shared);
  return shared;
}

bool CompiledModel::IsConstantLocked(ir::ValueId value) const {
  return graph_.value(value).is_constant() || constants_.count(value) > 0;
}

Status CompiledModel::SetQuantization(std::shared_ptr<const QuantTable> table) {
  if (table == nullptr) {
    return InvalidArgument(
        "precision int8 needs the ranges of a calibration: quantize the model first "
        "(kamado quantize --model DIR --images PHOTOS -o OUT_DIR) and load OUT_DIR");
  }
  quant_ = std::move(table);
  act_scales_ = ActivationScales(graph_, *quant_);
  weight_bits_ = WeightBits();
  return Status::Ok();
}

Result<dnnl::memory> CompiledModel::ConstantLocked(ir::ValueId value,
                                                   const dnnl::memory::desc& desc,
                                                   const dnnl::memory::desc& source_desc,
                                                   const std::vector<float>* scales,
                                                   int scale_mask) const {
  auto& cached = constants_[value];
  for (const dnnl::memory& m : cached) {
    if (m.get_desc() == desc) return m;
  }
  const ir::Value& v = graph_.value(value);
  auto keep = [&cached](Result<dnnl::memory> m) {
    if (m.ok()) cached.push_back(m.value());
    return m;
  };
  if (v.is_constant()) {
    if (source_desc.get_size() != static_cast<size_t>(v.constant->size()) * sizeof(float)) {
      return Internal("constant '" + v.name + "' has " + std::to_string(v.constant->size()) +
                      " elements, the primitive expects " +
                      std::to_string(source_desc.get_size() / sizeof(float)));
    }
    try {
      return keep(ReorderInto(
          weights_, dnnl::memory(source_desc, CpuEngine(), const_cast<float*>(v.constant->data())),
          desc, v.name, scales, scale_mask));
    } catch (const dnnl::error& e) {
      return FromDnnlError(e, "reordering constant '" + v.name + "'");
    }
  }
  // The source is released once a copy exists. oneDNN cannot reorder out of
  // its opaque Winograd weight format, so a later layout comes from a copy
  // in a blocked (or plain) one.
  for (const dnnl::memory& m : cached) {
    if (IsBlocked(m.get_desc())) return keep(ReorderInto(weights_, m, desc, v.name));
  }
  return Internal("value '" + v.name + "' is not a constant");
}

}  // namespace kamado::runtime
