#include "perf/latency_stats.h"

#include <gtest/gtest.h>

#include <random>

#include "perf/hdr_histogram.h"

namespace kamado::perf {
namespace {

TEST(QuantileTest, RankIsCeilQTimesNClampedToOneAndN) {
  EXPECT_EQ(QuantileRank(0.5, 0), 0u);
  EXPECT_EQ(QuantileRank(0, 5), 1u);
  EXPECT_EQ(QuantileRank(0.5, 5), 3u);    // ⌈2.5⌉
  EXPECT_EQ(QuantileRank(0.9, 5), 5u);    // ⌈4.5⌉
  EXPECT_EQ(QuantileRank(0.99, 100), 99u);
  EXPECT_EQ(QuantileRank(0.29, 100), 29u);  // 0.29·100 = 28.999999999999996 in floating point
  EXPECT_EQ(QuantileRank(0.7, 10), 7u);     // 7.000000000000001
  EXPECT_EQ(QuantileRank(0.999, 1000), 999u);
  EXPECT_EQ(QuantileRank(0.9991, 1000), 1000u);
  EXPECT_EQ(QuantileRank(1, 7), 7u);
  EXPECT_EQ(QuantileRank(2, 7), 7u);
  EXPECT_EQ(QuantileRank(-1, 7), 1u);
}

TEST(QuantileTest, HandComputedNearestRank) {
  // Sorted: 1 2 3 4 10. p50: rank ⌈2.5⌉ = 3 → 3; p90: ⌈4.5⌉ = 5 → 10;
  // p99: ⌈4.95⌉ = 5 → 10; p20: rank 1 → 1; p21: ⌈1.05⌉ = 2 → 2. No interpolation.
  const std::vector<double> v = {10, 2, 4, 1, 3};
  EXPECT_EQ(Quantile(v, 0.5), 3);
  EXPECT_EQ(Quantile(v, 0.9), 10);
  EXPECT_EQ(Quantile(v, 0.2), 1);
  EXPECT_EQ(Quantile(v, 0.21), 2);
  EXPECT_EQ(Quantile({4, 1, 3, 2}, 0.5), 2);  // rank 2 of 4, not 2.5
  EXPECT_EQ(Quantile({7}, 0.99), 7);
  EXPECT_EQ(Quantile({}, 0.5), 0);
}

TEST(QuantileTest, SummarizeUsesTheRule) {
  const LatencyStats s = Summarize({10, 2, 4, 1, 3});
  EXPECT_EQ(s.count, 5u);
  EXPECT_DOUBLE_EQ(s.mean_ms, 4.0);
  EXPECT_EQ(s.p50_ms, 3);
  EXPECT_EQ(s.p90_ms, 10);
  EXPECT_EQ(s.p95_ms, 10);
  EXPECT_EQ(s.p99_ms, 10);
  EXPECT_EQ(s.p999_ms, 10);
  EXPECT_EQ(s.min_ms, 1);
  EXPECT_EQ(s.max_ms, 10);
  const LatencyStats none = Summarize(std::vector<double>{});
  EXPECT_EQ(none.count, 0u);
  EXPECT_EQ(none.p99_ms, 0);
}

// Raw samples and a histogram of them give the same figures where the
// histogram is exact (below 256 µs every bucket holds one value).
TEST(QuantileTest, RawAndHistogramPathsAgreeWhereTheHistogramIsExact) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> us(0, 255);
  std::vector<double> ms;
  HdrHistogram h;
  for (int i = 0; i < 1001; ++i) {
    const int v = us(rng);
    ms.push_back(v / 1e3);
    h.Record(v);
  }
  const LatencyStats a = Summarize(ms), b = Summarize(h);
  EXPECT_EQ(a.count, b.count);
  EXPECT_DOUBLE_EQ(a.min_ms, b.min_ms);
  EXPECT_DOUBLE_EQ(a.max_ms, b.max_ms);
  EXPECT_NEAR(a.mean_ms, b.mean_ms, 1e-12);
  for (auto [x, y] : {std::pair{a.p50_ms, b.p50_ms}, {a.p90_ms, b.p90_ms}, {a.p95_ms, b.p95_ms},
                      {a.p99_ms, b.p99_ms}, {a.p999_ms, b.p999_ms}}) {
    EXPECT_DOUBLE_EQ(x, y);
  }
}

}  // namespace
}  // namespace kamado::perf
