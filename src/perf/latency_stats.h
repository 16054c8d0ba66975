// The one quantile rule of kamado, and the summary statistics every report,
// JSON line and table prints.
//
// Quantile q (0 ≤ q ≤ 1) of n samples is their **nearest rank**: the
// smallest sample value v such that at least ⌈q·n⌉ samples are ≤ v (rank
// r = ⌈q·n⌉, clamped to 1..n; so q = 0 gives the minimum and q = 1 the
// maximum). No interpolation: every quantile printed is a latency that was
// actually observed. For an HdrHistogram the value is the upper edge of the
// bucket that holds rank r (see HdrHistogram::Quantile): an upper bound on
// the sample, within the histogram's 1/128 relative precision.
//
// `kamado bench` summarises raw samples, `kamado load` its histogram; both go
// through Summarize, and the HTML/Markdown report prints the same
// LatencyStats the JSON line does, so no two figures for one p99 can differ.
#pragma once

#include <cstdint>
#include <vector>

namespace kamado::perf {

class HdrHistogram;

// r = ⌈q·n⌉ clamped to [1, n] (0 when n = 0). q·n within a few ulps of an
// integer counts as that integer, so 0.29·100 is rank 29, not 30.
uint64_t QuantileRank(double q, uint64_t n);

// The nearest-rank q-quantile of raw samples (any order); 0 when empty.
double Quantile(std::vector<double> samples, double q);

struct LatencyStats {
  uint64_t count = 0;
  double mean_ms = 0, min_ms = 0, max_ms = 0;
  double p50_ms = 0, p90_ms = 0, p95_ms = 0, p99_ms = 0, p999_ms = 0;
};

// Raw samples in ms. Mean, min and max are exact.
LatencyStats Summarize(const std::vector<double>& samples_ms);
// A histogram of µs: quantiles by HdrHistogram::Quantile; count, min, max
// and mean are the histogram's exact ones. In ms.
LatencyStats Summarize(const HdrHistogram& histogram_us);

}  // namespace kamado::perf
