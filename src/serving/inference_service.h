// InferenceService: the models a server holds and the one way to run them —
// the ModelService (model_service.h) front-ends call. Front-ends (HTTP today)
// parse and serialise, then call this; it never sees HTTP.
//
// Per model (registered under its kamado.yaml `name`): one shared
// runtime::CompiledModel, and a Scheduler whose S workers each own one
// runtime::Session with T intra-op threads.
//
// Where the work happens: images are decoded and preprocessed on the decode
// threads (SubmitImages), never on the caller's (the HTTP I/O threads, which
// must go on answering health checks and reading requests while a 12 MP photo
// decodes), and never on the model workers, so workers only ever run stacked,
// ready tensors and a batch never waits on a slow decode. Admission reserves
// the request's place in its model's queue (QueueTicket) before anything is
// decoded, so the queue bound counts requests waiting for a decode thread too:
// when decoding falls behind, new requests get 503 at once instead of piling
// up unseen, and a request that cannot run costs no decode. A request's
// deadline runs from its admission, so time waiting to be decoded counts. A
// request of k rows is one job of k rows (Scheduler): it is never split into
// per-row jobs and joined again.
//
// Thread-safety: every const method may be called from any thread; Shutdown
// from one thread after the front-end has stopped submitting.
#pragma once

#include <cassert>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/tensor.h"
#include "image/decode.h"
#include "image/preprocess.h"
#include "runtime/compiled_model.h"
#include "model/model_config.h"
#include "serving/metrics.h"
#include "serving/model_service.h"
#include "serving/scheduler.h"

namespace boost::asio {
class thread_pool;
}

namespace kamado::serving {

// The batch delay policy. Waiting for a batch to fill costs every request
// in it that wait, and pays only if a batch runs its rows faster than one
// at a time: with `run_ms` (batch size → measured run time, including 1) the
// gain is 1 − min over b > 1 of (t(b)/b) / t(1). `auto` (requested < 0):
// kAutoBatchDelayUs when the gain is at least kBatchGainToWait, else 0 —
// requests then never wait for company, and a worker still takes whatever
// is queued (up to max_batch) when it frees, which keeps the throughput
// under load. A requested delay ≥ 0 is used as given.
inline constexpr int kAutoBatchDelayUs = 2000;
inline constexpr double kBatchGainToWait = 0.10;
struct BatchDelayDecision {
  int delay_us = 0;
  double gain = 0;     // as above; 0 when only batch 1 was measured
  std::string reason;  // for the log
};
BatchDelayDecision DecideBatchDelay(const std::map<int, double>& run_ms, int requested_us);

// Decode threads for a process given `cpus` CPUs: half of them (decoding a
// photo costs a few ms against tens for the model), at least 1, at most 8.
int DefaultDecodeThreads(double cpus);

// A model InferenceService serves: the ModelView front-ends see, and what
// runs it.
class ServedModel : public ModelView {
 public:
  ServedModel(model::ModelConfig config, std::shared_ptr<const runtime::CompiledModel> compiled)
      : ModelView(std::move(config), compiled->inputs(), compiled->outputs()), compiled_(std::move(compiled)) {}

  const runtime::CompiledModel& compiled() const { return *compiled_; }
  const std::shared_ptr<const runtime::CompiledModel>& shared_compiled() const { return compiled_; }
  const image::PreprocessOptions& preprocess() const { return preprocess_; }
  // As `kamado infer` decodes for this model (DecodeOptionsFor).
  const image::DecodeOptions& decode() const { return decode_; }
  Scheduler& scheduler() const { return *scheduler_; }

 private:
  friend class InferenceService;
  std::shared_ptr<const runtime::CompiledModel> compiled_;
  image::PreprocessOptions preprocess_;
  image::DecodeOptions decode_;
  std::unique_ptr<Scheduler> scheduler_;
  std::map<int, double> batch_run_ms_;
  BatchDelayDecision batch_delay_;
};

class InferenceService : public ModelService {
 public:
  // Loads and compiles every model directory, starts its workers. Errors name
  // the directory; two models with the same name are InvalidArgument.
  static Result<std::unique_ptr<InferenceService>> Create(
      const std::vector<std::filesystem::path>& model_dirs, const ServiceOptions& options,
      Metrics* metrics);
  ~InferenceService() override;  // Shutdown()

  // NotFound names the model.
  Result<const ServedModel*> Find(std::string_view name) const;
  Result<const ModelView*> FindModel(std::string_view name) const override;
  std::vector<const ServedModel*> models() const;
  const ServiceOptions& options() const override { return options_; }
  int sessions() const { return sessions_; }
  int threads() const { return threads_; }

