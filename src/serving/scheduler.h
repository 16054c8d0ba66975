// Scheduler: a bounded request queue in front of a pool of worker threads,
// with a dynamic batcher.
//
// Each worker owns a BatchRunner (in practice one runtime::Session with T
// intra-op threads). A job is one request: k ≥ 1 rows, [k, ...], never split
// across batches (Triton's rule: a request of k rows is one unit of k rows).
// A worker takes the oldest job, then waits until either `max_batch` rows are
// queued or `max_delay` has passed since that job was enqueued, takes jobs in
// order while their rows fit in the batch worth running now
// (BatchRowsWorthRunning: up to `max_batch` when busy or when batching pays), stacks them along the batch
// dimension (no copy for a batch of one job), runs them once and hands every
// job its own rows of the outputs. A job of more than `max_batch` rows runs
// alone, in consecutive runs of at most `max_batch` rows whose outputs are
// joined in place: its caller sees one answer of k rows.
//
// Ownership and threading (modelled on Triton's scheduler):
//   - Enqueue takes ownership of the job only when it returns OK; on error
//     the caller still holds it and must answer the request itself.
//   - Every accepted job's `done` is called exactly once, from a worker
//     thread, with its outputs, DeadlineExceeded (its deadline passed before
//     it started: it never runs) or the runner's error.
//   - All public methods are thread-safe. `mu_` guards the queue and flags.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <map>

#include "core/result.h"
#include "core/tensor.h"

namespace kamado::serving {

using Clock = std::chrono::steady_clock;

struct JobOutput {
  std::vector<Tensor> outputs;  // this job's rows: [k, ...] per graph output
  double queue_ms = 0;          // enqueue → batch formed
  double infer_ms = 0;          // the run (all runs, for a job run in chunks)
  int batch_size = 0;           // rows in the (largest) run that held this job
};

struct Job {
  Tensor input;  // k rows, [k, ...] in the model's layout
  int64_t rows() const { return input.shape().empty() ? 0 : input.shape()[0]; }
  Clock::time_point enqueued{};
  Clock::time_point deadline = Clock::time_point::max();
  std::function<void(Result<JobOutput>)> done;
};

// Runs stacked inputs [N, ...] and returns outputs [N, ...]. Called only from
// the worker thread that created it.
using BatchRunner = std::function<Result<std::vector<Tensor>>(const Tensor& batch)>;
// Creates worker `index`'s runner, on that worker's thread.
using RunnerFactory = std::function<BatchRunner(int index)>;

// A rate (per second) of what is added, decayed exponentially with time
// constant `tau`: each Add of x adds x/tau, and the estimate decays by
// e^(-dt/tau). The scheduler adds each run's seconds at its end, so the rate
// is the workers' utilization (busy seconds per second).
// Times are passed in, so tests drive it without a clock. Not thread-safe.
class RateEstimator {
 public:
  explicit RateEstimator(std::chrono::milliseconds tau = std::chrono::seconds(2)) : tau_(tau) {}
  void Add(Clock::time_point at, double rows);
  double PerSecond(Clock::time_point now) const;

 private:
  std::chrono::duration<double> tau_;
  double rate_ = 0;
  Clock::time_point last_{};
};

// The run time of a batch of `b` rows from the measured ones (linear between
// measured sizes, proportional past the largest); 0 when none is known.
double RunMsAt(const std::map<int, double>& run_ms, int b);

// How many rows a free worker should take now, of `queued_rows` waiting,
// given the measured run times. At `utilization` (the fraction of the last
// seconds the workers spent running, RateEstimator) of `busy` or more,
// throughput decides: up to
// `max_batch`. Below it, latency decides: the largest b ≤ queued whose
// batch finishes the b waiting requests sooner on average than running them
// one by one (t(b) < t(1)·(b+1)/2), else 1 — on a CPU where a batch of b
// costs about b single runs, queued requests then run one at a time and the
// first is not held back by the others. No run times: `max_batch`.
size_t BatchRowsWorthRunning(size_t queued_rows, size_t max_batch, const std::map<int, double>& run_ms,
                             double utilization, double busy);

class Scheduler;

// The TooLarge message for a request of `rows` rows over a queue that can
// hold `max_queue` (every ModelService words it so).
std::string QueueLimitMessage(int64_t rows, size_t max_queue);

// A place in a scheduler's queue for one request's rows, taken at admission
// and held while the request is prepared elsewhere (its images decoded), so
// the queue bound counts requests that are not queued yet: a server whose
// decoding falls behind refuses new requests (503) instead of piling them up
// unseen. Scheduler::Enqueue(job, ticket) turns it into queued rows; a ticket
// dropped unused gives its place back. Move-only; must not outlive its
// scheduler.
class QueueTicket {
 public:
  QueueTicket() = default;
  QueueTicket(QueueTicket&& other) noexcept { *this = std::move(other); }
  QueueTicket& operator=(QueueTicket&& other) noexcept;
  QueueTicket(const QueueTicket&) = delete;
  QueueTicket& operator=(const QueueTicket&) = delete;
  ~QueueTicket() { Release(); }

