#include "perf/latency_stats.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <numeric>

#include "perf/hdr_histogram.h"

namespace kamado::perf {

uint64_t QuantileRank(double q, uint64_t n) {
  if (n == 0) return 0;
  const double x = std::clamp(q, 0.0, 1.0) * static_cast<double>(n);
  // q·n is computed in floating point: 0.29·100 comes out as 28.999999999999996.
  // Anything within 4 ulps of an integer is that integer.
  const double rounded = std::round(x);
  const double r = std::abs(x - rounded) <= 4 * DBL_EPSILON * std::max(1.0, x) ? rounded : std::ceil(x);
  return std::clamp<uint64_t>(static_cast<uint64_t>(r), 1, n);
}

double Quantile(std::vector<double> samples, double q) {
  if (samples.empty()) return 0.0;
  const uint64_t r = QuantileRank(q, samples.size());
  auto nth = samples.begin() + static_cast<std::ptrdiff_t>(r - 1);
  std::nth_element(samples.begin(), nth, samples.end());
  return *nth;
}

LatencyStats Summarize(const std::vector<double>& samples_ms) {
  LatencyStats s;
  s.count = samples_ms.size();
  if (samples_ms.empty()) return s;
  std::vector<double> sorted = samples_ms;
  std::sort(sorted.begin(), sorted.end());
  auto at = [&](double q) { return sorted[QuantileRank(q, s.count) - 1]; };
  s.mean_ms = std::accumulate(sorted.begin(), sorted.end(), 0.0) / static_cast<double>(s.count);
  s.min_ms = sorted.front();
  s.max_ms = sorted.back();
  s.p50_ms = at(0.5);
  s.p90_ms = at(0.9);
  s.p95_ms = at(0.95);
  s.p99_ms = at(0.99);
  s.p999_ms = at(0.999);
  return s;
}

LatencyStats Summarize(const HdrHistogram& h) {
  LatencyStats s;
  s.count = h.Count();
  if (s.count == 0) return s;
  s.mean_ms = h.Mean() / 1e3;
  s.min_ms = static_cast<double>(h.Min()) / 1e3;
  s.max_ms = static_cast<double>(h.Max()) / 1e3;
  s.p50_ms = h.Quantile(0.5) / 1e3;
  s.p90_ms = h.Quantile(0.9) / 1e3;
  s.p95_ms = h.Quantile(0.95) / 1e3;
  s.p99_ms = h.Quantile(0.99) / 1e3;
  s.p999_ms = h.Quantile(0.999) / 1e3;
  return s;
}

}  // namespace kamado::perf
