// The maths behind the report's latency plots: quantiles and CDF points of a
// weighted latency series, and histogram bins shared by several series.
// Pure functions of their inputs; thread-compatible.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "perf/latency_stats.h"
#include "perf/report.h"

namespace kamado::perf {

struct CdfPoint {
  double percentile = 0;  // 0..100
  double latency_ms = 0;
};

// A LatencySeries sorted by latency, with cumulative counts. Entries whose
// latency is not finite or whose count is 0 are dropped.
class LatencyDistribution {
 public:
  explicit LatencyDistribution(const LatencySeries& series);

  uint64_t count() const { return total_; }
  bool empty() const { return total_ == 0; }
  double min() const;   // NaN when empty
  double max() const;   // NaN when empty
  double mean() const;  // NaN when empty

  // The one quantile rule (perf/latency_stats.h), weighted: the smallest
  // latency whose cumulative count reaches QuantileRank(q, count()), q in
  // [0, 1]. NaN when empty. For the CDF plot; tables print LatencyStats.
  double Quantile(double q) const;

  // Points of the inverse CDF: the first is (0, min), the last (100, max);
  // percentiles 50, 90, 99, 99.9 and 99.99 appear exactly, plus `grid` points
  // evenly spaced on the HDR axis (HdrPercentileX). Ascending in both
  // coordinates. Empty when the series is.
  std::vector<CdfPoint> Cdf(int grid = 200) const;

 private:
  std::vector<std::pair<double, uint64_t>> sorted_;  // (latency, count), ascending
  std::vector<uint64_t> cumulative_;                 // running sum of the counts
  uint64_t total_ = 0;
};

// Position on the HDR percentile axis, which gives each "nine" equal width:
// −log10(1 − p/100), with p clamped to [0, 99.99], so the result is in [0, 4].
double HdrPercentileX(double percentile);

// HdrHistogram bins over the union of `series`' latencies.
struct LatencyBins {
  std::vector<double> edges;                  // bins + 1, ascending; empty when no data
  std::vector<std::vector<uint64_t>> counts;  // [series][bin], one row per input series
  bool log_x = false;  // log-spaced edges (positive data spanning more than 10×)
};

// Bin count by Rice's rule (2·∛N) clamped to [5, max_bins]; a single bin when
// every latency is equal. Value v goes to the bin with edges[i] <= v < edges[i+1]
// (the last bin also takes its upper edge).
LatencyBins BinLatencies(const std::vector<LatencySeries>& series, int max_bins = 60);

}  // namespace kamado::perf
