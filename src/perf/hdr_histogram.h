// HdrHistogram: an HDR-style log-linear latency histogram in whole microseconds.
//
// Layout (sub-bucket bits B = 8, so 256 sub-buckets, 128 per half):
//   * values 0 .. 255 µs have one counter each (exact);
//   * above that, every power-of-two range [128·2^k, 256·2^k) µs, k ≥ 1, is split
//     into 128 equal buckets of width 2^k.
// A bucket's width is at most 1/128 of its lower bound, so its upper edge —
// the value a quantile reports (see perf/latency_stats.h for the rule) — is at
// most 1/128 (0.8%) above every value that fell into it, never below. Values are
// tracked from 0 to kMaxValueUs (2^32 − 1 µs, about 71.6 minutes); larger
// values are clamped to it. Min, max, mean and count are exact (mean is over
// the rounded microsecond values).
//
// Memory is fixed (a few thousand counters), so histograms are cheap to keep
// per worker and per window and to Merge. Not thread-safe: one writer, or
// external locking; Merge copies are the way to combine threads.
#pragma once

#include <cstdint>
#include <vector>

namespace kamado::perf {

class HdrHistogram {
 public:
  static constexpr int kSubBucketBits = 8;
  static constexpr uint64_t kMaxValueUs = (uint64_t{1} << 32) - 1;

  // One non-empty bucket: every recorded value v with lo_us ≤ v ≤ hi_us.
  struct Bucket {
    uint64_t lo_us = 0;
    uint64_t hi_us = 0;  // inclusive
    uint64_t count = 0;
  };

  HdrHistogram();

  // Records `count` occurrences of `value_us`, rounded to the nearest whole
  // microsecond; negative values record as 0, values above kMaxValueUs as it.
  void Record(double value_us, uint64_t count = 1);
  // Adds every count of `other` (same layout by construction).
  void Merge(const HdrHistogram& other);
  void Reset();

  uint64_t Count() const { return count_; }
  bool Empty() const { return count_ == 0; }
  // 0 when empty.
  double Mean() const;
  uint64_t Min() const { return count_ ? min_ : 0; }
  uint64_t Max() const { return count_ ? max_ : 0; }

  // The nearest-rank quantile, q in [0, 1] (perf/latency_stats.h): the upper
  // edge of the bucket holding the sample of rank QuantileRank(q, Count()),
  // but never above Max() (which is exact). 0 when empty.
  double Quantile(double q) const;

  // How many recorded values are ≥ value_us (bucket resolution: counts the
  // whole bucket holding value_us).
  uint64_t CountAtOrAbove(double value_us) const;

  // Non-empty buckets in increasing order of value.
  std::vector<Bucket> Buckets() const;

  // Layout helpers, exposed for tests: the counter index of a value and the
  // inclusive value range of a counter.
  static int IndexOf(uint64_t value_us);
  static uint64_t LowestOf(int index);
  static uint64_t HighestOf(int index);
  static int NumCounters();

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  double sum_ = 0;
  uint64_t min_ = 0;
  uint64_t max_ = 0;
};

}  // namespace kamado::perf
