#include "runtime/session.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "runtime/dnnl/dnnl_util.h"
#include "runtime/constant_arena.h"

namespace kamado::runtime {
// A plan bound to this session's memory: one dnnl::memory per argument.
// Every Bound points into the session's one arena and one scratchpad.
struct Session::Bound {
  std::shared_ptr<const Plan> plan;
  std::vector<dnnl::memory> inputs;
  std::vector<std::unordered_map<int, dnnl::memory>> args;  // per step
  std::vector<float*> fill_targets;                          // per step (fill steps only)
};

Session::Session(std::shared_ptr<const CompiledModel> model, SessionOptions options)
    : model_(std::move(model)), options_(options), stream_(CpuEngine()) {
  threads_ = options_.threads > 0 ? options_.threads : omp_get_max_threads();
}

Session::~Session() = default;

Result<Session::Bound*> Session::Bind(int64_t batch) {
  auto it = bound_.find(batch);
  if (it != bound_.end()) return it->second.get();
  ASSIGN_OR_RETURN(std::shared_ptr<const Plan> plan, model_->GetPlan(batch, threads_));
  // One arena and one scratchpad, sized for the largest plan bound so far:
  // plans run one at a time on a session, so they can share them. A larger
  // plan grows both and unbinds the others (they bind again on next use).
  if (plan->memory.arena_bytes > arena_bytes_ || plan->scratchpad_bytes > scratchpad_bytes_) {
    const size_t arena_bytes = std::max(arena_bytes_, plan->memory.arena_bytes);
    const size_t scratchpad_bytes = std::max(scratchpad_bytes_, plan->scratchpad_bytes);
    bound_.clear();
    arena_.reset();
    scratchpad_.reset();
    arena_bytes_ = scratchpad_bytes_ = 0;
    arena_ = AllocateAligned(arena_bytes);
    scratchpad_ = AllocateAligned(scratchpad_bytes);
    if (!arena_ || !scratchpad_) {
      arena_.reset();
      scratchpad_.reset();
      return ResourceExhausted("cannot allocate " + std::to_string(arena_bytes) +
                               " bytes of activation memory");
    }
    arena_bytes_ = arena_bytes;
    scratchpad_bytes_ = scratchpad_bytes;
  }
  auto b = std::make_unique<Bound>();
  b->plan = plan;
  const dnnl::engine& engine = CpuEngine();
  try {
    for (const MemRef& in : plan->inputs) b->inputs.emplace_back(in.desc, engine, nullptr);
    auto resolve = [&](const MemRef& ref) -> dnnl::memory {
      switch (ref.kind) {
        case MemRef::Kind::kArena:
          return dnnl::memory(ref.desc, engine,
                              arena_.get() + plan->memory.offsets[static_cast<size_t>(ref.index)] +
                                  ref.offset);
        case MemRef::Kind::kConstant:
          return plan->constants[static_cast<size_t>(ref.index)];
        case MemRef::Kind::kInput:
          return b->inputs[static_cast<size_t>(ref.index)];
        case MemRef::Kind::kScratchpad:
          return dnnl::memory(ref.desc, engine, scratchpad_.get());
      }
      return {};
    };
    for (const Step& step : plan->steps) {
      auto& map = b->args.emplace_back();
      for (const auto& [arg, ref] : step.args) map.emplace(arg, resolve(ref));
      float* fill = nullptr;
      if (step.fill) {
        const MemRef& ref = step.args.front().second;
        fill = reinterpret_cast<float*>(
            arena_.get() + plan->memory.offsets[static_cast<size_t>(ref.index)] + ref.offset);
      }
      b->fill_targets.push_back(fill);
    }
  } catch (const dnnl::error& e) {
    return FromDnnlError(e, "binding the plan for batch " + std::to_string(batch));
  }
  if (options_.profile && profile_.empty()) {
    for (const Step& s : plan->steps) profile_.push_back({s.node, s.op, s.impl, s.flops, 0.0, 0});
  }
  Bound* raw = b.get();
  bound_.emplace(batch, std::move(b));
  return raw;
}

Result<std::vector<Tensor>> Session::Run(const std::vector<Tensor>& inputs) {
  const auto& infos = model_->inputs();
  if (inputs.size() != infos.size()) {
    return InvalidArgument("model expects " + std::to_string(infos.size()) + " input(s), got " +
                           std::to_string(inputs.size()));
  }
  int64_t batch = -1;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Shape& want = infos[i].shape;
    const Shape& got = inputs[i].shape();
    bool match = got.size() == want.size() && !got.empty() && got[0] >= 1;
    for (size_t d = 1; match && d < want.size(); ++d) match = got[d] == want[d];
    if (!match) {
      return InvalidArgument("input '" + infos[i].name + "' must have shape " +
                             ShapeToString(want) + ", got " + ShapeToString(got));
    }
    if (batch >= 0 && got[0] != batch) {
      return InvalidArgument("all inputs must share the batch size");
    }
    batch = got[0];
  }
  omp_set_num_threads(threads_);
  ASSIGN_OR_RETURN(Bound * b, Bind(batch));
  const Plan& plan = *b->plan;
  try {
    for (size_t i = 0; i < inputs.size(); ++i) {
      b->inputs[i].set_data_handle(const_cast<float*>(inputs[i].data()));
    }
    using Clock = std::chrono::steady_clock;
    for (size_t i = 0; i < plan.steps.size(); ++i) {
      const auto start = options_.profile ? Clock::now() : Clock::time_point{};
      if (plan.steps[i].fill) {
        plan.steps[i].fill(b->fill_targets[i]);
      } else {
        plan.steps[i].primitive.execute(stream_, b->args[i]);
      }
      if (options_.profile) {
        stream_.wait();
        profile_[i].total_ms +=
            std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        ++profile_[i].runs;
      }
    }
    stream_.wait();
  } catch (const dnnl::error& e) {
    return FromDnnlError(e, "running model '" + model_->graph().name + "'");
  }
  std::vector<Tensor> outputs;
  for (size_t i = 0; i < plan.outputs.size(); ++i) {
    Tensor t(plan.output_shapes[i]);
    const MemRef& ref = plan.outputs[i];
    std::memcpy(t.data(),
                arena_.get() + plan.memory.offsets[static_cast<size_t>(ref.index)] + ref.offset,
                static_cast<size_t>(t.size()) * sizeof(float));
    outputs.push_back(std::move(t));
  }
  return outputs;
}

}  // namespace kamado::runtime
