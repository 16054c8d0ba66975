#include "perf/latency_stats.h"

#include <gtest/gtest.h>

namespace kamado::perf {
namespace {

TEST(LatencyStatsTest, HandComputed) {
  // Sorted: 1 2 3 4 10. p50 = 3; p90 at position 3.6 → 4 + 0.6·6 = 7.6;
  // p99 at 3.96 → 4 + 0.96·6 = 9.76; mean = 20/5 = 4.
  const LatencyStats s = Summarize({10, 2, 4, 1, 3});
  EXPECT_EQ(s.count, 5);
  EXPECT_DOUBLE_EQ(s.mean_ms, 4.0);
  EXPECT_DOUBLE_EQ(s.p50_ms, 3.0);
  EXPECT_DOUBLE_EQ(s.p90_ms, 7.6);
  EXPECT_DOUBLE_EQ(s.p99_ms, 9.76);
  EXPECT_DOUBLE_EQ(s.min_ms, 1.0);
  EXPECT_DOUBLE_EQ(s.max_ms, 10.0);
}

TEST(LatencyStatsTest, EvenCountMedianInterpolates) {
  EXPECT_DOUBLE_EQ(Percentile({4, 1, 3, 2}, 50), 2.5);
  EXPECT_DOUBLE_EQ(Percentile({7}, 99), 7.0);
  EXPECT_DOUBLE_EQ(Percentile({}, 50), 0.0);
}

}  // namespace
}  // namespace kamado::perf
