// Memory for weights and activations, on transparent huge pages where the
// kernel allows it. Debian's default THP mode is "madvise": only ranges
// marked MADV_HUGEPAGE get 2 MiB pages. InceptionV3 streams ~95 MB of
// weights per image, and under a hypervisor every 4 KiB TLB miss is a
// two-level page walk; 2 MiB pages took 1-4% off its latency here (see
// docs/PERFORMANCE.md). Where THP is "never" this is plain aligned memory.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <vector>

namespace kamado::runtime {

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};
using AlignedBuffer = std::unique_ptr<char, FreeDeleter>;

// At least `bytes` (and at least 1) bytes, 4 KiB-aligned; a request of
// 1 MiB or more is rounded up to whole 2 MiB pages, 2 MiB-aligned and
// advised as huge. Null when the allocation fails.
AlignedBuffer AllocateAligned(size_t bytes);

// A bump allocator for constants that live as long as the arena: chunks of
// kChunkBytes from AllocateAligned, handed out in 64-byte-aligned pieces
// (oneDNN's alignment for memory objects); a request over a quarter of a
// chunk gets a block of its own. Nothing is freed before the arena is. Not
// thread-safe: the owner serialises calls.
class ConstantArena {
 public:
  static constexpr size_t kChunkBytes = size_t{16} << 20;

  // Null when the allocation fails.
  void* Allocate(size_t bytes);
  size_t reserved_bytes() const { return reserved_; }

 private:
  std::vector<AlignedBuffer> blocks_;
  char* current_ = nullptr;  // the chunk small requests come from
  size_t used_ = 0;          // bytes of *current_ handed out
  size_t reserved_ = 0;      // bytes of all blocks
};

}  // namespace kamado::runtime
