// The search of `kamado tune`, independent of how a configuration is
// measured: the caller plugs in an Evaluator (the CLI: a real `kamado serve`
// on loopback driven by the open-loop load generator; tests: a function) and
// a clock for the time budget.
//
//   * full  — every configuration of the grid, the default first.
//   * quick — a hill-climb from the default configuration: measure every
//     neighbour (search_space.h), move to the best one if it beats the
//     current point by more than `min_gain_pct`, stop when none does. Why a
//     hill-climb and not successive halving: one measurement is a rate
//     search whose levels must each hold enough requests for a p99 (≥ 300),
//     so it cannot be made much cheaper, and halving needs many cheap
//     low-fidelity rounds to pay off; the space is small and each axis
//     (batch, delay, the split of the cores) is close to single-peaked, which
//     is where a hill-climb finds the top in a few steps.
//
// A measurement whose level at the SLO rate was unstable (the load
// generator's window check) is repeated once and the better-behaved of the
// two kept. Each measurement's cost is estimated from those so far; the
// search starts no measurement that would leave too little of the budget for
// the confirmation: afterwards the recommended and the default configurations
// are re-measured interleaved (default, recommended, default, …,
// `confirm_rounds` each, every run from scratch), and the recommendation
// stands only if its median SLO throughput is at least the default's.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "perf/clock.h"
#include "tune/search_space.h"

namespace kamado::tune {

// One configuration measured once.
struct Measurement {
  double slo_rps = 0;   // the highest probed rate with p99 ≤ SLO and no errors; 0: none
  bool bracketed = false;  // a failing rate above it was probed
  // At the probe of `slo_rps`:
  double p50_ms = 0, p99_ms = 0;
  double throughput_rps = 0;  // achieved
  double cpu_pct = 0;         // the server's processes, 100 per busy CPU
  bool stable = true;         // the load generator's window check
  uint64_t requests = 0;
  // The server's processes after the search: resident and proportional set
  // size (PSS shares pages among the processes that map them: one copy of
  // the weights shared by P workers counts once in the sum).
  double rss_mb = 0, pss_mb = 0;
  int probes = 0;
  double seconds = 0;  // wall time, start of the server included
  std::string error;   // not empty: it could not be measured (the server refused it, …)
  bool cut_short = false;  // its search stopped at a failing rate ≤ EvalHint::beat_rps
};

// How the evaluator should search: from a known rate (the previous best, or
// this configuration's own result when it is re-measured) and how fast to
// grow from it.
struct EvalHint {
  double start_rps = 0;  // 0: unknown, find a start (a short closed-loop level)
  double growth = 2;     // perf::MaxRateOptions::growth
  std::string phase;     // "search" or "confirm", for progress lines
  // The rate this configuration must exceed to matter (the search's best so
  // far, or what a hill-climb step needs); a probe failing at or below it
  // ends its search (perf::MaxRateOptions::hopeless_at). 0: measure fully.
  double beat_rps = 0;
};

using Evaluator = std::function<Measurement(const Candidate&, const EvalHint&)>;

struct Point {
  Candidate candidate;
  Measurement m;
  int attempts = 1;  // 2 when the first was unstable
};

struct SearchOptions {
  enum class Mode { kQuick, kFull };
  Mode mode = Mode::kQuick;
  double budget_s = 900;
  int confirm_rounds = 3;     // re-measurements of each of default and recommended
  double min_gain_pct = 3;    // quick: a move must beat the current point by this
  double tie_pct = 3;         // recommend: within this of the best, prefer less memory (Recommend)
  perf::Clock* clock = nullptr;  // null: perf::SystemClock()
  std::function<void(const std::string&)> log;  // a line per decision; may be empty
};

struct SearchResult {
  std::vector<Point> points;  // in measurement order, one per configuration
  Candidate default_candidate;
  Candidate recommended;
  bool recommended_is_default = false;
  std::vector<Measurement> default_runs, recommended_runs;  // the confirmation
  double default_median_rps = 0, recommended_median_rps = 0;
  size_t grid_size = 0;        // configurations the space holds
  bool budget_reached = false;  // stopped early for the budget
  double elapsed_s = 0;
  std::vector<std::string> notes;
};

// Runs the search. `cpus` bounds P × S × T. The default configuration is
// always measured first, even when the lists do not hold it.
SearchResult RunSearch(const SearchSpace& space, int cpus, const Evaluator& evaluate,
                       const SearchOptions& options);

// The configuration to recommend among `points` (index), or -1 when none has
// a positive SLO throughput: among those within `tie_pct` % of the highest
// slo_rps (a difference one measurement cannot resolve), the least PSS, then
// the lowest p99, then the highest slo_rps. (Fewer CPUs is no tie-breaker:
// a replica is a whole machine, and CPUs a configuration leaves idle are
// not saved.)
int Recommend(const std::vector<Point>& points, double tie_pct);

// Pareto fronts over the measured points (slo_rps > 0), as indices in
// ascending slo_rps: no other point has at least the throughput and at most
// the cost with one of them strictly better. Cost: p99 at the SLO rate, or
// PSS.
enum class Cost { kP99, kMemory };
std::vector<size_t> ParetoFront(const std::vector<Point>& points, Cost cost);

// The median of the runs' slo_rps (0 for none).
double MedianRps(const std::vector<Measurement>& runs);

}  // namespace kamado::tune
