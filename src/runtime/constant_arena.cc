#include "runtime/constant_arena.h"

#include <sys/mman.h>

#include <algorithm>

namespace kamado::runtime {
namespace {

constexpr size_t kSmallPage = 4096;
constexpr size_t kHugePage = size_t{2} << 20;

size_t RoundUp(size_t n, size_t to) { return (n + to - 1) / to * to; }

}  // namespace

AlignedBuffer AllocateAligned(size_t bytes) {
  bytes = std::max<size_t>(bytes, 1);
  const bool huge = bytes >= kHugePage / 2;
  const size_t align = huge ? kHugePage : kSmallPage;
  const size_t rounded = RoundUp(bytes, align);
  AlignedBuffer buffer(static_cast<char*>(std::aligned_alloc(align, rounded)));
  // Advice only: where THP is off this fails or does nothing, and the
  // memory is still valid on 4 KiB pages.
  if (buffer && huge) madvise(buffer.get(), rounded, MADV_HUGEPAGE);
  return buffer;
}

void* ConstantArena::Allocate(size_t bytes) {
  bytes = RoundUp(std::max<size_t>(bytes, 1), 64);
  if (bytes > kChunkBytes / 4) {
    // A large constant gets a block of its own, so the current chunk's
    // free tail is not thrown away for it.
    AlignedBuffer own = AllocateAligned(bytes);
    if (!own) return nullptr;
    reserved_ += RoundUp(bytes, kHugePage);
    return blocks_.emplace_back(std::move(own)).get();
  }
  if (current_ == nullptr || kChunkBytes - used_ < bytes) {
    AlignedBuffer chunk = AllocateAligned(kChunkBytes);
    if (!chunk) return nullptr;
    current_ = blocks_.emplace_back(std::move(chunk)).get();
    used_ = 0;
    reserved_ += kChunkBytes;
  }
  void* p = current_ + used_;
  used_ += bytes;
  return p;
}

}  // namespace kamado::runtime
