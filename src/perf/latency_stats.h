// Summary statistics of latency samples, the way the reports print them.
#pragma once

#include <vector>

namespace kamado::perf {

struct LatencyStats {
  int count = 0;
  double mean_ms = 0, p50_ms = 0, p90_ms = 0, p99_ms = 0, min_ms = 0, max_ms = 0;
};

// Percentile q in [0, 100] with linear interpolation between the closest
// ranks (numpy's default): position (n−1)·q/100 in the sorted samples.
double Percentile(std::vector<double> samples, double q);

LatencyStats Summarize(const std::vector<double>& samples_ms);

}  // namespace kamado::perf
