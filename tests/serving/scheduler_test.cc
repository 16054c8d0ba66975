// The scheduler's batching and admission, by counting events, never by the
// wall clock: the fake runner can hold its worker inside a run (Hold) while
// the test queues jobs, so what forms the next batch is decided by what is
// queued, not by how fast this machine is. Delays are either 0 ("take what is
// there") or an hour ("fill by rows"); no test waits on one.
#include "serving/scheduler.h"
#include "serving/inference_service.h"

#include <gtest/gtest.h>

#include <future>
#include <mutex>
#include <vector>

namespace kamado::serving {
namespace {

using namespace std::chrono_literals;

// Doubles every value and records the row count of every run. With Hold(),
// the next run blocks inside the runner until Release().
class FakeModel {
 public:
  RunnerFactory Factory() {
    return [this](int) -> BatchRunner {
      return [this](const Tensor& batch) -> Result<std::vector<Tensor>> {
        std::shared_future<void> wait;
        {
          std::lock_guard<std::mutex> lock(mu_);
          batches_.push_back(static_cast<int>(batch.shape()[0]));
          if (hold_) {
            hold_ = false;
            entered_.set_value();
            wait = release_.get_future().share();
          }
        }
        if (wait.valid()) wait.wait();
        Tensor out(batch.shape());
        for (int64_t i = 0; i < batch.size(); ++i) out[i] = batch[i] * 2;
        return std::vector<Tensor>{out};
      };
    };
  }
  // The next run holds its worker; returns when a run has entered the hold.
  std::future<void> Hold() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = true;
    entered_ = std::promise<void>();
    release_ = std::promise<void>();
    return entered_.get_future();
  }
  void Release() { release_.set_value(); }
  std::vector<int> batches() {
    std::lock_guard<std::mutex> lock(mu_);
    return batches_;
  }
  int rows_run() {
    int n = 0;
    for (int b : batches()) n += b;
    return n;
  }

