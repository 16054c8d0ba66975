#include "perf/latency_distribution.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kamado::perf {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kHdrMaxPercentile = 99.99;

}  // namespace

LatencyDistribution::LatencyDistribution(const LatencySeries& series) {
  for (const auto& [v, n] : series.values) {
    if (std::isfinite(v) && n > 0) sorted_.push_back({v, n});
  }
  std::sort(sorted_.begin(), sorted_.end());
  cumulative_.reserve(sorted_.size());
  for (const auto& entry : sorted_) {
    total_ += entry.second;
    cumulative_.push_back(total_);
  }
}

double LatencyDistribution::min() const { return sorted_.empty() ? kNaN : sorted_.front().first; }
double LatencyDistribution::max() const { return sorted_.empty() ? kNaN : sorted_.back().first; }

double LatencyDistribution::mean() const {
  if (total_ == 0) return kNaN;
  double sum = 0;
  for (const auto& [v, n] : sorted_) sum += v * static_cast<double>(n);
  return sum / static_cast<double>(total_);
}

double LatencyDistribution::Quantile(double q) const {
  if (total_ == 0) return kNaN;
  const auto it = std::lower_bound(cumulative_.begin(), cumulative_.end(), QuantileRank(q, total_));
  if (it == cumulative_.end()) return sorted_.back().first;
  return sorted_[static_cast<size_t>(it - cumulative_.begin())].first;
}

std::vector<CdfPoint> LatencyDistribution::Cdf(int grid) const {
  std::vector<CdfPoint> out;
  if (total_ == 0) return out;
  grid = std::max(grid, 1);
  // x = −log10(1 − p/100) evenly in [0, 4]  ⇒  p = 100·(1 − 10^−x).
  std::vector<double> percentiles = {50, 90, 99, 99.9, kHdrMaxPercentile, 100};
  for (int i = 0; i <= grid; ++i) {
    const double x = 4.0 * i / grid;
    percentiles.push_back(100.0 * (1.0 - std::pow(10.0, -x)));
  }
  std::sort(percentiles.begin(), percentiles.end());
  double last = -1;
  for (double p : percentiles) {
    p = std::clamp(p, 0.0, 100.0);
    if (p - last < 1e-9) continue;
    last = p;
    out.push_back({p, p >= 100 ? max() : Quantile(p / 100)});
  }
  return out;
}

double HdrPercentileX(double percentile) {
  const double p = std::clamp(std::isfinite(percentile) ? percentile : 0.0, 0.0, kHdrMaxPercentile);
  return -std::log10(1.0 - p / 100.0);
}

LatencyBins BinLatencies(const std::vector<LatencySeries>& series, int max_bins) {
  LatencyBins h;
  h.counts.resize(series.size());
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  uint64_t total = 0;
  for (const LatencySeries& s : series) {
    for (const auto& [v, n] : s.values) {
      if (!std::isfinite(v) || n == 0) continue;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      total += n;
    }
  }
  if (total == 0) return h;

  int bins = 1;
  if (hi > lo) {
    bins = static_cast<int>(std::ceil(2.0 * std::cbrt(static_cast<double>(total))));
    bins = std::clamp(bins, 5, std::max(5, max_bins));
    h.log_x = lo > 0 && hi / lo > 10;
    for (int i = 0; i <= bins; ++i) {
      const double t = static_cast<double>(i) / bins;
      h.edges.push_back(h.log_x ? lo * std::pow(hi / lo, t) : lo + (hi - lo) * t);
    }
    h.edges.front() = lo;
    h.edges.back() = hi;
  } else {
    // All equal: one bin centred on the value.
    const double pad = lo != 0 ? std::abs(lo) * 0.05 : 0.5;
    h.edges = {lo - pad, lo + pad};
  }

  for (size_t si = 0; si < series.size(); ++si) {
    std::vector<uint64_t>& row = h.counts[si];
    row.assign(static_cast<size_t>(bins), 0);
    for (const auto& [v, n] : series[si].values) {
      if (!std::isfinite(v) || n == 0) continue;
      int i = 0;
      if (bins > 1) {
        const double t = h.log_x ? std::log(v / lo) / std::log(hi / lo) : (v - lo) / (hi - lo);
        i = std::clamp(static_cast<int>(std::floor(t * bins)), 0, bins - 1);
        // Rounding in the formula can land one bin off the edge test; fix it up.
        while (i > 0 && v < h.edges[static_cast<size_t>(i)]) --i;
        while (i < bins - 1 && v >= h.edges[static_cast<size_t>(i) + 1]) ++i;
      }
      row[static_cast<size_t>(i)] += n;
    }
  }
  return h;
}

}  // namespace kamado::perf
