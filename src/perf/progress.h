// A live one-line progress display on stderr ("\r"-rewritten), for commands
// that run longer than a few seconds. Silent when stderr is not a terminal
// (CI logs, pipes) unless forced. Not thread-safe: update from one thread.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

namespace kamado::perf {

class Progress {
 public:
  // `total` is in the caller's units (iterations, seconds); 0 = unknown.
  // `enabled`: -1 = when stderr is a terminal, 0 = never, 1 = always.
  Progress(std::string label, double total, int enabled = -1, std::FILE* out = stderr);
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
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;  // construction; for the elapsed time
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace kamado::perf
