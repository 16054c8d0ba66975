// Session: runs a CompiledModel on one thread. Owns the oneDNN stream, the
// activation arena and the scratchpad; not thread-safe — create one per
// thread (they are cheap; the weights stay in the shared CompiledModel).
// Activations live in one arena sized for the largest batch run so far.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "core/tensor.h"
#include "runtime/compiled_model.h"
#include "runtime/constant_arena.h"

namespace kamado::runtime {

struct SessionOptions {
  int threads = 0;       // intra-op (OpenMP) threads; 0 = OpenMP's default
  bool profile = false;  // time every step (adds a stream wait per step)
};

struct StepProfile {
  std::string node;
  std::string op;
  std::string impl;
  double flops = 0.0;
  double total_ms = 0.0;
  int64_t runs = 0;
};

class Session {
 public:
  explicit Session(std::shared_ptr<const CompiledModel> model, SessionOptions options = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Inputs in the caller's layout (e.g. [N, H, W, 3] for an NHWC model); all
  // inputs share the batch size N. Returns the graph outputs ([N, classes]).
  Result<std::vector<Tensor>> Run(const std::vector<Tensor>& inputs);

  int threads() const { return threads_; }
  // Bytes of the activation arena (the largest plan's, of those run).
  size_t arena_bytes() const { return arena_bytes_; }
  const std::shared_ptr<const CompiledModel>& model() const { return model_; }
  // Per-step timings accumulated over profiled runs, in plan order.
  const std::vector<StepProfile>& profile() const { return profile_; }

 private:
  struct Bound;
  Result<Bound*> Bind(int64_t batch);

  std::shared_ptr<const CompiledModel> model_;
  SessionOptions options_;
  int threads_ = 1;
  dnnl::stream stream_;
  std::map<int64_t, std::unique_ptr<Bound>> bound_;  // point into arena_ and scratchpad_
  AlignedBuffer arena_;
  AlignedBuffer scratchpad_;
  size_t arena_bytes_ = 0;
  size_t scratchpad_bytes_ = 0;
  std::vector<StepProfile> profile_;
};

}  // namespace kamado::runtime
