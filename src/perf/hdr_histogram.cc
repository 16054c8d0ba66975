#include "perf/hdr_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "perf/latency_stats.h"

namespace kamado::perf {
namespace {

constexpr int kSub = 1 << HdrHistogram::kSubBucketBits;  // 256
constexpr int kHalf = kSub / 2;                       // 128

}  // namespace

// v < 256: index v. Otherwise with k = msb(v) − 7 (so v >> k ∈ [128, 256)):
// index = 256 + (k − 1)·128 + (v >> k) − 128.
int HdrHistogram::IndexOf(uint64_t value_us) {
  const uint64_t v = std::min(value_us, kMaxValueUs);
  if (v < static_cast<uint64_t>(kSub)) return static_cast<int>(v);
  const int msb = 63 - std::countl_zero(v);
  const int k = msb - (kSubBucketBits - 1);
  return kSub + (k - 1) * kHalf + static_cast<int>((v >> k) - kHalf);
}

uint64_t HdrHistogram::LowestOf(int index) {
  if (index < kSub) return static_cast<uint64_t>(index);
  const int j = index - kSub;
  const int k = j / kHalf + 1;
  return static_cast<uint64_t>(j % kHalf + kHalf) << k;
}

uint64_t HdrHistogram::HighestOf(int index) {
  if (index < kSub) return static_cast<uint64_t>(index);
  const int k = (index - kSub) / kHalf + 1;
  return LowestOf(index) + (uint64_t{1} << k) - 1;
}

int HdrHistogram::NumCounters() { return IndexOf(kMaxValueUs) + 1; }

HdrHistogram::HdrHistogram() : counts_(static_cast<size_t>(NumCounters()), 0) {}

void HdrHistogram::Record(double value_us, uint64_t count) {
  if (count == 0) return;
  uint64_t v = 0;
  if (value_us >= static_cast<double>(kMaxValueUs)) {
    v = kMaxValueUs;
  } else if (value_us > 0) {
    v = static_cast<uint64_t>(std::llround(value_us));
  }
  counts_[static_cast<size_t>(IndexOf(v))] += count;
  if (count_ == 0) {
    min_ = max_ = v;
  } else {
    min_ = std::min(min_, v);
    max_ = std::max(max_, v);
  }
  count_ += count;
  sum_ += static_cast<double>(v) * static_cast<double>(count);
}

void HdrHistogram::Merge(const HdrHistogram& other) {
  if (other.count_ == 0) return;
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  if (count_ == 0) {
    min_ = other.min_;
    max_ = other.max_;
  } else {
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }
  count_ += other.count_;
  sum_ += other.sum_;
}

void HdrHistogram::Reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = 0;
  sum_ = 0;
  min_ = max_ = 0;
}

double HdrHistogram::Mean() const { return count_ ? sum_ / static_cast<double>(count_) : 0.0; }

double HdrHistogram::Quantile(double q) const {
  if (count_ == 0) return 0;
  const uint64_t rank = QuantileRank(q, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return static_cast<double>(std::min(HighestOf(static_cast<int>(i)), max_));
  }
  return static_cast<double>(max_);
}

uint64_t HdrHistogram::CountAtOrAbove(double value_us) const {
  const uint64_t v = value_us <= 0 ? 0
                     : value_us >= static_cast<double>(kMaxValueUs)
                         ? kMaxValueUs
                         : static_cast<uint64_t>(std::llround(value_us));
  uint64_t n = 0;
  for (size_t i = static_cast<size_t>(IndexOf(v)); i < counts_.size(); ++i) n += counts_[i];
  return n;
}

std::vector<HdrHistogram::Bucket> HdrHistogram::Buckets() const {
  std::vector<Bucket> out;
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] == 0) continue;
    const int idx = static_cast<int>(i);
    Bucket b;
    b.lo_us = LowestOf(idx);
    b.hi_us = HighestOf(idx);
    b.count = counts_[i];
    out.push_back(b);
  }
  return out;
}

}  // namespace kamado::perf