 private:
  std::mutex mu_;
  std::vector<int> batches_;
  bool hold_ = false;
  std::promise<void> entered_, release_;
};

// A job of `rows` rows of 2 values: row r holds {value + 10r, value + 10r + 1}.
std::unique_ptr<Job> MakeJob(float value, std::promise<Result<JobOutput>>* result, int rows = 1) {
  auto job = std::make_unique<Job>();
  std::vector<float> data;
  for (int r = 0; r < rows; ++r) {
    data.push_back(value + 10.0f * r);
    data.push_back(value + 10.0f * r + 1);
  }
  job->input = Tensor({rows, 2}, data);
  job->done = [result](Result<JobOutput> r) { result->set_value(std::move(r)); };
  return job;
}

void ExpectDoubled(const Result<JobOutput>& r, float value, int rows) {
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Tensor& out = r->outputs.front();
  ASSERT_EQ(out.shape(), (Shape{rows, 2}));
  for (int i = 0; i < rows; ++i) {
    EXPECT_EQ(out[2 * i], 2 * (value + 10.0f * i)) << "row " << i;
    EXPECT_EQ(out[2 * i + 1], 2 * (value + 10.0f * i + 1)) << "row " << i;
  }
}

SchedulerOptions Options(int max_batch, std::chrono::microseconds delay, size_t max_queue = 64) {
  SchedulerOptions o;
  o.workers = 1;
  o.max_batch = max_batch;
  o.max_delay = delay;
  o.max_queue = max_queue;
  return o;
}

TEST(Scheduler, BatchesQueuedJobsAndRoutesResults) {
  FakeModel model;
  Scheduler s(Options(4, 1h), model.Factory());  // fills by rows only
  s.Start();
  std::vector<std::promise<Result<JobOutput>>> results(4);
  for (int i = 0; i < 4; ++i) {
    auto job = MakeJob(static_cast<float>(i * 100), &results[static_cast<size_t>(i)]);
    ASSERT_TRUE(s.Enqueue(job).ok());
    EXPECT_EQ(job, nullptr);  // owned by the scheduler now
  }
  for (int i = 0; i < 4; ++i) {
    auto r = results[static_cast<size_t>(i)].get_future().get();
    ExpectDoubled(r, static_cast<float>(i * 100), 1);
    EXPECT_EQ(r->batch_size, 4);
  }
  s.Stop();
  EXPECT_EQ(model.batches(), (std::vector<int>{4}));
}

// Rows, not jobs, count against max_batch, and a job is never split across
// batches: while the worker is held, queue jobs of 1, 3, 2 and 2 rows; with
// max_batch 4 they run as [1+3] and [2+2] (the 2 does not join the 1+3).
TEST(Scheduler, JobsAreWholeAndTheirRowsCountAgainstMaxBatch) {
  FakeModel model;
  Scheduler s(Options(4, 0us), model.Factory());
  s.Start();
  std::promise<Result<JobOutput>> first;
  auto entered = model.Hold();
  auto j0 = MakeJob(0, &first);
  ASSERT_TRUE(s.Enqueue(j0).ok());
  entered.wait();  // the worker is inside the first run
  std::vector<std::promise<Result<JobOutput>>> results(4);
  const int rows[] = {1, 3, 2, 2};
  for (int i = 0; i < 4; ++i) {
    auto job = MakeJob(static_cast<float>(1000 * (i + 1)), &results[static_cast<size_t>(i)], rows[i]);
    ASSERT_TRUE(s.Enqueue(job).ok());
  }
  EXPECT_EQ(s.queue_depth(), 8u);  // rows waiting
  model.Release();
  ExpectDoubled(first.get_future().get(), 0, 1);
  for (int i = 0; i < 4; ++i) {
    ExpectDoubled(results[static_cast<size_t>(i)].get_future().get(), 1000.0f * (i + 1), rows[i]);
  }
  s.Stop();
  // 1 (held), then 1+3 = 4, then 2+2 = 4.
  EXPECT_EQ(model.batches(), (std::vector<int>{1, 4, 4}));
}

// A request larger than max_batch runs alone, in chunks, and its caller gets
// one answer of all its rows.
TEST(Scheduler, AJobOverMaxBatchRunsInChunksAndAnswersOnce) {
  FakeModel model;
  std::vector<int> observed;
  SchedulerOptions o = Options(4, 0us);
  o.on_batch = [&observed](int n) { observed.push_back(n); };
  Scheduler s(o, model.Factory());
  s.Start();
  std::promise<Result<JobOutput>> big;
  auto job = MakeJob(5, &big, 10);
  ASSERT_TRUE(s.Enqueue(job).ok());
  auto r = big.get_future().get();
  ExpectDoubled(r, 5, 10);
  EXPECT_EQ(r->batch_size, 4);
  s.Stop();
  EXPECT_EQ(model.batches(), (std::vector<int>{4, 4, 2}));
  EXPECT_EQ(observed, (std::vector<int>{4, 4, 2}));
}

TEST(Scheduler, FullQueueRefusesByRowsAndLeavesTheJobWithTheCaller) {
  FakeModel model;
  Scheduler s(Options(1, 0us, /*max_queue=*/3), model.Factory());
  s.Start();
  std::promise<Result<JobOutput>> first, a, b, c;
  auto entered = model.Hold();
  auto j0 = MakeJob(1, &first);
  ASSERT_TRUE(s.Enqueue(j0).ok());
  entered.wait();  // running rows do not count against the queue
  auto ja = MakeJob(2, &a, 2);
  ASSERT_TRUE(s.Enqueue(ja).ok());
  EXPECT_TRUE(s.HasRoom(1));
  EXPECT_FALSE(s.HasRoom(2));
  auto jb = MakeJob(3, &b, 2);  // 2 + 2 rows > 3
  const Status refused = s.Enqueue(jb);
  EXPECT_EQ(refused.code(), StatusCode::kUnavailable);
  ASSERT_NE(jb, nullptr);  // still ours
  EXPECT_EQ(jb->input[0], 3.0f);
  auto jc = MakeJob(4, &c);  // 2 + 1 rows fit
  ASSERT_TRUE(s.Enqueue(jc).ok());
  model.Release();
  s.Stop();  // runs every accepted job
  EXPECT_TRUE(first.get_future().get().ok());
  EXPECT_TRUE(a.get_future().get().ok());
  EXPECT_TRUE(c.get_future().get().ok());
  EXPECT_EQ(model.rows_run(), 4);
}

// More rows than the queue can ever hold: TooLarge (413), not Unavailable
// (503, "retry"), and the job stays with the caller.
TEST(Scheduler, AJobOverTheQueueBoundIsTooLargeEvenWhenIdle) {
  FakeModel model;
  Scheduler s(Options(2, 0us, /*max_queue=*/4), model.Factory());
  s.Start();
  std::promise<Result<JobOutput>> p;
  auto big = MakeJob(1, &p, 5);
  const Status refused = s.Enqueue(big);
  EXPECT_EQ(refused.code(), StatusCode::kTooLarge);
  EXPECT_NE(refused.message().find("max_queue 4"), std::string::npos) << refused.message();
  ASSERT_NE(big, nullptr);
  s.Stop();
  EXPECT_EQ(model.rows_run(), 0);
}

// A ticket holds a place from admission while the request is prepared
// elsewhere: the bound counts it, Enqueue with it cannot then be refused for
// room, and a ticket dropped unused gives its place back.
TEST(Scheduler, QueueTicketsHoldPlacesUntilEnqueuedOrDropped) {
  FakeModel model;
  Scheduler s(Options(4, 1h, /*max_queue=*/3), model.Factory());
  s.Start();
  auto two = s.Reserve(2);
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  EXPECT_EQ(s.reserved_rows(), 2u);
  EXPECT_TRUE(s.HasRoom(1));
  EXPECT_FALSE(s.HasRoom(2));
  EXPECT_EQ(s.Reserve(2).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.Reserve(4).status().code(), StatusCode::kTooLarge);
  std::promise<Result<JobOutput>> a, b;
  auto plain = MakeJob(1, &a, 2);
  EXPECT_EQ(s.Enqueue(plain).code(), StatusCode::kUnavailable) << "the reserved rows count";
  {
    auto one = s.Reserve(1);
    ASSERT_TRUE(one.ok());
    EXPECT_FALSE(s.HasRoom(1));
  }  // dropped: its place is back
  EXPECT_TRUE(s.HasRoom(1));
  auto fits = MakeJob(1, &b, 1);
  EXPECT_TRUE(s.Enqueue(fits, s.Reserve(1).value()).ok());
  auto job = MakeJob(5, &a, 2);
  ASSERT_TRUE(s.Enqueue(job, std::move(two).value()).ok());
  EXPECT_EQ(job, nullptr);
  EXPECT_EQ(s.reserved_rows(), 0u);
  EXPECT_EQ(s.queue_depth(), 3u);
  EXPECT_EQ(s.Reserve(1).status().code(), StatusCode::kUnavailable) << "3 rows queued";
  s.Drain();
  s.Stop();
  ExpectDoubled(a.get_future().get(), 5, 2);
  EXPECT_TRUE(b.get_future().get().ok());
  EXPECT_EQ(model.rows_run(), 3);
}

TEST(Scheduler, AJobWithoutRowsIsRefused) {
  FakeModel model;
  Scheduler s(Options(4, 0us), model.Factory());
  s.Start();
  auto empty = std::make_unique<Job>();
  empty->input = Tensor({0, 2});
  EXPECT_EQ(s.Enqueue(empty).code(), StatusCode::kInvalidArgument);
  EXPECT_NE(empty, nullptr);
  s.Stop();
  EXPECT_EQ(model.rows_run(), 0);
}

TEST(Scheduler, ExpiredJobsNeverRun) {
  FakeModel model;
  Scheduler s(Options(1, 0us), model.Factory());
  s.Start();
  std::promise<Result<JobOutput>> first, second;
  auto entered = model.Hold();
  auto a = MakeJob(1, &first);
  ASSERT_TRUE(s.Enqueue(a).ok());
  entered.wait();  // the worker is busy with `a`
  auto b = MakeJob(2, &second);
  b->deadline = Clock::now() - 1ms;  // already past: it can never start in time
  ASSERT_TRUE(s.Enqueue(b).ok());
  model.Release();
  EXPECT_TRUE(first.get_future().get().ok());
  auto r = second.get_future().get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  s.Stop();
  EXPECT_EQ(model.rows_run(), 1);
}

TEST(Scheduler, StopRunsEverythingQueuedThenRefuses) {
  FakeModel model;
  SchedulerOptions o = Options(2, 1h);
  o.workers = 2;
  Scheduler s(o, model.Factory());
  s.Start();
  std::vector<std::promise<Result<JobOutput>>> results(21);
  for (auto& p : results) {
    auto job = MakeJob(3, &p);
    ASSERT_TRUE(s.Enqueue(job).ok());
  }
  s.Stop();  // the odd last job does not wait an hour for company
  for (auto& p : results) EXPECT_TRUE(p.get_future().get().ok());
  EXPECT_EQ(model.rows_run(), 21);
  std::promise<Result<JobOutput>> late;
  auto job = MakeJob(1, &late);
  EXPECT_EQ(s.Enqueue(job).code(), StatusCode::kUnavailable);
}

// A drain must not wait out the batch delay, for jobs already queued nor for
// jobs the front-end still submits while it finishes accepted requests.
TEST(Scheduler, DrainRunsQueuedAndLateJobsWithoutWaitingForTheBatchToFill) {
  FakeModel model;
  Scheduler s(Options(8, 1h), model.Factory());  // it would wait an hour for 8 rows
  s.Start();
  std::vector<std::promise<Result<JobOutput>>> results(3);
  for (size_t i = 0; i < 2; ++i) {
    auto job = MakeJob(1, &results[i]);
    ASSERT_TRUE(s.Enqueue(job).ok());
  }
  EXPECT_EQ(model.rows_run(), 0);
  s.Drain();
  EXPECT_TRUE(s.HasRoom());
  auto late = MakeJob(2, &results[2]);
  ASSERT_TRUE(s.Enqueue(late).ok()) << "a draining scheduler still accepts";
  for (auto& p : results) EXPECT_TRUE(p.get_future().get().ok());  // would hang an hour
  s.Stop();
  EXPECT_EQ(model.rows_run(), 3);
}

TEST(Scheduler, RunnerErrorsReachEveryJobOfTheBatch) {
  RunnerFactory failing = [](int) -> BatchRunner {
    return [](const Tensor&) -> Result<std::vector<Tensor>> { return Internal("boom"); };
  };
  Scheduler s(Options(2, 1h, 4), failing);
  s.Start();
  std::promise<Result<JobOutput>> a, b, big;
  auto ja = MakeJob(1, &a), jb = MakeJob(2, &b);
  ASSERT_TRUE(s.Enqueue(ja).ok());
  ASSERT_TRUE(s.Enqueue(jb).ok());
  EXPECT_EQ(a.get_future().get().status().code(), StatusCode::kInternal);
  EXPECT_EQ(b.get_future().get().status().code(), StatusCode::kInternal);
  auto jbig = MakeJob(3, &big, 3);  // chunked: the first chunk's error ends it
  ASSERT_TRUE(s.Enqueue(jbig).ok());
  EXPECT_EQ(big.get_future().get().status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace kamado::serving

namespace kamado::serving {
namespace {

// Run times measured on the AVX-512 host (InceptionV3, 2 threads): a batch
// costs about as many single runs as it has rows.
const std::map<int, double> kFlat = {{1, 39.5}, {2, 75.0}, {8, 296.0}};
// A model where batching pays (MobileNetV2-like: fixed costs per run).
const std::map<int, double> kPays = {{1, 3.8}, {2, 4.6}, {8, 26.6}};

TEST(BatchPolicy, RunTimesAreInterpolatedBetweenMeasuredSizes) {
  EXPECT_DOUBLE_EQ(RunMsAt(kFlat, 1), 39.5);
  EXPECT_DOUBLE_EQ(RunMsAt(kFlat, 2), 75.0);
  EXPECT_DOUBLE_EQ(RunMsAt(kFlat, 5), 75.0 + 0.5 * (296.0 - 75.0));
  EXPECT_DOUBLE_EQ(RunMsAt(kFlat, 16), 592.0);  // proportional past the largest
  EXPECT_DOUBLE_EQ(RunMsAt({}, 3), 0.0);
}

TEST(BatchPolicy, WhenABatchCostsItsRowsQueuedRequestsRunOneByOneUntilBusy) {
  // Latency: 2 waiting → t(2) = 75 ≥ 1.5 × 39.5, so one at a time.
  EXPECT_EQ(BatchRowsWorthRunning(2, 8, kFlat, 0.3, 0.8), 1u);
  EXPECT_EQ(BatchRowsWorthRunning(8, 8, kFlat, 0.5, 0.8), 1u);
  // Throughput: at 80% busy and above, up to max_batch.
  EXPECT_EQ(BatchRowsWorthRunning(3, 8, kFlat, 0.8, 0.8), 8u);
  EXPECT_EQ(BatchRowsWorthRunning(3, 8, kFlat, 1.0, 0.8), 8u);
}

TEST(BatchPolicy, WhenBatchingPaysTheLargestBatchThatFinishesSoonerIsTaken) {
  // Of 5 waiting: t(5) = 4.6 + 3/6 × 22 = 15.6 ≥ 3 × 3.8, t(4) = 12.0 ≥ 9.5,
  // t(3) = 8.27 ≥ 7.6, t(2) = 4.6 < 5.7: a batch of 2.
  EXPECT_EQ(BatchRowsWorthRunning(5, 8, kPays, 0.2, 0.8), 2u);
  EXPECT_EQ(BatchRowsWorthRunning(1, 8, kPays, 0.2, 0.8), 1u);
  // No run times: the old rule, up to max_batch.
  EXPECT_EQ(BatchRowsWorthRunning(2, 8, {}, 0.0, 0.8), 8u);
}

TEST(BatchPolicy, TheUtilizationEstimateDecaysWithItsTimeConstant) {
  RateEstimator busy(std::chrono::seconds(2));
  const Clock::time_point t0 = Clock::time_point() + std::chrono::hours(1);
  EXPECT_EQ(busy.PerSecond(t0), 0.0);
  // Busy 0.5 s of every second for a long while → about 0.5.
  for (int i = 1; i <= 60; ++i) busy.Add(t0 + std::chrono::seconds(i), 0.5);
  EXPECT_NEAR(busy.PerSecond(t0 + std::chrono::seconds(60)), 0.5, 0.15);
  // Idle for 10 s (5 time constants) → under 1% of it.
  EXPECT_LT(busy.PerSecond(t0 + std::chrono::seconds(70)), 0.01);
}

TEST(BatchPolicy, TheDelayIsKeptOnlyWhereBatchingPays) {
  auto flat = DecideBatchDelay(kFlat, -1);
  EXPECT_EQ(flat.delay_us, 0);
  EXPECT_NEAR(flat.gain, 1 - 37.0 / 39.5, 1e-9);
  EXPECT_NE(flat.reason.find("does not pay"), std::string::npos) << flat.reason;
  auto pays = DecideBatchDelay(kPays, -1);
  EXPECT_EQ(pays.delay_us, kAutoBatchDelayUs);
  EXPECT_NE(pays.reason.find("batch 2 runs in 4.6 ms = 2.3 ms/row"), std::string::npos) << pays.reason;
  EXPECT_EQ(DecideBatchDelay(kFlat, 500).delay_us, 500);  // as set
  EXPECT_EQ(DecideBatchDelay({}, -1).delay_us, 0);
}

// Through the scheduler: with flat run times and an idle server, jobs that
// queued behind a held run go one by one; with the busy threshold at 0 they
// form one batch, as before.
TEST(BatchPolicy, TheSchedulerRunsQueuedJobsOneByOneWhenBatchingDoesNotPay) {
  for (const double busy : {1e9, 0.0}) {
    FakeModel model;
    SchedulerOptions o = Options(8, std::chrono::microseconds(0));
    o.run_ms = kFlat;
    o.batch_when_busy = busy;
    Scheduler s(o, model.Factory());
    s.Start();
    std::vector<std::promise<Result<JobOutput>>> results(4);
    auto held = model.Hold();
    auto first = MakeJob(0, &results[0]);
    ASSERT_TRUE(s.Enqueue(first).ok());
    held.wait();
    for (int i = 1; i < 4; ++i) {
      auto job = MakeJob(static_cast<float>(i), &results[static_cast<size_t>(i)]);
      ASSERT_TRUE(s.Enqueue(job).ok());
    }
    model.Release();
    for (auto& r : results) ASSERT_TRUE(r.get_future().get().ok());
    s.Stop();
    if (busy > 1) {
      EXPECT_EQ(model.batches(), (std::vector<int>{1, 1, 1, 1}));
    } else {
      EXPECT_EQ(model.batches(), (std::vector<int>{1, 3}));
    }
  }
}

}  // namespace
}  // namespace kamado::serving
