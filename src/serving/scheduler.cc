#include "serving/scheduler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

namespace kamado::serving {
namespace {

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

Scheduler::Scheduler(SchedulerOptions options, RunnerFactory factory)
    : options_(std::move(options)), factory_(std::move(factory)) {}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Start() {
  for (int i = 0; i < std::max(1, options_.workers); ++i) {
    workers_.emplace_back([this, i] { WorkerLoop(i); });
  }
}

Status Scheduler::Enqueue(std::unique_ptr<Job>& job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return Unavailable("the server is shutting down");
    if (queue_.size() >= options_.max_queue) {
      return Unavailable("the queue is full (" + std::to_string(options_.max_queue) +
                         " requests waiting)");
    }
    job->enqueued = Clock::now();
    queue_.push_back(std::move(job));
    depth_.store(queue_.size());
  }
  cv_.notify_all();
  return Status::Ok();
}

bool Scheduler::HasRoom() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !stopping_ && queue_.size() < options_.max_queue;
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
  for (;;) {
    cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
    if (queue_.empty()) return;  // stopping and drained
    // Give the batch until the oldest job's delay runs out to fill up. While
    // draining or stopping nothing more is coming: run what is there now.
    const Clock::time_point until = queue_.front()->enqueued + options_.max_delay;
    while (!stopping_ && !draining_ && !queue_.empty() && queue_.size() < max_batch &&
           Clock::now() < until) {
      cv_.wait_until(lock, until);
    }
    if (queue_.empty()) continue;  // another worker took them
    std::vector<std::unique_ptr<Job>> batch;
    while (!queue_.empty() && batch.size() < max_batch) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    depth_.store(queue_.size());
    running_.fetch_add(static_cast<int>(batch.size()));
    const bool more = !queue_.empty();
    lock.unlock();
    if (more) cv_.notify_all();
    RunBatch(batch, runner);
    running_.fetch_sub(static_cast<int>(batch.size()));
    lock.lock();
  }
}

void Scheduler::RunBatch(std::vector<std::unique_ptr<Job>>& batch, const BatchRunner& runner) {
  const Clock::time_point start = Clock::now();
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
  const int n = static_cast<int>(live.size());

  // Stack the [1, ...] inputs into one [n, ...] tensor.
  const Tensor& first = live.front()->input;
  Shape shape = first.shape();
  const int64_t item = first.size();
  Status bad = Status::Ok();
  for (auto& job : live) {
    if (job->input.shape() != shape) bad = InvalidArgument("inputs in one batch differ in shape");
  }
  Result<std::vector<Tensor>> outputs = bad;
  if (bad.ok()) {
    Tensor stacked;
    if (n == 1) {
      stacked = first;
    } else {
      shape[0] = n;
      stacked = Tensor(shape);
      for (int i = 0; i < n; ++i) {
        std::memcpy(stacked.data() + i * item, live[static_cast<size_t>(i)]->input.data(),
                    static_cast<size_t>(item) * sizeof(float));
      }
    }
    outputs = runner(stacked);
  }
  const double infer_ms = Ms(Clock::now() - start);
  if (options_.on_batch) options_.on_batch(n);

  for (int i = 0; i < n; ++i) {
    Job& job = *live[static_cast<size_t>(i)];
    if (!outputs.ok()) {
      job.done(outputs.status());
      continue;
    }
    JobOutput out;
    out.queue_ms = Ms(start - job.enqueued);
    out.infer_ms = infer_ms;
    out.batch_size = n;
    for (const Tensor& t : *outputs) {
      Shape s = t.shape();
      const int64_t per = t.size() / n;
      s[0] = 1;
      Tensor slice(s);
      std::memcpy(slice.data(), t.data() + i * per, static_cast<size_t>(per) * sizeof(float));
      out.outputs.push_back(std::move(slice));
    }
    job.done(std::move(out));
  }
}

}  // namespace kamado::serving
