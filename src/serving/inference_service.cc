#include "serving/inference_service.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <spdlog/spdlog.h>

#include "model/image_options.h"
#include "model/model_loader.h"
#include "model/precision_gate.h"
#include "image/decode.h"
#include "image/preprocess.h"
#include "runtime/session.h"
#include "serving/cpu_budget.h"

namespace kamado::serving {
namespace {

double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// Run time of each batch size in `sizes` on a session like the workers'
// (threads), on zero inputs: the better of two runs after one warm run of
// the largest, whose arena and scratchpad the others reuse.
std::map<int, double> MeasureBatchRuns(const std::shared_ptr<const runtime::CompiledModel>& compiled,
                                       const Shape& item_shape, int threads, const std::vector<int>& sizes) {
  std::map<int, double> out;
  runtime::Session session(compiled, runtime::SessionOptions{threads});
  auto input = [&](int b) {
    Shape s = item_shape;
    s[0] = b;
    return Tensor(s);
  };
  if (sizes.empty() || !session.Run({input(sizes.back())}).ok()) return out;
  for (int b : sizes) {
    const Tensor x = input(b);
    double best = 0;
    for (int rep = 0; rep < 2; ++rep) {
      const auto t0 = Clock::now();
      if (!session.Run({x}).ok()) return out;
      const double ms = MsSince(t0);
      best = rep == 0 ? ms : std::min(best, ms);
    }
    out[b] = best;
  }
  return out;
}

}  // namespace

int DefaultDecodeThreads(double cpus) {
  return std::clamp(static_cast<int>(std::lround(cpus / 2)), 1, 8);
}

BatchDelayDecision DecideBatchDelay(const std::map<int, double>& run_ms, int requested_us) {
  BatchDelayDecision d;
  const auto one = run_ms.find(1);
  std::string best;  // the batch size with the largest gain, described
  if (one != run_ms.end() && one->second > 0) {
    for (const auto& [b, ms] : run_ms) {
      if (b <= 1) continue;
      const double gain = 1.0 - (ms / b) / one->second;
      if (!best.empty() && gain <= d.gain) continue;
      d.gain = gain;
      char buf[160];
      std::snprintf(buf, sizeof(buf), "batch %d runs in %.1f ms = %.1f ms/row vs %.1f at batch 1", b, ms,
                    ms / b, one->second);
      best = buf;
    }
  }
  if (requested_us >= 0) {
    d.delay_us = requested_us;
    d.reason = "as set (batch_delay_us " + std::to_string(requested_us) + ")";
    return d;
  }
  char gain[32];
  std::snprintf(gain, sizeof(gain), "%.0f%%", d.gain * 100);
  if (best.empty()) {
    d.delay_us = 0;
    d.reason = "auto: one batch size, nothing to wait for";
  } else if (d.gain >= kBatchGainToWait) {
    d.delay_us = kAutoBatchDelayUs;
    d.reason = "auto: " + best + " (gain " + gain + "): waiting to batch pays";
  } else {
    d.delay_us = 0;
    d.reason = "auto: " + best + " (gain " + gain + " < " +
               std::to_string(static_cast<int>(kBatchGainToWait * 100)) +
               "%): waiting to batch does not pay on this CPU; no batch delay, queued requests still batched";
  }
  return d;
}

Result<std::unique_ptr<InferenceService>> InferenceService::Create(
    const std::vector<std::filesystem::path>& model_dirs, const ServiceOptions& options,
    Metrics* metrics) {
  if (model_dirs.empty()) return InvalidArgument("no model directory given");
  std::unique_ptr<InferenceService> service(new InferenceService());
  service->options_ = options;
  service->metrics_ = metrics;

  const CpuBudget budget = options.cpu_budget ? *options.cpu_budget : DetectCpuBudget();
  const Parallelism p = DefaultParallelism(budget.cpus, options.sessions, options.threads);
  service->sessions_ = p.sessions;
  service->threads_ = p.threads;
  service->decode_threads_ =
      options.decode_threads > 0 ? options.decode_threads : DefaultDecodeThreads(budget.cpus);
  service->decode_pool_ = std::make_unique<boost::asio::thread_pool>(service->decode_threads_);
  spdlog::info("kamado serve: {:.2f} CPUs ({}) → {} sessions × {} threads per model, {} decode threads",
               budget.cpus, budget.source, p.sessions, p.threads, service->decode_threads_);

  for (const auto& dir : model_dirs) {
    runtime::CompileOptions compile;
    compile.threads = p.threads;
    const bool auto_precision = options.precision == "auto";
    if (!options.precision.empty() && !auto_precision) {
      ASSIGN_OR_RETURN(compile.precision, runtime::ParsePrecision(options.precision));
    }
    model::CompiledCache cache;
    cache.dir = options.compile_cache;
    cache.batches.clear();
    for (int b = 1; b <= std::max(1, options.max_batch); ++b) cache.batches.push_back(b);
    // A reduced precision is served only behind a gate passed on this ISA
    // (model/precision_gate.h), checked before anything is compiled.
    if (!options.allow_ungated && !auto_precision) {
      ASSIGN_OR_RETURN(model::ModelConfig config, model::LoadModelConfig(dir));
      const runtime::Precision precision = compile.precision.value_or(config.precision);
      if (precision != runtime::Precision::kFp32) {
        RETURN_IF_ERROR(runtime::CheckPrecisionSupported(precision));
        ASSIGN_OR_RETURN(std::string hash, model::HashModelFiles(dir));
        RETURN_IF_ERROR(model::CheckGate(dir, precision, runtime::EffectiveIsaName(), hash));
      }
    }
    const auto load_start = std::chrono::steady_clock::now();
    std::string chosen;
    const model::CompiledCache* cache_ptr = options.compile_cache.empty() ? nullptr : &cache;
    ASSIGN_OR_RETURN(model::LoadedModel loaded,
                     auto_precision
                         ? model::LoadModelAutoPrecision(dir, compile, cache_ptr, &chosen)
                         : model::LoadModel(dir, compile, cache_ptr));
    if (auto_precision) spdlog::info("model '{}': precision auto → {}", loaded.config.name, chosen);
    if (!loaded.compiled_file.empty()) {
      spdlog::info("model '{}': compiled file {} {} in {:.0f} ms ({:.1f} MiB of weights reordered privately)",
                   loaded.config.name, loaded.compiled_file.string(), loaded.compiled_how,
                   MsSince(load_start), loaded.compiled->private_weight_bytes() / 1048576.0);
    }
    if (service->models_.count(loaded.config.name)) {
      return InvalidArgument(dir.string() + ": a model named '" + loaded.config.name +
                             "' is already loaded");
    }
    if (loaded.compiled->inputs().size() != 1) {
      return Unsupported(dir.string() + ": serving needs a model with exactly one input");
    }
    auto m = std::make_unique<ServedModel>(std::move(loaded.config), std::move(loaded.compiled));
    m->preprocess_ = model::PreprocessOptionsFor(m->config());
    m->decode_ = model::DecodeOptionsFor(m->config());
    SchedulerOptions so;
    so.workers = p.sessions;
    so.max_batch = std::max(1, options.max_batch);
    // Build the plan of every batch size the batcher can form now, not on the
    // first request that forms it: a plan compiles for hundreds of ms, and a
    // request must not pay that (Triton's and OVMS's model warm-up). A model
    // that runs at fewer batch sizes (a constant with a row per sample) is
    // served up to the largest one that builds.
    const auto warm_start = std::chrono::steady_clock::now();
    for (int b = 1; b <= so.max_batch; ++b) {
      auto plan = m->compiled_->GetPlan(b, p.threads);
      if (plan.ok()) continue;
      if (b == 1) return plan.status();
      spdlog::warn("model '{}': batch {} cannot be built ({}); max batch is {}", m->name(), b,
                   plan.status().message(), b - 1);
      so.max_batch = b - 1;
      break;
    }
    spdlog::info("model '{}': plans for batch 1..{} built in {:.0f} ms ({:.1f} MiB of weights reordered "
                 "privately)",
                 m->name(), so.max_batch,
                 std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - warm_start)
                     .count(),
                 m->compiled_->private_weight_bytes() / 1048576.0);
    // Whether waiting to batch pays here: batch 1 and 2 timed (only when the
    // delay is left to auto and there is a batch to form). Larger sizes are
    // not timed: at start-up they cost seconds for a large model (InceptionV3
    // batch 8: 0.3 s a run), and the policy needs t(b) beyond 2 only when
    // not busy, where t(2) already answers (proportional past the largest).
    if (options.batch_delay_us < 0 && so.max_batch > 1) {
      m->batch_run_ms_ = MeasureBatchRuns(m->compiled_, m->item_shape(), p.threads, {1, 2});
    }
    m->batch_delay_ = DecideBatchDelay(m->batch_run_ms_, options.batch_delay_us);
    spdlog::info("model '{}': batch delay {} µs — {}", m->name(), m->batch_delay_.delay_us,
                 m->batch_delay_.reason);
    so.max_delay = std::chrono::microseconds(m->batch_delay_.delay_us);
    so.run_ms = m->batch_run_ms_;
    so.max_queue = options.max_queue;
    so.clock = options.clock;
    const std::string name = m->name();
    if (metrics) so.on_batch = [metrics, name](int n) { metrics->ObserveBatch(name, n); };
    auto compiled = m->compiled_;
    const int threads = p.threads;
    const std::vector<int> allowed = options.pin ? AllowedCpus() : std::vector<int>{};
    m->scheduler_ = std::make_unique<Scheduler>(so, [compiled, threads, allowed, name](int i) -> BatchRunner {
      // On the session's own thread, before its first run starts the OpenMP
      // team, which inherits this thread's CPUs.
      const std::string thread_name = "session-" + std::to_string(i);
      pthread_setname_np(pthread_self(), thread_name.c_str());
      if (!allowed.empty()) {
        const std::vector<int> cpus = CpuSlice(allowed, i, threads);
        if (Status s = PinCallingThread(cpus); !s.ok()) {
          spdlog::warn("model '{}': session {}: {}", name, i, s.message());
        } else {
          spdlog::info("model '{}': session {} pinned to CPUs {}", name, i, CpuListString(cpus));
        }
      }
      auto session = std::make_shared<runtime::Session>(compiled, runtime::SessionOptions{threads});
      return [session](const Tensor& batch) { return session->Run({batch}); };
    });
    m->scheduler_->Start();
    if (metrics) {
      Scheduler* s = m->scheduler_.get();
      metrics->AddQueueDepthSource(
          name, [s] { return static_cast<double>(s->queue_depth() + s->reserved_rows()); });
    }
    spdlog::info("model '{}' loaded from {}: input {}×{}, max batch {}, delay {} µs, queue {}",
                 name, dir.string(), m->config().height, m->config().width, so.max_batch,
                 so.max_delay.count(), so.max_queue);
    service->models_.emplace(name, std::move(m));
  }
  service->ready_.store(true);
  return service;
}

