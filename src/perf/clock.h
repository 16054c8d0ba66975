// Time as an input. Code in perf/ that waits, throttles or measures reads
// the time through a Clock, so tests can run it on simulated time and count
// events instead of asserting wall time on a shared machine.
//
// SystemClock() is std::chrono::steady_clock and sleeps for real. A test
// clock (tests/perf/simulated_clock.h) moves time forward only when every
// thread that uses it is asleep in SleepUntil, straight to the earliest wake
// time: a 30 s load level then runs in milliseconds and gives the same
// figures on any machine.
//
// Threads that call SleepUntil announce themselves with Join() before their
// first call and Leave() after their last (a simulated clock must know when
// all of them are asleep); SystemClock ignores both. Thread-safe.
#pragma once

#include <chrono>

namespace kamado::perf {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::steady_clock::duration;

  virtual ~Clock() = default;
  virtual TimePoint Now() = 0;
  // Returns at or after `t` (at once when `t` has passed).
  virtual void SleepUntil(TimePoint t) = 0;
  virtual void Join() {}
  virtual void Leave() {}
};

// The real clock; one instance for the process.
Clock& SystemClock();

// Seconds between two time points.
inline double SecondsBetween(Clock::TimePoint a, Clock::TimePoint b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace kamado::perf
