#include "serving/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

namespace kamado::serving {
namespace {

using namespace std::chrono_literals;

// A runner that doubles every value and records the batch sizes it saw.
struct FakeModel {
  std::mutex mu;
  std::vector<int> batches;
  std::atomic<int> items_run{0};
  std::chrono::milliseconds delay{0};

  RunnerFactory Factory() {
    return [this](int) -> BatchRunner {
      return [this](const Tensor& batch) -> Result<std::vector<Tensor>> {
        if (delay.count() > 0) std::this_thread::sleep_for(delay);
        {
          std::lock_guard<std::mutex> lock(mu);
          batches.push_back(static_cast<int>(batch.shape()[0]));
        }
        items_run += static_cast<int>(batch.shape()[0]);
        Tensor out(batch.shape());
        for (int64_t i = 0; i < batch.size(); ++i) out[i] = batch[i] * 2;
        return std::vector<Tensor>{out};
      };
    };
  }
};

std::unique_ptr<Job> MakeJob(float value, std::promise<Result<JobOutput>>* result) {
  auto job = std::make_unique<Job>();
  job->input = Tensor({1, 2}, {value, value + 1});
  job->done = [result](Result<JobOutput> r) { result->set_value(std::move(r)); };
  return job;
}

TEST(Scheduler, BatchesQueuedJobsAndRoutesResults) {
  FakeModel model;
  Scheduler s({.workers = 1, .max_batch = 4, .max_delay = 200ms, .max_queue = 16, .on_batch = {}}, model.Factory());
  s.Start();
  std::vector<std::promise<Result<JobOutput>>> results(4);
  for (int i = 0; i < 4; ++i) {
    auto job = MakeJob(static_cast<float>(i * 10), &results[static_cast<size_t>(i)]);
    ASSERT_TRUE(s.Enqueue(job).ok());
    EXPECT_EQ(job, nullptr);  // owned by the scheduler now
  }
  for (int i = 0; i < 4; ++i) {
    auto r = results[static_cast<size_t>(i)].get_future().get();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const Tensor& out = r->outputs.front();
    EXPECT_EQ(out.shape(), (Shape{1, 2}));
    EXPECT_EQ(out[0], i * 20.0f);
    EXPECT_EQ(out[1], (i * 10 + 1) * 2.0f);
    EXPECT_EQ(r->batch_size, 4);
  }
  s.Stop();
  EXPECT_EQ(model.batches, (std::vector<int>{4}));
}

TEST(Scheduler, FullQueueRefusesAndLeavesTheJobWithTheCaller) {
  FakeModel model;
  model.delay = 100ms;
  Scheduler s({.workers = 1, .max_batch = 1, .max_delay = 0us, .max_queue = 2, .on_batch = {}}, model.Factory());
  s.Start();
  std::vector<std::promise<Result<JobOutput>>> results(8);
  int accepted = 0, refused = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    auto job = MakeJob(1, &results[i]);
    Status st = s.Enqueue(job);
    if (st.ok()) {
      ++accepted;
    } else {
      ++refused;
      EXPECT_EQ(st.code(), StatusCode::kUnavailable);
      ASSERT_NE(job, nullptr);  // still ours
      EXPECT_EQ(job->input[0], 1.0f);
    }
  }
  EXPECT_GT(refused, 0);
  EXPECT_FALSE(s.HasRoom() && refused == 0);
  s.Stop();  // runs every accepted job
  EXPECT_EQ(model.items_run.load(), accepted);
}

TEST(Scheduler, ExpiredJobsNeverRun) {
  FakeModel model;
  model.delay = 150ms;
  Scheduler s({.workers = 1, .max_batch = 1, .max_delay = 0us, .max_queue = 8, .on_batch = {}}, model.Factory());
  s.Start();
  std::promise<Result<JobOutput>> first, second;
  auto a = MakeJob(1, &first);
  ASSERT_TRUE(s.Enqueue(a).ok());
  std::this_thread::sleep_for(20ms);  // the worker is busy with `a`
  auto b = MakeJob(2, &second);
  b->deadline = Clock::now() + 1ms;
  ASSERT_TRUE(s.Enqueue(b).ok());
  EXPECT_TRUE(first.get_future().get().ok());
  auto r = second.get_future().get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  s.Stop();
  EXPECT_EQ(model.items_run.load(), 1);
}

TEST(Scheduler, StopRunsEverythingQueuedThenRefuses) {
  FakeModel model;
  model.delay = 10ms;
  Scheduler s({.workers = 2, .max_batch = 2, .max_delay = 1ms, .max_queue = 64, .on_batch = {}}, model.Factory());
  s.Start();
  std::vector<std::promise<Result<JobOutput>>> results(20);
  for (auto& p : results) {
    auto job = MakeJob(3, &p);
    ASSERT_TRUE(s.Enqueue(job).ok());
  }
  s.Stop();
  for (auto& p : results) EXPECT_TRUE(p.get_future().get().ok());
  std::promise<Result<JobOutput>> late;
  auto job = MakeJob(1, &late);
  EXPECT_EQ(s.Enqueue(job).code(), StatusCode::kUnavailable);
}

// A drain must not wait out the batch delay, for jobs already queued nor for
// jobs the front-end still submits while it finishes accepted requests.
TEST(Scheduler, DrainRunsQueuedAndLateJobsWithoutWaitingForTheBatchToFill) {
  FakeModel model;
  Scheduler s({.workers = 1, .max_batch = 8, .max_delay = 30s, .max_queue = 16, .on_batch = {}},
              model.Factory());
  s.Start();
  std::vector<std::promise<Result<JobOutput>>> results(3);
  for (size_t i = 0; i < 2; ++i) {
    auto job = MakeJob(1, &results[i]);
    ASSERT_TRUE(s.Enqueue(job).ok());
  }
  std::this_thread::sleep_for(20ms);  // the worker is waiting for the batch to fill
  EXPECT_EQ(model.items_run.load(), 0);
  s.Drain();
  EXPECT_TRUE(s.HasRoom());
  auto late = MakeJob(2, &results[2]);
  ASSERT_TRUE(s.Enqueue(late).ok()) << "a draining scheduler still accepts";
  for (auto& p : results) {
    auto f = p.get_future();
    ASSERT_EQ(f.wait_for(5s), std::future_status::ready) << "the drain waited for the batch delay";
    EXPECT_TRUE(f.get().ok());
  }
  s.Stop();
  EXPECT_EQ(model.items_run.load(), 3);
}

TEST(Scheduler, RunnerErrorsReachEveryJobOfTheBatch) {
  RunnerFactory failing = [](int) -> BatchRunner {
    return [](const Tensor&) -> Result<std::vector<Tensor>> { return Internal("boom"); };
  };
  Scheduler s({.workers = 1, .max_batch = 2, .max_delay = 50ms, .max_queue = 4, .on_batch = {}}, failing);
  s.Start();
  std::promise<Result<JobOutput>> a, b;
  auto ja = MakeJob(1, &a), jb = MakeJob(2, &b);
  ASSERT_TRUE(s.Enqueue(ja).ok());
  ASSERT_TRUE(s.Enqueue(jb).ok());
  EXPECT_EQ(a.get_future().get().status().code(), StatusCode::kInternal);
  EXPECT_EQ(b.get_future().get().status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace kamado::serving