InferenceService::~InferenceService() { Shutdown(); }

Result<const ServedModel*> InferenceService::Find(std::string_view name) const {
  auto it = models_.find(name);
  if (it == models_.end()) return NotFound("model '" + std::string(name) + "' is not loaded");
  return it->second.get();
}

Result<const ModelView*> InferenceService::FindModel(std::string_view name) const {
  ASSIGN_OR_RETURN(const ServedModel* m, Find(name));
  return m;
}

std::vector<const ServedModel*> InferenceService::models() const {
  std::vector<const ServedModel*> out;
  for (const auto& [name, m] : models_) out.push_back(m.get());
  return out;
}

Status InferenceService::CheckRowCount(int64_t rows) const {
  return serving::CheckRowCount(rows, options_.max_rows_per_request);
}

Result<QueueTicket> InferenceService::Admit(const ModelView& view, int64_t rows, QueueTicket held) const {
  const ServedModel& model = Served(view);
  RETURN_IF_ERROR(CheckRowCount(rows));
  Status s = model.scheduler().Resize(held, rows);
  if (s.ok()) return held;
  if (s.code() == StatusCode::kTooLarge) {
    return TooLarge("model '" + model.name() + "': " + model.scheduler().QueueLimitMessage(rows));
  }
  if (s.code() == StatusCode::kUnavailable) {
    return Unavailable("model '" + model.name() + "' is overloaded: " + s.message());
  }
  return s;
}

