// A live one-line progress display on stderr ("\r"-rewritten), for commands
// that run longer than a few seconds. Silent when stderr is not a terminal
// (CI logs, pipes) unless forced. Not thread-safe: update from one thread.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

#include "perf/clock.h"

namespace kamado::perf {

class Progress {
 public:
  // `total` is in the caller's units (iterations, seconds); 0 = unknown.
  // `enabled`: -1 = when stderr is a terminal, 0 = never, 1 = always.
  // `clock` (perf/clock.h; null: SystemClock) times the throttle and the
  // elapsed seconds; it must outlive the Progress.
  Progress(std::string label, double total, int enabled = -1, std::FILE* out = stderr,
           Clock* clock = nullptr);
  ~Progress();  // Finish()

  // Redraws at most every 200 ms (the first call always draws):
  // "\r" + "label  [#####.....]  45%  done/total  12.3s  extra" + "\x1b[K"
  // (erase to end of line). With total 0: "label  done  12.3s  extra". The
  // line is cut to the terminal's width so it never wraps.
  void Update(double done, const std::string& extra = "");
  // Clears the line ("\r\x1b[K") if anything was drawn, so the next output
  // starts clean. Idempotent.
  void Finish();

  bool enabled() const { return enabled_; }

 private:
  std::string label_;
  double total_;
  bool enabled_;
  std::FILE* out_;
  Clock& clock_;
  bool drawn_ = false;
  Clock::TimePoint start_;  // construction; for the elapsed time
  Clock::TimePoint last_{};
};

}  // namespace kamado::perf
