// A perf::Clock on simulated time, for tests: time stands still while any
// participant (a thread between Join and Leave) is running, and when every
// participant is asleep in SleepUntil it jumps to the earliest wake time.
// So a load level, a throttle or a stall runs in as long as the code takes,
// not as long as the simulated seconds, and gives the same figures on a busy
// 2-core machine as on an idle one. Set() moves time by hand for tests with
// no participants (Progress). Thread-safe.
#pragma once

#include <condition_variable>
#include <mutex>
#include <set>

#include "perf/clock.h"

namespace kamado::perf::testing {

class SimulatedClock final : public Clock {
 public:
  // Starts at an arbitrary fixed instant, far from the epoch.
  SimulatedClock() : now_(TimePoint() + std::chrono::hours(1000)) {}

  TimePoint Now() override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }

  void SleepUntil(TimePoint t) override {
    std::unique_lock<std::mutex> lock(mu_);
    if (t <= now_) return;
    auto it = wakeups_.insert(t);
    ++sleeping_;
    AdvanceLocked();
    cv_.wait(lock, [&] { return now_ >= t; });
    --sleeping_;
    wakeups_.erase(it);
  }

  void Join() override {
    std::lock_guard<std::mutex> lock(mu_);
    ++participants_;
  }
  void Leave() override {
    std::lock_guard<std::mutex> lock(mu_);
    --participants_;
    AdvanceLocked();
  }

  void Set(TimePoint t) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ = t;
    cv_.notify_all();
  }
  void Advance(Duration d) { Set(Now() + d); }

 private:
  // Every participant asleep: wake the earliest. `mu_` must be held.
  void AdvanceLocked() {
    if (participants_ > 0 && sleeping_ == participants_ && !wakeups_.empty() &&
        *wakeups_.begin() > now_) {
      now_ = *wakeups_.begin();
      cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  TimePoint now_;                   // mu_ must be held
  std::multiset<TimePoint> wakeups_;  // mu_ must be held
  int participants_ = 0;            // mu_ must be held
  int sleeping_ = 0;                // mu_ must be held
};

}  // namespace kamado::perf::testing