Result<Tensor> InferenceService::PrepareImages(const ServedModel& model,
                                               const std::vector<std::span<const uint8_t>>& images,
                                               PrepareTiming* timing, bool name_elements) const {
  const int64_t n = static_cast<int64_t>(images.size());
  RETURN_IF_ERROR(CheckRowCount(n));
  const Clock::time_point t0 = Clock::now();
  Tensor rows(model.config().InputShape(n));
  const int64_t per = NumElements(model.item_shape());
  // The decode budgets: each image's work is reserved from its header before
  // its pixels are allocated, and given back once it is decoded.
  image::DecodeOptions decode = model.decode();
  uint64_t request_bytes = 0, holding = 0;
  decode.reserve = [&](uint64_t bytes) -> Status {
    if (request_bytes + bytes > options_.max_decode_bytes_per_request) {
      return TooLarge("decoding the request's images needs more than " +
                      std::to_string(options_.max_decode_bytes_per_request) +
                      " bytes (max_decode_bytes_per_request)");
    }
    request_bytes += bytes;
    holding = bytes;
    const uint64_t now = decoding_bytes_.fetch_add(bytes) + bytes;
    if (now > options_.max_decode_bytes_in_flight) {
      return Unavailable("the server is decoding " + std::to_string(now - bytes) +
                         " bytes of images already, its limit is " +
                         std::to_string(options_.max_decode_bytes_in_flight) +
                         " (max_decode_bytes_in_flight); retry later");
    }
    return Status::Ok();
  };
  for (int64_t i = 0; i < n; ++i) {
    const Clock::time_point start = Clock::now();
    auto decoded = image::DecodeImage(images[static_cast<size_t>(i)], decode);
    decoding_bytes_.fetch_sub(holding);
    holding = 0;
    Status s = decoded.ok() ? image::PreprocessInto(*decoded, model.preprocess(), rows.data() + i * per)
                            : decoded.status();
    if (!s.ok()) return name_elements ? s.WithPrefix("element " + std::to_string(i)) : s;
    if (metrics_) metrics_->ObserveDecode(model.name(), MsSince(start) / 1000.0);
  }
  if (timing) timing->decode_ms = MsSince(t0);
  return rows;
}