  int64_t rows() const { return rows_; }
  void Release();

 private:
  friend class Scheduler;
  Scheduler* scheduler_ = nullptr;
  int64_t rows_ = 0;
};

struct SchedulerOptions {
  int workers = 1;
  int max_batch = 8;
  std::chrono::microseconds max_delay{2000};
  size_t max_queue = 64;  // rows waiting or reserved (QueueTicket), not counting those running
  // Measured run time (ms) by batch size, from InferenceService's start-up
  // timing; empty: every free worker takes up to max_batch rows.
  std::map<int, double> run_ms;
  // The utilization at and above which batches are formed for throughput
  // (BatchRowsWorthRunning).
  double batch_when_busy = 0.8;
  // Called after each run with its rows (for the batch-size histogram); any thread.
  std::function<void(int batch_size)> on_batch;
  // The time jobs' deadlines are checked against when a batch forms; empty:
  // Clock::now. Tests move it instead of sleeping past a deadline.
  std::function<Clock::time_point()> clock;
};

class Scheduler {
 public:
  Scheduler(SchedulerOptions options, RunnerFactory factory);
  ~Scheduler();  // Stop()
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Starts the workers and returns once each has made its runner (on its
  // own thread: a session, pinned and named). Call once, before Enqueue.
  void Start();

  // Queues `job` (stamping `enqueued`). OK: the scheduler owns it and `job`
  // is null. TooLarge: it has more rows than max_queue, so it could never be
  // queued; Unavailable: its rows do not fit in the queue now or the
  // scheduler is stopping; InvalidArgument: no rows. On error `job` is
  // untouched.
  Status Enqueue(std::unique_ptr<Job>& job);
  // Queues `job` in the place `ticket` holds (its rows must be the ticket's):
  // fails only when the scheduler is stopping or the rows differ.
  Status Enqueue(std::unique_ptr<Job>& job, QueueTicket ticket);

  // A place for `rows` rows, counted against max_queue until it is enqueued
  // or dropped. The errors of Enqueue.
  Result<QueueTicket> Reserve(int64_t rows);
  // Makes `ticket` (of this scheduler, or empty: then as Reserve) hold
  // `rows` rows: growing it needs room for the difference (the errors of
  // Enqueue; on error it holds what it held).
  Status Resize(QueueTicket& ticket, int64_t rows);

  // Whether Enqueue would accept `rows` rows now (a cheap check before
  // expensive request preparation; Enqueue still decides).
  bool HasRoom(int64_t rows = 1) const;

  // Graceful shutdown, first step: from now on no batch waits to fill. Jobs
  // already queued, and jobs enqueued later (requests the front-end was still
  // reading when it began draining), run as soon as a worker is free, so a
  // drain never waits out `max_delay`. Enqueue still accepts. Idempotent.
  void Drain();

  // Stops accepting, lets the workers finish every queued job, joins them.
  // Idempotent.
  void Stop();

  // The TooLarge message for a request of `rows` > max_queue rows.
  std::string QueueLimitMessage(int64_t rows) const;

  // Rows queued, rows reserved (admitted, still being prepared), and rows in
  // runs now.
  size_t queue_depth() const { return depth_.load(); }
  size_t reserved_rows() const { return reserved_.load(); }
  int running() const { return running_.load(); }
  const SchedulerOptions& options() const { return options_; }

 private:
  friend class QueueTicket;
  void WorkerLoop(int index);
  // The error for a request of `rows` rows now, or OK, `own` of them
  // already held by its ticket. Holds mu_.
  Status CheckRoomLocked(int64_t rows, size_t own = 0) const;
  void PushLocked(std::unique_ptr<Job>& job);
  void RunBatch(std::vector<std::unique_ptr<Job>>& batch, const BatchRunner& runner);
  void RunInChunks(Job& job, const BatchRunner& runner, Clock::time_point start);

  const SchedulerOptions options_;
  const RunnerFactory factory_;
  std::vector<std::thread> workers_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Job>> queue_;  // guarded by mu_
  size_t queued_rows_ = 0;                  // guarded by mu_
  size_t reserved_rows_ = 0;                // held by QueueTickets; guarded by mu_
  bool stopping_ = false;                   // guarded by mu_
  bool draining_ = false;                   // guarded by mu_
  int runners_made_ = 0;                    // guarded by mu_
  std::condition_variable started_cv_;      // runners_made_ changed
  RateEstimator busy_;                      // seconds run per second, all workers; guarded by mu_
  std::atomic<size_t> depth_{0};
  std::atomic<size_t> reserved_{0};
  std::atomic<int> running_{0};
};

}  // namespace kamado::serving
