// AllocatorTrimmer: trims once after work, when idle, and not again until
// there is more work. Counted by state (ticks, trims), not by time.
#include "serving/allocator.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace kamado::serving {
namespace {

template <typename F>
bool WaitFor(F ready) {
  for (int i = 0; i < 20000 && !ready(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return ready();
}

TEST(AllocatorTrimmer, TrimsOnceAfterWorkWhenIdle) {
  std::atomic<uint64_t> answered{0};
  std::atomic<bool> idle{false};
  std::atomic<int> ticks{0};
  AllocatorTrimmer trimmer(
      std::chrono::milliseconds(1), [&] { return answered.load(); },
      [&] {
        ++ticks;
        return idle.load();
      });
  answered = 5;  // work done, but requests still in flight: no trim
  ASSERT_TRUE(WaitFor([&] { return ticks.load() >= 5; }));
  EXPECT_EQ(trimmer.trims(), 0u);
  idle = true;
  ASSERT_TRUE(WaitFor([&] { return trimmer.trims() == 1; }));
  // Idle and no new work: the trimmer does not ask again, and never trims.
  const int asked = ticks.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(ticks.load(), asked);
  EXPECT_EQ(trimmer.trims(), 1u);
  answered = 6;
  ASSERT_TRUE(WaitFor([&] { return trimmer.trims() == 2; }));
}

}  // namespace
}  // namespace kamado::serving
