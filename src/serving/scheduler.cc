#include "serving/scheduler.h"

#include <cmath>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace kamado::serving {
namespace {

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

Scheduler::Scheduler(SchedulerOptions options, RunnerFactory factory)
    : options_(std::move(options)), factory_(std::move(factory)) {}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Start() {
  const int n = std::max(1, options_.workers);
  for (int i = 0; i < n; ++i) {
    workers_.emplace_back([this, i] { WorkerLoop(i); });
  }
  std::unique_lock<std::mutex> lock(mu_);
  started_cv_.wait(lock, [&] { return runners_made_ == n; });
}

std::string QueueLimitMessage(int64_t rows, size_t max_queue) {
  return "the request has " + std::to_string(rows) + " rows, more than the queue can ever hold (max_queue " +
         std::to_string(max_queue) + " rows)";
}

std::string Scheduler::QueueLimitMessage(int64_t rows) const { return serving::QueueLimitMessage(rows, options_.max_queue); }

void RateEstimator::Add(Clock::time_point at, double rows) {
  rate_ = PerSecond(at) + rows / tau_.count();
  last_ = at;
}

double RateEstimator::PerSecond(Clock::time_point now) const {
  if (last_ == Clock::time_point{} || rate_ == 0) return 0;
  const double dt = std::chrono::duration<double>(now - last_).count();
  return dt <= 0 ? rate_ : rate_ * std::exp(-dt / tau_.count());
}

double RunMsAt(const std::map<int, double>& run_ms, int b) {
  if (run_ms.empty()) return 0;
  auto hi = run_ms.lower_bound(b);
  if (hi != run_ms.end() && hi->first == b) return hi->second;
  if (hi == run_ms.end()) {
    const auto& [size, ms] = *run_ms.rbegin();
    return ms * b / size;
  }
  if (hi == run_ms.begin()) return hi->second * b / hi->first;
  const auto lo = std::prev(hi);
  const double f = static_cast<double>(b - lo->first) / (hi->first - lo->first);
  return lo->second + f * (hi->second - lo->second);
}

size_t BatchRowsWorthRunning(size_t queued_rows, size_t max_batch, const std::map<int, double>& run_ms,
                             double utilization, double busy) {
  const size_t limit = std::max<size_t>(1, std::min(queued_rows, max_batch));
  const double t1 = RunMsAt(run_ms, 1);
  if (t1 <= 0 || utilization >= busy) return std::max<size_t>(1, max_batch);
  for (size_t b = limit; b > 1; --b) {
    if (RunMsAt(run_ms, static_cast<int>(b)) < t1 * (static_cast<double>(b) + 1) / 2) return b;
  }
  return 1;
}

Status Scheduler::CheckRoomLocked(int64_t rows, size_t own) const {
  if (rows < 1) return InvalidArgument("a request must hold at least one row");
  if (stopping_) return Unavailable("the server is shutting down");
  if (static_cast<size_t>(rows) > options_.max_queue) return TooLarge(QueueLimitMessage(rows));
  const size_t others = queued_rows_ + reserved_rows_ - own;
  if (others + static_cast<size_t>(rows) > options_.max_queue) {
    return Unavailable("the queue is full (" + std::to_string(others) + " of " +
                       std::to_string(options_.max_queue) + " rows waiting, the request has " +
                       std::to_string(rows) + ")");
  }
  return Status::Ok();
}

void Scheduler::PushLocked(std::unique_ptr<Job>& job) {
  job->enqueued = Clock::now();
  queued_rows_ += static_cast<size_t>(job->rows());
  queue_.push_back(std::move(job));
  depth_.store(queued_rows_);
}

Status Scheduler::Enqueue(std::unique_ptr<Job>& job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(CheckRoomLocked(job->rows()));
    PushLocked(job);
  }
  cv_.notify_all();
  return Status::Ok();
}

Status Scheduler::Enqueue(std::unique_ptr<Job>& job, QueueTicket ticket) {
  if (ticket.scheduler_ != this || ticket.rows_ != job->rows()) {
    return Internal("a queue ticket for " + std::to_string(ticket.rows_) + " rows used for a job of " +
                    std::to_string(job->rows()));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return Unavailable("the server is shutting down");
    reserved_rows_ -= static_cast<size_t>(ticket.rows_);
    reserved_.store(reserved_rows_);
    ticket.scheduler_ = nullptr;  // its place is now the job's
    PushLocked(job);
  }
  cv_.notify_all();
  return Status::Ok();
}

