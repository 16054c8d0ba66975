#include "serving/allocator.h"

#include <malloc.h>

namespace kamado::serving {

void ConfigureAllocator() { mallopt(M_MMAP_THRESHOLD, static_cast<int>(kMmapThreshold)); }

bool TrimAllocator() { return malloc_trim(0) != 0; }

AllocatorTrimmer::AllocatorTrimmer(std::chrono::milliseconds interval,
                                   std::function<uint64_t()> activity, std::function<bool()> idle)
    : interval_(interval), activity_(std::move(activity)), idle_(std::move(idle)),
      thread_([this] { Loop(); }) {}

AllocatorTrimmer::~AllocatorTrimmer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

uint64_t AllocatorTrimmer::trims() const {
  std::lock_guard<std::mutex> lock(mu_);
  return trims_;
}

void AllocatorTrimmer::Loop() {
  uint64_t trimmed_at = 0;  // trims after the first work
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, interval_, [this] { return stop_; })) {
    const uint64_t now = activity_();
    if (now == trimmed_at || !idle_()) continue;
    lock.unlock();
    TrimAllocator();
    lock.lock();
    trimmed_at = now;
    ++trims_;
  }
}

}  // namespace kamado::serving
