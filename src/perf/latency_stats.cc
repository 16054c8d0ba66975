#include "perf/latency_stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace kamado::perf {

double Percentile(std::vector<double> samples, double q) {
  if (samples.empty()) return 0.0;
  std::sort(samples.begin(), samples.end());
  const double pos = (static_cast<double>(samples.size()) - 1.0) * std::clamp(q, 0.0, 100.0) / 100.0;
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, samples.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  return samples[lo] + (samples[hi] - samples[lo]) * frac;
}

LatencyStats Summarize(const std::vector<double>& samples_ms) {
  LatencyStats s;
  s.count = static_cast<int>(samples_ms.size());
  if (samples_ms.empty()) return s;
  s.mean_ms = std::accumulate(samples_ms.begin(), samples_ms.end(), 0.0) / s.count;
  s.p50_ms = Percentile(samples_ms, 50);
  s.p90_ms = Percentile(samples_ms, 90);
  s.p99_ms = Percentile(samples_ms, 99);
  const auto [mn, mx] = std::minmax_element(samples_ms.begin(), samples_ms.end());
  s.min_ms = *mn;
  s.max_ms = *mx;
  return s;
}

}  // namespace kamado::perf
