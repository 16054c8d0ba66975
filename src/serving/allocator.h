// Giving memory back after a burst (glibc malloc).
//
// Two things keep a server's RSS high after a burst of large requests:
// glibc's dynamic mmap threshold (after the first large block is freed, blocks
// up to 32 MiB come from the heap instead of mmap, and stay there when freed)
// and free memory at the top of each arena that is only returned by trimming.
// kamado does both remedies: ConfigureAllocator fixes the threshold, so every
// request body, tensor and decode buffer over it is mmapped and unmapped when
// freed, and AllocatorTrimmer calls malloc_trim(0) (which also returns free
// pages inside the arenas, madvise) once the server has been idle for a tick
// after doing some work. Arenas are not capped: their count does not change
// what is returned, only contention.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>

namespace kamado::serving {

// The mmap threshold kamado sets (glibc's default starting value, made fixed).
inline constexpr size_t kMmapThreshold = size_t{128} << 10;

// mallopt(M_MMAP_THRESHOLD, kMmapThreshold). Call once, early.
void ConfigureAllocator();

// malloc_trim(0). Returns whether memory was given back.
bool TrimAllocator();

// A thread that every `interval` asks `activity()` for a counter of work done
// (requests answered); when it moved since the last tick and `idle()` says
// nothing is in flight, it trims once.
class AllocatorTrimmer {
 public:
  AllocatorTrimmer(std::chrono::milliseconds interval, std::function<uint64_t()> activity,
                   std::function<bool()> idle);
  ~AllocatorTrimmer();
  AllocatorTrimmer(const AllocatorTrimmer&) = delete;
  AllocatorTrimmer& operator=(const AllocatorTrimmer&) = delete;

  uint64_t trims() const;

 private:
  void Loop();
  const std::chrono::milliseconds interval_;
  const std::function<uint64_t()> activity_;
  const std::function<bool()> idle_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;     // guarded by mu_
  uint64_t trims_ = 0;    // guarded by mu_
  std::thread thread_;
};

}  // namespace kamado::serving
