#include "perf/hdr_histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "perf/latency_stats.h"

namespace kamado::perf {
namespace {

TEST(HistogramTest, EmptyReportsZeros) {
  HdrHistogram h;
  EXPECT_TRUE(h.Empty());
  EXPECT_EQ(h.Count(), 0u);
  EXPECT_EQ(h.Mean(), 0);
  EXPECT_EQ(h.Min(), 0u);
  EXPECT_EQ(h.Max(), 0u);
  EXPECT_EQ(h.Quantile(0.5), 0);
  EXPECT_EQ(h.Quantile(0.999), 0);
  EXPECT_EQ(h.CountAtOrAbove(0), 0u);
  EXPECT_TRUE(h.Buckets().empty());
}

TEST(HistogramTest, LayoutIsContiguousAndWithinPrecision) {
  EXPECT_EQ(HdrHistogram::IndexOf(0), 0);
  EXPECT_EQ(HdrHistogram::IndexOf(255), 255);
  // [256, 512) is split into 128 buckets of width 2.
  EXPECT_EQ(HdrHistogram::IndexOf(256), 256);
  EXPECT_EQ(HdrHistogram::IndexOf(257), 256);
  EXPECT_EQ(HdrHistogram::LowestOf(256), 256u);
  EXPECT_EQ(HdrHistogram::HighestOf(256), 257u);
  EXPECT_EQ(HdrHistogram::IndexOf(511), 383);
  // [512, 1024): width 4.
  EXPECT_EQ(HdrHistogram::IndexOf(512), 384);
  EXPECT_EQ(HdrHistogram::HighestOf(384), 515u);
  // 1000 = 250·4: the bucket [1000, 1003].
  EXPECT_EQ(HdrHistogram::LowestOf(HdrHistogram::IndexOf(1000)), 1000u);
  EXPECT_EQ(HdrHistogram::HighestOf(HdrHistogram::IndexOf(1000)), 1003u);
  EXPECT_EQ(HdrHistogram::IndexOf(HdrHistogram::kMaxValueUs), HdrHistogram::NumCounters() - 1);
  EXPECT_EQ(HdrHistogram::HighestOf(HdrHistogram::NumCounters() - 1), HdrHistogram::kMaxValueUs);
  EXPECT_EQ(HdrHistogram::LowestOf(0), 0u);
  for (int i = 0; i + 1 < HdrHistogram::NumCounters(); ++i) {
    ASSERT_EQ(HdrHistogram::HighestOf(i) + 1, HdrHistogram::LowestOf(i + 1)) << "index " << i;
    const uint64_t lo = HdrHistogram::LowestOf(i), hi = HdrHistogram::HighestOf(i);
    ASSERT_EQ(HdrHistogram::IndexOf(lo), i);
    ASSERT_EQ(HdrHistogram::IndexOf(hi), i);
    // The midpoint is within 1/256 of every value of the bucket.
    if (lo > 0) {
      ASSERT_LE((hi - lo) / 2.0 / static_cast<double>(lo), 1.0 / 256) << "index " << i;
    }
  }
}

TEST(HistogramTest, ExactBelow256Microseconds) {
  HdrHistogram h;
  for (int v = 1; v <= 100; ++v) h.Record(v);
  EXPECT_EQ(h.Count(), 100u);
  EXPECT_DOUBLE_EQ(h.Mean(), 50.5);
  EXPECT_EQ(h.Min(), 1u);
  EXPECT_EQ(h.Max(), 100u);
  // Nearest rank ⌈q·100⌉; below 256 µs every bucket is one value wide.
  EXPECT_EQ(h.Quantile(0), 1);
  EXPECT_EQ(h.Quantile(0.01), 1);
  EXPECT_EQ(h.Quantile(0.015), 2);
  EXPECT_EQ(h.Quantile(0.5), 50);
  EXPECT_EQ(h.Quantile(0.9), 90);
  EXPECT_EQ(h.Quantile(0.99), 99);
  EXPECT_EQ(h.Quantile(0.999), 100);
  EXPECT_EQ(h.Quantile(1), 100);
}

TEST(HistogramTest, TenValuesNearestRank) {
  HdrHistogram h;
  for (int v : {7, 3, 10, 1, 5, 9, 2, 8, 6, 4}) h.Record(v);
  EXPECT_EQ(h.Quantile(0.1), 1);   // rank 1
  EXPECT_EQ(h.Quantile(0.11), 2);  // rank ⌈1.1⌉ = 2
  EXPECT_EQ(h.Quantile(0.25), 3);  // rank ⌈2.5⌉ = 3
  EXPECT_EQ(h.Quantile(0.3), 3);   // 0.3·10 is 3.0000000000000004: still rank 3
  EXPECT_EQ(h.Quantile(0.7), 7);   // 0.7·10 is 7.000000000000001: still rank 7
  EXPECT_EQ(h.Quantile(0.95), 10);
}

// Above 256 µs a quantile is the upper edge of its sample's bucket (never
// below the sample, at most 1/128 above it), and never above the exact max.
TEST(HistogramTest, LargeValuesReportTheBucketsUpperEdge) {
  HdrHistogram h;
  h.Record(1000);
  EXPECT_EQ(h.Quantile(0.5), 1000);  // bucket [1000, 1003], but the max is 1000
  h.Record(900);
  h.Record(5000);
  // {900, 1000, 5000}: 900 is in [900, 903], 1000 in [1000, 1003], 5000 in [4992, 5023].
  EXPECT_EQ(h.Quantile(0), 903);
  EXPECT_EQ(h.Quantile(0.5), 1003);
  EXPECT_EQ(h.Quantile(1), 5000);
  EXPECT_DOUBLE_EQ(h.Mean(), 2300);
}

TEST(HistogramTest, QuantilesOfMillisecondsWithinStatedPrecision) {
  // 1 ms .. 100 ms in 1 ms steps: p50 = 50 ms, p90 = 90 ms, p99 = 99 ms.
  HdrHistogram h;
  for (int ms = 1; ms <= 100; ++ms) h.Record(ms * 1000.0);
  for (auto [q, want] : std::vector<std::pair<double, double>>{
           {0.5, 50000}, {0.9, 90000}, {0.95, 95000}, {0.99, 99000}, {1, 100000}}) {
    EXPECT_GE(h.Quantile(q), want) << "q=" << q;
    EXPECT_LE(h.Quantile(q), want * (1 + 1.0 / 128)) << "q=" << q;
  }
  EXPECT_DOUBLE_EQ(h.Mean(), 50500);
}

TEST(HistogramTest, RandomSamplesAgreeWithSortedNearestRank) {
  std::mt19937 rng(7);
  std::lognormal_distribution<double> dist(std::log(5000.0), 1.0);
  std::vector<double> values;
  HdrHistogram h;
  for (int i = 0; i < 20000; ++i) {
    const double v = std::round(dist(rng));
    values.push_back(v);
    h.Record(v);
  }
  for (double q : {0.01, 0.1, 0.5, 0.9, 0.99, 0.999}) {
    const double want = Quantile(values, q);  // the raw samples' nearest rank
    EXPECT_GE(h.Quantile(q), want) << "q=" << q;
    EXPECT_LE(h.Quantile(q), want * (1 + 1.0 / 128)) << "q=" << q;
  }
}

TEST(HistogramTest, BoundsAndRounding) {
  HdrHistogram h;
  h.Record(-5);
  EXPECT_EQ(h.Min(), 0u);
  h.Record(1.4);
  h.Record(1.6);
  h.Record(1e15);  // about 32 years: clamped
  EXPECT_EQ(h.Max(), HdrHistogram::kMaxValueUs);
  EXPECT_EQ(h.Count(), 4u);
  EXPECT_EQ(h.Quantile(0.5), 1);  // {0, 1, 2, max}: rank 2
  EXPECT_EQ(h.Quantile(0.75), 2);
  EXPECT_EQ(h.Quantile(1), static_cast<double>(HdrHistogram::kMaxValueUs));
}

TEST(HistogramTest, WeightedRecordAndCountAtOrAbove) {
  HdrHistogram h;
  h.Record(2000, 98);
  h.Record(1000000, 2);  // two 1 s stalls among 100
  EXPECT_EQ(h.Count(), 100u);
  EXPECT_EQ(h.CountAtOrAbove(500000), 2u);
  EXPECT_EQ(h.CountAtOrAbove(2000), 100u);
  EXPECT_EQ(h.Quantile(0.98), 2007);     // 2000's bucket is [2000, 2007]
  EXPECT_EQ(h.Quantile(0.99), 1000000);  // rank 99: a stall, at the exact max
  h.Record(3, 0);  // count 0 records nothing
  EXPECT_EQ(h.Count(), 100u);
}

TEST(HistogramTest, MergeEqualsRecordingEverything) {
  HdrHistogram a, b, all;
  for (int i = 0; i < 500; ++i) {
    const double v = 37.0 * i + 1;
    (i % 3 ? a : b).Record(v);
    all.Record(v);
  }
  HdrHistogram merged = a;
  merged.Merge(b);
  EXPECT_EQ(merged.Count(), all.Count());
  EXPECT_EQ(merged.Min(), all.Min());
  EXPECT_EQ(merged.Max(), all.Max());
  EXPECT_DOUBLE_EQ(merged.Mean(), all.Mean());
  for (double q : {0.0, 0.25, 0.5, 0.99, 1.0}) EXPECT_EQ(merged.Quantile(q), all.Quantile(q));
  const auto mb = merged.Buckets(), ab = all.Buckets();
  ASSERT_EQ(mb.size(), ab.size());
  for (size_t i = 0; i < mb.size(); ++i) {
    EXPECT_EQ(mb[i].lo_us, ab[i].lo_us);
    EXPECT_EQ(mb[i].count, ab[i].count);
  }

  HdrHistogram empty;
  merged.Merge(empty);
  EXPECT_EQ(merged.Count(), all.Count());
  empty.Merge(b);
  EXPECT_EQ(empty.Min(), b.Min());
  EXPECT_EQ(empty.Max(), b.Max());
  empty.Reset();
  EXPECT_TRUE(empty.Empty());
}

TEST(HistogramTest, BucketsAreOrderedNonEmptyAndSumToCount) {
  HdrHistogram h;
  h.Record(5, 3);
  h.Record(300);
  h.Record(301);  // same bucket as 300: [300, 301]
  h.Record(70000);
  const auto buckets = h.Buckets();
  ASSERT_EQ(buckets.size(), 3u);
  EXPECT_EQ(buckets[0].lo_us, 5u);
  EXPECT_EQ(buckets[0].count, 3u);
  EXPECT_EQ(buckets[1].lo_us, 300u);
  EXPECT_EQ(buckets[1].hi_us, 301u);
  EXPECT_EQ(buckets[1].count, 2u);
  EXPECT_LE(buckets[2].lo_us, 70000u);
  EXPECT_GE(buckets[2].hi_us, 70000u);
  uint64_t sum = 0;
  for (const auto& b : buckets) sum += b.count;
  EXPECT_EQ(sum, h.Count());
}

}  // namespace
}  // namespace kamado::perf
