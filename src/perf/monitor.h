// sar-like sampling of the machine and of chosen processes from /proc.
//
// Snapshot (raw counters at one instant) → ComputeSample(prev, cur) (rates
// over the interval) → FormatSampleText / FormatSampleJson. ProcReader reads
// snapshots from a /proc root, which tests point at fixture directories.
// Monitor runs the sampler on a background thread for `bench` and `load`.
#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "perf/proc_stats.h"
#include "core/result.h"

namespace kamado::perf {

struct ProcessSnapshot {
  int pid = 0;
  std::string comm;
  uint64_t cpu_ticks = 0;  // utime + stime
  uint64_t rss_kb = 0;
};

struct Snapshot {
  double monotonic_s = 0;  // steady clock; only differences matter
  std::chrono::system_clock::time_point wall;
  SystemStat stat;
  MemInfo mem;
  LoadAvg load;
  std::vector<ProcessSnapshot> processes;  // the pids still alive
  std::vector<int> exited;                 // asked for, but gone at this snapshot
};

struct ProcessSample {
  int pid = 0;
  std::string comm;
  // Δ(utime+stime)/CLK_TCK / Δt · 100: one busy thread is 100, N are N·100
  // (top's and pidstat's convention).
  double cpu_pct = 0;
  double rss_mb = 0;  // at the later snapshot, MiB
};

struct Sample {
  std::chrono::system_clock::time_point wall;
  double interval_s = 0;
  // Shares of all CPU ticks in the interval, summing to 100. As in `sar -u`,
  // system includes irq and softirq.
  double user_pct = 0, nice_pct = 0, system_pct = 0, iowait_pct = 0, steal_pct = 0, idle_pct = 0;
  double cswch_per_s = 0;
  double mem_used_pct = 0;
  double mem_total_mb = 0;
  LoadAvg load;
  std::vector<ProcessSample> processes;  // alive at both snapshots
  std::vector<int> exited;               // alive at `prev`, gone at `cur`
};

// Rates between two snapshots taken `cur.monotonic_s − prev.monotonic_s`
// apart; `clk_tck` is sysconf(_SC_CLK_TCK). A counter that went backwards
// (pid reuse) reads as 0.
Sample ComputeSample(const Snapshot& prev, const Snapshot& cur, long clk_tck);

// Reads snapshots from `root` ("/proc" by default). Stateless; thread-safe.
class ProcReader {
 public:
  explicit ProcReader(std::filesystem::path root = "/proc") : root_(std::move(root)) {}

  // System files only; errors name the file and field.
  Result<Snapshot> ReadSystem() const;
  // One process; NotFound naming the pid when it does not exist.
  Result<ProcessSnapshot> ReadProcess(int pid) const;
  // System plus `pids`; a pid that is gone goes to `exited`, not an error.
  Result<Snapshot> Read(const std::vector<int>& pids) const;

 private:
  std::filesystem::path root_;
};

// Text in sar's spirit: a header naming the columns, then per sample one
// system line and one line per process, each starting with HH:MM:SS.
std::string FormatHeaderText();
std::string FormatSampleText(const Sample& s);
// One JSON object, no trailing newline.
std::string FormatSampleJson(const Sample& s);

// Average and peak over a run, for bench/load summaries.
struct MonitorSummary {
  int samples = 0;
  double cpu_avg_pct = 0, cpu_peak_pct = 0;  // system-wide, 100 − idle
  double mem_avg_pct = 0, mem_peak_pct = 0;
  double process_cpu_avg_pct = 0, process_cpu_peak_pct = 0;  // sum over watched pids
  double process_rss_peak_mb = 0;
};
MonitorSummary SummarizeSamples(const std::vector<Sample>& samples);

// Samples on a background thread until Stop(). Start/Stop from one thread.
class Monitor {
 public:
  Monitor(std::vector<int> pids, std::chrono::milliseconds interval,
          ProcReader reader = ProcReader());
  ~Monitor();  // stops
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  Status Start();              // first snapshot; error if a pid or file is unreadable
  std::vector<Sample> Stop();  // joins; returns every sample taken
  size_t samples_taken();      // so far; any thread

 private:
  void Loop();

  std::vector<int> pids_;
  std::chrono::milliseconds interval_;
  ProcReader reader_;
  Snapshot first_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;            // mu_ must be held
  std::vector<Sample> samples_;  // mu_ must be held
};

}  // namespace kamado::perf