Result<QueueTicket> Scheduler::Reserve(int64_t rows) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(CheckRoomLocked(rows));
  reserved_rows_ += static_cast<size_t>(rows);
  reserved_.store(reserved_rows_);
  QueueTicket ticket;
  ticket.scheduler_ = this;
  ticket.rows_ = rows;
  return ticket;
}

Status Scheduler::Resize(QueueTicket& ticket, int64_t rows) {
  if (ticket.scheduler_ == nullptr) {
    ASSIGN_OR_RETURN(ticket, Reserve(rows));
    return Status::Ok();
  }
  if (ticket.scheduler_ != this) return Internal("a queue ticket of another scheduler");
  std::lock_guard<std::mutex> lock(mu_);
  if (rows > ticket.rows_) {
    RETURN_IF_ERROR(CheckRoomLocked(rows, static_cast<size_t>(ticket.rows_)));
  } else if (rows < 1) {
    return InvalidArgument("a request must hold at least one row");
  }
  reserved_rows_ = reserved_rows_ - static_cast<size_t>(ticket.rows_) + static_cast<size_t>(rows);
  reserved_.store(reserved_rows_);
  ticket.rows_ = rows;
  return Status::Ok();
}

QueueTicket& QueueTicket::operator=(QueueTicket&& other) noexcept {
  if (this != &other) {
    Release();
    scheduler_ = std::exchange(other.scheduler_, nullptr);
    rows_ = std::exchange(other.rows_, 0);
  }
  return *this;
}

void QueueTicket::Release() {
  if (scheduler_ == nullptr) return;
  {
    std::lock_guard<std::mutex> lock(scheduler_->mu_);
    scheduler_->reserved_rows_ -= static_cast<size_t>(rows_);
    scheduler_->reserved_.store(scheduler_->reserved_rows_);
  }
  scheduler_ = nullptr;
}

bool Scheduler::HasRoom(int64_t rows) const {
  std::lock_guard<std::mutex> lock(mu_);
  return CheckRoomLocked(std::max<int64_t>(rows, 1)).ok();
}

void Scheduler::Drain() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    draining_ = true;
  }
  cv_.notify_all();  // wakes workers waiting for a batch to fill
}

void Scheduler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
}

