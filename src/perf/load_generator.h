// Load generation against a request/response service, independent of the
// transport (the CLI plugs in HTTP; tests plug in anything).
//
// Two ways to offer load:
//   * closed loop — N workers, each sends its next request as soon as the
//     previous one returns. Latency = completion − send. A stalled server
//     slows the senders down, so it sees (and the histogram records) only N
//     slow requests per stall: closed loop under-reports queueing.
//   * open loop — arrivals at a fixed rate (constant spacing, or Poisson:
//     exponential gaps from a seeded RNG), independent of the responses.
//     Latency = completion − *intended* send time, so requests that had to
//     wait for a free connection, or behind a stalled server, count their
//     whole wait (no coordinated omission).
//
// A level runs `warmup_s` unrecorded, then `duration_s` measured, split into
// `windows` equal windows. Measured requests are those whose (intended) start
// lies in the measured period; all of them are waited for (up to
// `drain_timeout_s`). Throughput counts successful completions inside the
// measured period. The level is "stable" when, over the last three windows,
// both throughput and p99 are within ±stability_pct of their mean (the rule
// perf_analyzer uses); otherwise `stable` is false and `stability_note` says
// what moved.
//
// Threads: RunClosedLoop/RunOpenLoop/FindMaxRate block the caller, start their
// own workers (one Sender each) and join them before returning. The progress
// callback runs on the caller's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "perf/clock.h"
#include "perf/hdr_histogram.h"
#include "perf/latency_stats.h"
#include "core/result.h"

