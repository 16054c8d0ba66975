#include "runtime/constant_arena.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

namespace kamado::runtime {
namespace {

uintptr_t Address(const void* p) { return reinterpret_cast<uintptr_t>(p); }

TEST(HugePagesTest, SmallBuffersArePageAlignedLargeOnesHugePageAligned) {
  AlignedBuffer zero = AllocateAligned(0);
  ASSERT_NE(zero, nullptr);
  AlignedBuffer small = AllocateAligned(100);
  ASSERT_NE(small, nullptr);
  EXPECT_EQ(Address(small.get()) % 4096, 0u);
  const size_t big = (size_t{5} << 20) + 3;  // rounded up to 6 MiB
  AlignedBuffer large = AllocateAligned(big);
  ASSERT_NE(large, nullptr);
  EXPECT_EQ(Address(large.get()) % (size_t{2} << 20), 0u);
  std::memset(large.get(), 0x5a, big);  // the whole request is writable
  EXPECT_EQ(large.get()[big - 1], 0x5a);
}

TEST(HugePagesTest, ConstantArenaHandsOutAlignedDisjointPieces) {
  ConstantArena arena;
  // Small pieces share chunks; a piece over a quarter chunk gets its own
  // block, and the chunk in use keeps filling after it.
  const std::vector<size_t> sizes = {1,   64,  100, 4096, ConstantArena::kChunkBytes / 2, 7,
                                     200, ConstantArena::kChunkBytes / 4, 3 * 1024 * 1024,
                                     ConstantArena::kChunkBytes + 1, 5};
  std::vector<std::pair<uintptr_t, size_t>> pieces;
  for (size_t n : sizes) {
    void* p = arena.Allocate(n);
    ASSERT_NE(p, nullptr) << n;
    EXPECT_EQ(Address(p) % 64, 0u) << n;
    std::memset(p, 0xab, n);
    pieces.emplace_back(Address(p), n);
  }
  std::sort(pieces.begin(), pieces.end());
  for (size_t i = 1; i < pieces.size(); ++i) {
    EXPECT_LE(pieces[i - 1].first + pieces[i - 1].second, pieces[i].first);
  }
  // Two chunks at most for the small pieces (the 4 MiB and 3 MiB ones fill
  // the first), plus the two blocks of their own.
  EXPECT_LE(arena.reserved_bytes(), 2 * ConstantArena::kChunkBytes +
                                        ConstantArena::kChunkBytes / 2 +
                                        ConstantArena::kChunkBytes + (size_t{2} << 20));
}

}  // namespace
}  // namespace kamado::runtime