void Scheduler::WorkerLoop(int index) {
  BatchRunner runner = factory_(index);
  const size_t max_batch = static_cast<size_t>(std::max(1, options_.max_batch));
  std::unique_lock<std::mutex> lock(mu_);
  ++runners_made_;
  started_cv_.notify_all();
  for (;;) {
    cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
    if (queue_.empty()) return;  // stopping and drained
    // Give the batch until the oldest job's delay runs out to fill up. While
    // draining or stopping nothing more is coming: run what is there now.
    const Clock::time_point until = queue_.front()->enqueued + options_.max_delay;
    while (!stopping_ && !draining_ && !queue_.empty() && queued_rows_ < max_batch &&
           Clock::now() < until) {
      cv_.wait_until(lock, until);
    }
    if (queue_.empty()) continue;  // another worker took them
    // Whole jobs, in order, while their rows fit in the batch worth running
    // now; the first always goes (a job of more than max_batch rows runs
    // alone, in chunks). While draining everything is worth running.
    const double utilization = busy_.PerSecond(Clock::now()) / std::max(1, options_.workers);
    const size_t limit =
        draining_ || stopping_
            ? max_batch
            : BatchRowsWorthRunning(queued_rows_, max_batch, options_.run_ms, utilization,
                                    options_.batch_when_busy);
    std::vector<std::unique_ptr<Job>> batch;
    size_t rows = 0;
    while (!queue_.empty() &&
           (batch.empty() || rows + static_cast<size_t>(queue_.front()->rows()) <= limit)) {
      rows += static_cast<size_t>(queue_.front()->rows());
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    queued_rows_ -= rows;
    depth_.store(queued_rows_);
    running_.fetch_add(static_cast<int>(rows));
    const bool more = !queue_.empty();
    lock.unlock();
    if (more) cv_.notify_all();
    const Clock::time_point run_start = Clock::now();
    RunBatch(batch, runner);
    running_.fetch_sub(static_cast<int>(rows));
    lock.lock();
    const Clock::time_point run_end = Clock::now();
    busy_.Add(run_end, std::chrono::duration<double>(run_end - run_start).count());
  }
}

namespace {

// Rows [first, first + count) of `t` ([N, ...]) as a new tensor.
Tensor Rows(const Tensor& t, int64_t first, int64_t count) {
  Shape shape = t.shape();
  const int64_t per = shape[0] > 0 ? t.size() / shape[0] : 0;
  shape[0] = count;
  Tensor out(shape);
  std::memcpy(out.data(), t.data() + first * per, static_cast<size_t>(count * per) * sizeof(float));
  return out;
}

// Copies `src` ([c, ...]) into rows [first, first + c) of `dst` ([N, ...]).
void CopyRows(const Tensor& src, Tensor& dst, int64_t first) {
  const int64_t per = dst.shape()[0] > 0 ? dst.size() / dst.shape()[0] : 0;
  std::memcpy(dst.data() + first * per, src.data(), static_cast<size_t>(src.size()) * sizeof(float));
}

}  // namespace

void Scheduler::RunInChunks(Job& job, const BatchRunner& runner, Clock::time_point start) {
  const int64_t k = job.rows();
  const int64_t chunk = std::max(1, options_.max_batch);
  std::vector<Tensor> joined;
  for (int64_t first = 0; first < k; first += chunk) {
    const int64_t n = std::min(chunk, k - first);
    Result<std::vector<Tensor>> out = runner(Rows(job.input, first, n));
    if (options_.on_batch) options_.on_batch(static_cast<int>(n));
    if (!out.ok()) return job.done(out.status());
    if (joined.empty()) {
      for (const Tensor& t : *out) {
        Shape s = t.shape();
        s[0] = k;
        joined.emplace_back(s);
      }
    }
    for (size_t o = 0; o < out->size(); ++o) CopyRows((*out)[o], joined[o], first);
  }
  JobOutput result;
  result.outputs = std::move(joined);
  result.queue_ms = Ms(start - job.enqueued);
  result.infer_ms = Ms(Clock::now() - start);
  result.batch_size = static_cast<int>(std::min(chunk, k));
  job.done(std::move(result));
}

void Scheduler::RunBatch(std::vector<std::unique_ptr<Job>>& batch, const BatchRunner& runner) {
  const Clock::time_point start = options_.clock ? options_.clock() : Clock::now();
  // A job whose deadline passed while it waited never runs.
  std::vector<std::unique_ptr<Job>> live;
  for (auto& job : batch) {
    if (start > job->deadline) {
      job->done(DeadlineExceeded("the request waited " + std::to_string(Ms(start - job->enqueued)) +
                                 " ms in the queue, past its deadline"));
    } else {
      live.push_back(std::move(job));
    }
  }
  if (live.empty()) return;
  if (live.size() == 1 && live.front()->rows() > options_.max_batch) {
    return RunInChunks(*live.front(), runner, start);
  }

  // Stack the jobs' rows into one [n, ...] tensor (a lone job as it is).
  int64_t n = 0;
  bool same_shape = true;
  for (auto& job : live) {
    n += job->rows();
    const Shape& a = job->input.shape();
    const Shape& b = live.front()->input.shape();
    same_shape &= a.size() == b.size() && std::equal(a.begin() + 1, a.end(), b.begin() + 1);
  }
  Result<std::vector<Tensor>> outputs = InvalidArgument("inputs in one batch differ in shape");
  if (same_shape) {
    Tensor stacked;
    if (live.size() == 1) {
      stacked = live.front()->input;
    } else {
      Shape shape = live.front()->input.shape();
      shape[0] = n;
      stacked = Tensor(shape);
      int64_t first = 0;
      for (auto& job : live) {
        CopyRows(job->input, stacked, first);
        first += job->rows();
      }
    }
    outputs = runner(stacked);
  }
  const double infer_ms = Ms(Clock::now() - start);
  if (options_.on_batch) options_.on_batch(static_cast<int>(n));

  int64_t first = 0;
  for (auto& job : live) {
    const int64_t k = job->rows();
    if (!outputs.ok()) {
      job->done(outputs.status());
      continue;
    }
    JobOutput out;
    out.queue_ms = Ms(start - job->enqueued);
    out.infer_ms = infer_ms;
    out.batch_size = static_cast<int>(n);
    for (const Tensor& t : *outputs) {
      out.outputs.push_back(live.size() == 1 ? t : Rows(t, first, k));
    }
    first += k;
    job->done(std::move(out));
  }
}

}  // namespace kamado::serving
