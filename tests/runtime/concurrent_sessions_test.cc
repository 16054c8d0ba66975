// The engine's central claim: one CompiledModel is shared by many Sessions
// on many threads. Here N threads each own a Session of the same model and
// run batch sizes 1, 2, 3 and 5 in different orders, so plans are built
// (GetPlan, weight reorders into the shared arena) while other threads run;
// every output must be bitwise equal to a serial run of the same plan (same
// batch size, same thread count). Built and run under ThreadSanitizer too
// (`make test-tsan`), with one intra-op thread per session: Debian's oneDNN
// and libgomp are not instrumented.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include "ir/graph.h"
#include "runtime/compiled_model.h"
#include "runtime/session.h"
#include "small_cnn.h"

namespace kamado::runtime {
namespace {

CompileOptions OneThread() {
  CompileOptions o;
  o.threads = 1;
  return o;
}

TEST(ConcurrentSessions, SharedModelGivesEveryThreadTheSerialAnswer) {
  constexpr int kThreads = 4, kRounds = 6;
  const std::vector<int64_t> kBatches = {1, 2, 3, 5};
  std::mt19937 rng(5);
  std::map<int64_t, Tensor> inputs;
  for (int64_t b : kBatches) inputs[b] = Random({b, 16, 16, 3}, rng);

  // The serial answer of each plan, from its own model and session.
  std::map<int64_t, Tensor> serial;
  {
    auto model = CompiledModel::Compile(SmallCnn(), OneThread());
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    Session session(*model, {.threads = 1});
    for (int64_t b : kBatches) {
      auto out = session.Run({inputs[b]});
      ASSERT_TRUE(out.ok()) << out.status().ToString();
      serial[b] = out->front();
    }
  }

  // One model (only its batch-1 plan built so far), many sessions at once.
  auto model = CompiledModel::Compile(SmallCnn(), OneThread());
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  std::vector<std::string> errors(kThreads);
  std::vector<int> runs(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Session session(*model, {.threads = 1});
      for (int round = 0; round < kRounds; ++round) {
        for (size_t i = 0; i < kBatches.size(); ++i) {
          // Each thread walks the batch sizes from a different start, so
          // different plans are first built on different threads.
          const int64_t b = kBatches[(i + static_cast<size_t>(t) + static_cast<size_t>(round)) %
                                     kBatches.size()];
          auto out = session.Run({inputs[b]});
          if (!out.ok()) {
            errors[static_cast<size_t>(t)] = out.status().ToString();
            return;
          }
          if (!BitwiseEqual(out->front(), serial[b])) {
            errors[static_cast<size_t>(t)] =
                "batch " + std::to_string(b) + " differs from the serial run";
            return;
          }
          ++runs[static_cast<size_t>(t)];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(errors[static_cast<size_t>(t)], "") << "thread " << t;
    EXPECT_EQ(runs[static_cast<size_t>(t)], kRounds * static_cast<int>(kBatches.size()));
  }
}

// A session keeps one activation arena, sized for the largest plan it has
// run: going back to a smaller batch neither allocates nor changes answers.
TEST(ConcurrentSessions, OneSessionRunsEveryBatchSizeInOneArena) {
  std::mt19937 rng(7);
  auto model = CompiledModel::Compile(SmallCnn(), OneThread());
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const Tensor one = Random({1, 16, 16, 3}, rng), five = Random({5, 16, 16, 3}, rng);
  Session session(*model, {.threads = 1});
  auto a = session.Run({one});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto plan1 = (*model)->GetPlan(1, 1);
  auto plan5 = (*model)->GetPlan(5, 1);
  ASSERT_TRUE(plan1.ok() && plan5.ok());
  EXPECT_EQ(session.arena_bytes(), (*plan1)->memory.arena_bytes);
  auto b = session.Run({five});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_GT((*plan5)->memory.arena_bytes, (*plan1)->memory.arena_bytes);
  EXPECT_EQ(session.arena_bytes(), (*plan5)->memory.arena_bytes);
  auto c = session.Run({one});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(session.arena_bytes(), (*plan5)->memory.arena_bytes);
  EXPECT_TRUE(BitwiseEqual(a->front(), c->front()));
  Session fresh(*model, {.threads = 1});
  auto d = fresh.Run({five});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(BitwiseEqual(b->front(), d->front()));
}

}  // namespace
}  // namespace kamado::runtime