Status InferenceService::CheckRows(const ServedModel& model, const Tensor& rows) const {
  RETURN_IF_ERROR(CheckRowShape(model, rows.shape()));
  return CheckRowCount(rows.shape()[0]);
}

Clock::time_point InferenceService::Deadline(Clock::time_point requested) const {
  if (options_.timeout_ms <= 0) return requested;
  return std::min(requested, Clock::now() + std::chrono::milliseconds(options_.timeout_ms));
}

Status InferenceService::Enqueue(const ServedModel& model, Tensor rows,
                                 std::function<void(Result<JobOutput>)> done, Clock::time_point deadline,
                                 QueueTicket& ticket) const {
  auto job = std::make_unique<Job>();
  job->input = std::move(rows);
  job->deadline = deadline;
  Metrics* metrics = metrics_;
  const std::string name = model.name();
  job->done = [metrics, name, done = std::move(done)](Result<JobOutput> r) {
    if (metrics && r.ok()) {
      metrics->ObserveQueue(name, r->queue_ms / 1000.0);
      metrics->ObserveInfer(name, r->infer_ms / 1000.0);
    }
    done(std::move(r));
  };
  return model.scheduler().Enqueue(job, std::move(ticket));
}

Status InferenceService::Submit(const ModelView& view, Tensor rows,
                                std::function<void(Result<JobOutput>)> done, Clock::time_point deadline,
                                QueueTicket held) const {
  const ServedModel& model = Served(view);
  RETURN_IF_ERROR(CheckRows(model, rows));
  ASSIGN_OR_RETURN(QueueTicket ticket, Admit(model, rows.shape()[0], std::move(held)));
  return Enqueue(model, std::move(rows), std::move(done), Deadline(deadline), ticket);
}

Status InferenceService::SubmitImages(const ModelView& view, ImageRequest request, QueueTicket held) const {
  const ServedModel& model = Served(view);
  const int64_t n = static_cast<int64_t>(request.images.size());
  auto ticket = Admit(model, n, std::move(held));
  if (!ticket.ok()) return ticket.status();
  struct Pending {
    ImageRequest request;
    QueueTicket ticket;
    Clock::time_point admitted, deadline;
  };
  auto pending = std::make_shared<Pending>();
  pending->request = std::move(request);
  pending->ticket = std::move(ticket).value();
  pending->admitted = Clock::now();
  pending->deadline = Deadline(pending->request.deadline);
  boost::asio::post(*decode_pool_, [this, &model, pending] {
    ImageRequest& r = pending->request;
    PrepareTiming timing;
    timing.wait_ms = MsSince(pending->admitted);
    bool answered = false;  // `done` called, or handed to the scheduler that will call it
    auto fail = [&](Status s) {
      pending->ticket.Release();
      answered = true;
      r.done(std::move(s), timing);
    };
    try {
      if ((options_.clock ? options_.clock() : Clock::now()) >= pending->deadline) {
        return fail(DeadlineExceeded("the request waited " + std::to_string(std::lround(timing.wait_ms)) +
                                     " ms to be decoded, past its deadline"));
      }
      if (options_.before_decode) options_.before_decode();
      auto rows = PrepareImages(model, r.images, &timing, r.name_elements);
      if (!rows.ok()) {
        Status s = rows.status();
        return fail(r.error_prefix.empty() ? s : s.WithPrefix(r.error_prefix));
      }
      auto done = [pending, timing](Result<JobOutput> out) { pending->request.done(std::move(out), timing); };
      Status s = Enqueue(model, std::move(rows).value(), done, pending->deadline, pending->ticket);
      if (!s.ok()) return fail(s);
      answered = true;
    } catch (const std::exception& e) {
      // A decode thread must survive anything one request does (bad_alloc).
      if (!answered) fail(Internal(std::string("decoding the request failed: ") + e.what()));
    }
  });
  return Status::Ok();
}

void InferenceService::BeginShutdown() {
  ready_.store(false);
  for (auto& [name, m] : models_) m->scheduler_->Drain();
}

void InferenceService::Shutdown() {
  ready_.store(false);
  if (decode_pool_) decode_pool_->join();  // what it holds decodes and is queued
  for (auto& [name, m] : models_) m->scheduler_->Stop();
}

}  // namespace kamado::serving