namespace kamado::perf {

// One request body. Owned by the caller and shared read-only by all workers.
struct Payload {
  std::string name;          // for messages (file name)
  std::string content_type;  // "image/png"
  std::string body;
};

// The transport of one worker: one connection, used from one thread only.
class Sender {
 public:
  virtual ~Sender() = default;
  // Called once on the worker's thread before the clock starts (connect,
  // handshake). An error aborts the level with that status.
  virtual Status Open() { return Status::Ok(); }
  // Sends one request and waits for its response. Returns the HTTP status,
  // or 0 when no response came (connection refused, reset, timeout).
  virtual int Send(const Payload& payload) = 0;
};

// Makes one Sender per worker; called on the caller's thread, once per worker,
// before any worker starts.
using SenderFactory = std::function<std::unique_ptr<Sender>()>;

enum class LoadMode { kClosedLoop, kOpenLoop };
enum class Arrivals { kConstant, kPoisson };

struct LoadOptions {
  double warmup_s = 2;
  double duration_s = 10;  // measured
  int windows = 3;         // ≥ 1; stability needs ≥ 3
  double stability_pct = 10;
  // Whether the windows' p99 must agree too. A window of ~100 requests has
  // for its p99 the largest but one: too noisy to compare between windows
  // (kamado tune, whose levels are sized by request count, checks the
  // throughput only and judges the p99 over the whole level).
  bool stability_p99 = true;
  // Open loop: workers (connections). 0: max(64, rate/10), at most 512.
  int connections = 0;
  Arrivals arrivals = Arrivals::kPoisson;
  uint64_t seed = 1;
  // After the measured period, how long to wait for outstanding requests;
  // open-loop arrivals still unsent then count as status 0.
  double drain_timeout_s = 30;
  // The time the level runs on (perf/clock.h); null: SystemClock(). The
  // workers are its participants; a Sender that waits should wait on it too.
  Clock* clock = nullptr;
};

// Live figures for a progress line.
struct LoadProgress {
  double elapsed_s = 0;
  double total_s = 0;  // warmup + duration
  bool warming_up = false;
  uint64_t completed = 0;  // responses so far, warm-up included
  uint64_t errors = 0;
};
using ProgressCallback = std::function<void(const LoadProgress&)>;

struct WindowStats {
  double throughput_rps = 0;
  double p99_ms = 0;
  uint64_t count = 0;  // measured successful completions in the window
};

struct LevelResult {
  LoadMode mode = LoadMode::kClosedLoop;
  double offered = 0;  // concurrency (closed) or requests/s (open)
  int connections = 0;
  double measured_s = 0;
  double throughput_rps = 0;  // successful completions / s in the measured period
  LatencyStats latency;       // of the measured successful requests: Summarize(histogram)
  uint64_t requests = 0;  // measured, errors included
  uint64_t errors = 0;    // measured, status not 2xx (0: no response)
  std::map<int, uint64_t> errors_by_status;
  // Open loop: how late requests actually went out after their intended time
  // (large when the generator or its connections were the bottleneck).
  double send_lag_p99_ms = 0;
  bool stable = true;
  std::string stability_note;  // empty when stable
  std::vector<WindowStats> windows;
  HdrHistogram histogram;  // latencies of measured successful requests, µs
};

// The constant or Poisson arrival offsets (seconds from start) in [0, span_s),
// at `rate` per second. Deterministic for a seed. InvalidArgument when rate is
// not positive or the schedule would exceed 50 million arrivals.
Result<std::vector<double>> ArrivalSchedule(double rate, double span_s, Arrivals arrivals,
                                            uint64_t seed);

// Pure stability rule over the last min(3, n) windows (see file comment).
// Returns "" when stable, else a sentence naming what varied.
// `p99` false: throughput only (see LoadOptions::stability_p99).
std::string CheckStability(const std::vector<WindowStats>& windows, double stability_pct, bool p99 = true);

Result<LevelResult> RunClosedLoop(const SenderFactory& factory,
                                  const std::vector<Payload>& payloads, int concurrency,
                                  const LoadOptions& options,
                                  const ProgressCallback& progress = {});

Result<LevelResult> RunOpenLoop(const SenderFactory& factory, const std::vector<Payload>& payloads,
                                double rate, const LoadOptions& options,
                                const ProgressCallback& progress = {});

// MLPerf "Server"-style search for the highest open-loop rate whose p99 stays
// within `p99_ms` with no errors.
struct MaxRateOptions {
  double p99_ms = 100;
  double initial_rate = 10;  // first probe, e.g. 0.8 × closed-loop throughput
  int max_probes = 8;        // hard bound on the number of levels run
  double precision = 0.05;   // stop when (fail − pass)/pass ≤ this
  double min_rate = 0.5;     // give up below this
  // Each probe measures at least this many requests: its measured period is
  // max(options.duration_s, min_requests / rate), so a level is sized by
  // request count (a p99 from a fixed number of samples) at any rate. 0: the
  // period is options.duration_s at every rate.
  int min_requests = 0;
  // While nothing has failed, the next rate is the highest pass × growth
  // (> 1). 2 finds an unknown bound fast; a search that starts near a known
  // bound (a re-measurement) brackets it in fewer probes with e.g. 1.1.
  double growth = 2;
  // A probe that fails at or below this rate ends the search: the true bound
  // is below it (kamado tune passes the rate a configuration must beat, so
  // one that cannot is not probed further). 0: off.
  double hopeless_at = 0;
};

struct MaxRateResult {
  double max_rate = 0;     // highest passing rate probed; 0 when none passed
  bool bracketed = false;  // a failing rate above max_rate was found
  bool hopeless = false;   // stopped: a rate at or below hopeless_at failed
  struct Probe {
    double rate = 0;
    bool pass = false;
    LevelResult level;
  };
  std::vector<Probe> probes;
};

// Multiplies the rate by `growth` while probes pass and nothing has failed
// yet (doubles by default), halves while
// nothing has passed yet, then bisects between the highest pass and the
// lowest fail. At most `max_probes` levels; a failure at or below
// `hopeless_at` ends it at once. `on_probe` (may be empty) is told
// each rate before it runs, for progress labels.
Result<MaxRateResult> FindMaxRate(const SenderFactory& factory,
                                  const std::vector<Payload>& payloads,
                                  const MaxRateOptions& search, const LoadOptions& options,
                                  const std::function<void(double rate)>& on_probe = {},
                                  const ProgressCallback& progress = {});

}  // namespace kamado::perf