  // Ready until NotReady or BeginShutdown.
  bool ready() const override { return ready_.load(); }
  // Readiness goes false and nothing else changes: requests are still
  // admitted and batched as before (the drain delay of `serve`, while load
  // balancers notice).
  void NotReady() { ready_.store(false); }
  // Readiness goes false and every scheduler drains (Scheduler::Drain): what
  // is queued, and what the front-end still submits while it finishes the
  // requests it accepted, runs without waiting for a batch to fill.
  void BeginShutdown();

  // A place for a request of `rows` rows in `model`'s queue, growing
  // `held` (a place taken earlier, e.g. from the request's header) when
  // given: InvalidArgument over max_rows_per_request, TooLarge over max_queue
  // (it never can be), Unavailable when the queue (counting requests still
  // being read or decoded) has no room for them now or the service is
  // shutting down; on error `held` is given back. `model` is one Find or
  // FindModel returned (every ModelView argument below too).
  Result<QueueTicket> Admit(const ModelView& model, int64_t rows, QueueTicket held = {}) const override;

  // Decodes encoded images and preprocesses them into one tensor of
  // images.size() rows, on the caller's thread (SubmitImages calls it on a
  // decode thread). InvalidArgument (not an image, corrupt, over a
  // DecodeOptions limit), Unsupported (a format kamado does not decode),
  // TooLarge (the images together need more than
  // max_decode_bytes_per_request to decode) or Unavailable (the server is
  // decoding max_decode_bytes_in_flight already), prefixed with "element i"
  // (the image's index in `images`) when `name_elements`.
  Result<Tensor> PrepareImages(const ServedModel& model,
                               const std::vector<std::span<const uint8_t>>& images,
                               PrepareTiming* timing = nullptr, bool name_elements = true) const;
  // Checks a caller-supplied tensor of k rows ([k, ...] in the model's layout,
  // 1 ≤ k ≤ max_rows_per_request).
  Status CheckRows(const ServedModel& model, const Tensor& rows) const;

  // Admits a request of encoded images (Admit, growing `held`), then on a
  // decode thread decodes them (PrepareImages: its errors, prefixed as the
  // request asks; DeadlineExceeded without decoding when its deadline — the
  // earlier of request.deadline and timeout_ms from now — has passed) and
  // queues them as one job. OK: `request.done` will be called exactly once.
  // Error: nothing was decoded and `done` is never called.
  Status SubmitImages(const ModelView& model, ImageRequest request, QueueTicket held = {}) const override;

  // Queues one request of k rows as one job, in the place Admit gives
  // (growing `held`). OK: `done` will be called exactly once from a worker
  // thread, with [k, ...] outputs. Error (InvalidArgument: bad shape; the
  // errors of Admit): `done` is never called. Records queue/infer/batch
  // metrics.
  Status Submit(const ModelView& model, Tensor rows, std::function<void(Result<JobOutput>)> done,
                Clock::time_point deadline = Clock::time_point::max(), QueueTicket held = {}) const override;

  // Decode threads in use.
  int decode_threads() const { return decode_threads_; }

  // Finishes every decode it holds, then stops every scheduler after it has
  // run what it holds. Idempotent.
  void Shutdown();

 private:
  InferenceService() = default;
  // The model behind a view this service handed out (Find, FindModel); a
  // view from elsewhere (another service, a stub) is a bug the assert
  // catches in builds without NDEBUG.
  const ServedModel& Served(const ModelView& view) const {
    assert(OwnsView(view) && "a ModelView this InferenceService did not hand out");
    return static_cast<const ServedModel&>(view);
  }
  bool OwnsView(const ModelView& view) const {
    auto it = models_.find(view.name());
    return it != models_.end() && static_cast<const ModelView*>(it->second.get()) == &view;
  }
  // InvalidArgument unless 1 ≤ rows ≤ options_.max_rows_per_request.
  Status CheckRowCount(int64_t rows) const;
  Clock::time_point Deadline(Clock::time_point requested) const;
  // A job of `rows` (checked by the caller: Submit's CheckRows, or
  // PrepareImages' own shape), queued in the place `ticket` holds.
  Status Enqueue(const ServedModel& model, Tensor rows, std::function<void(Result<JobOutput>)> done,
                 Clock::time_point deadline, QueueTicket& ticket) const;

  ServiceOptions options_;
  Metrics* metrics_ = nullptr;
  int sessions_ = 1, threads_ = 1;
  std::map<std::string, std::unique_ptr<ServedModel>, std::less<>> models_;
  std::atomic<bool> ready_{false};
  int decode_threads_ = 1;
  // Runs SubmitImages' decodes; unbounded itself, its backlog is bounded by
  // the queue places its requests hold. Stopped before the schedulers.
  std::unique_ptr<boost::asio::thread_pool> decode_pool_;
  mutable std::atomic<uint64_t> decoding_bytes_{0};  // decode work in flight, all requests
};

}  // namespace kamado::serving
