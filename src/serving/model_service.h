// ModelService: what a front-end (the HTTP Router) may ask of the models a
// server holds — find one, take a place in its queue, submit rows or encoded
// images — and ModelView, what it knows of one (its config, inputs, outputs,
// row shape). InferenceService is the implementation that runs models; the
// interface lets the whole request path be driven without a runtime (the
// request fuzzer and the router tests, tests/serving/stub_model_service.h).
//
// Contract for every implementation: the ModelView passed to Admit, Submit
// and SubmitImages is one its FindModel returned; `done` callbacks are called
// exactly once when the submit returns OK and never when it returns an
// error; every method may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/tensor.h"
#include "model/model_config.h"
#include "runtime/tensor_info.h"
#include "serving/cpu_budget.h"
#include "serving/scheduler.h"

namespace kamado::serving {

struct ServiceOptions {
  int sessions = 0;  // 0: from the CPU quota (DefaultParallelism)
  int threads = 0;
  int max_batch = 8;
  // How long a batch may wait to fill, from its oldest request; -1 (auto):
  // 2000 µs where batching pays on this CPU, 0 where it does not
  // (DecideBatchDelay, from run times measured at start).
  int batch_delay_us = -1;
  size_t max_queue = 64;
  int timeout_ms = 10000;  // a request not started within this → DeadlineExceeded; 0 = none
  int max_rows_per_request = 256;  // rows (images, tensors) one request may hold
  // FP32 tensors holding NaN or infinity: refused with 400 unless allowed.
  bool allow_non_finite_inputs = false;
  // Decode work (image::DecodeOptions::max_decode_bytes: pixels x peak bytes
  // per pixel) one request may ask for in all (413 over it), and all requests
  // decoding at once (503 over it).
  uint64_t max_decode_bytes_per_request = uint64_t{2} << 30;
  uint64_t max_decode_bytes_in_flight = uint64_t{1} << 30;
  // Pin session i's thread (and so its OpenMP team) to its own `threads`
  // CPUs of the process's affinity mask (CpuSlice(AllowedCpus(), i, T));
  // I/O and decode threads stay on every CPU the process may use.
  bool pin = false;
  // Threads that decode images (SubmitImages); 0: DefaultDecodeThreads.
  int decode_threads = 0;
  // Called on a decode thread before each request's images are decoded; for
  // tests that hold decoding to observe what waits behind it. Optional.
  std::function<void()> before_decode;
  // Where compiled-model files live (model::CompiledCache); empty: every
  // model is compiled in memory, no file.
  std::string compile_cache;
  // "fp32" | "bf16" | "int8" for every model (runtime/precision.h), or
  // "auto" (model::LoadModelAutoPrecision: the fastest gated one, logged);
  // empty: each model at its kamado.yaml's `precision:` (fp32 when absent).
  std::string precision;
  // Serve a bf16/int8 model whose gate (`kamado compare`) failed or was
  // never run on this ISA; refused with a message naming it by default.
  bool allow_ungated = false;
  // The time requests' deadlines are checked against (before decoding, and
  // by each model's Scheduler before running); empty: Clock::now. For tests,
  // which move it instead of sleeping past a deadline.
  std::function<Clock::time_point()> clock;
  // The CPUs sessions, threads and decode threads are sized from, when the
  // caller has detected them already; nullopt: DetectCpuBudget().
  std::optional<CpuBudget> cpu_budget;
};

struct PrepareTiming {
  double decode_ms = 0;  // decode + preprocess
  double wait_ms = 0;    // admitted → a decode thread took it (SubmitImages)
};

// A request of encoded images for SubmitImages.
struct ImageRequest {
  // The encoded images; they must stay valid until `done` has returned (let
  // `done` own what they point into).
  std::vector<std::span<const uint8_t>> images;
  // Decode errors are prefixed "element i" (the image's index) when set,
  // then with `error_prefix` when not empty.
  bool name_elements = true;
  std::string error_prefix;
  Clock::time_point deadline = Clock::time_point::max();
  // Called exactly once, on a decode or worker thread, unless SubmitImages
  // returns an error.
  std::function<void(Result<JobOutput>, const PrepareTiming&)> done;
};

// A served model as a front-end sees it. Immutable once served.
class ModelView {
 public:
  ModelView(model::ModelConfig config, std::vector<runtime::TensorInfo> inputs,
            std::vector<runtime::TensorInfo> outputs)
      : config_(std::move(config)), inputs_(std::move(inputs)), outputs_(std::move(outputs)),
        item_shape_(config_.InputShape(1)) {}

  const model::ModelConfig& config() const { return config_; }
  const std::string& name() const { return config_.name; }
  const std::vector<runtime::TensorInfo>& inputs() const { return inputs_; }
  const std::vector<runtime::TensorInfo>& outputs() const { return outputs_; }
  // The shape of one row in the model's layout, batch 1: [1, H, W, 3] or [1, 3, H, W].
  const Shape& item_shape() const { return item_shape_; }

 protected:
  ~ModelView() = default;  // not deleted through a view

 private:
  model::ModelConfig config_;
  std::vector<runtime::TensorInfo> inputs_, outputs_;
  Shape item_shape_;
};

// InvalidArgument unless 1 ≤ rows ≤ max_rows (max_rows_per_request): a
// request's row count, in the words every ModelService answers it with.
Status CheckRowCount(int64_t rows, int max_rows);

// InvalidArgument unless `rows` is [k, ...] with the rest of `model`'s row
// shape (item_shape() past the batch axis), naming both shapes: a
// caller-supplied tensor, in the words every ModelService answers it with.
// The row count itself is CheckRowCount's.
Status CheckRowShape(const ModelView& model, const Shape& rows);

class ModelService {
 public:
  virtual ~ModelService() = default;

  // NotFound names the model.
  virtual Result<const ModelView*> FindModel(std::string_view name) const = 0;
  virtual const ServiceOptions& options() const = 0;
  // Whether the server is ready (readiness probes).
  virtual bool ready() const = 0;

  // A place for a request of `rows` rows in `model`'s queue, growing `held`
  // (a place taken earlier, e.g. from the request's header): InvalidArgument
  // over max_rows_per_request, TooLarge over max_queue (it never can be),
  // Unavailable when there is no room now; on error `held` is given back.
  virtual Result<QueueTicket> Admit(const ModelView& model, int64_t rows, QueueTicket held = {}) const = 0;
  // Queues one request of k rows ([k, ...] in the model's layout) as one
  // job; `done` gets [k, ...] outputs. Errors: a bad shape (InvalidArgument)
  // and those of Admit.
  virtual Status Submit(const ModelView& model, Tensor rows, std::function<void(Result<JobOutput>)> done,
                        Clock::time_point deadline = Clock::time_point::max(),
                        QueueTicket held = {}) const = 0;
  // Admits a request of encoded images, decodes them off the caller's thread
  // and queues them as one job; decode errors go to `request.done`.
  virtual Status SubmitImages(const ModelView& model, ImageRequest request, QueueTicket held = {}) const = 0;
};

}  // namespace kamado::serving
