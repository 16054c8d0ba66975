#include "runtime/memory_plan.h"

#include <gtest/gtest.h>

namespace kamado::runtime {
namespace {

bool Disjoint(const MemoryPlan& p, const std::vector<BufferUse>& b, size_t i, size_t j) {
  return p.offsets[i] + b[i].bytes <= p.offsets[j] || p.offsets[j] + b[j].bytes <= p.offsets[i];
}

TEST(MemoryPlanTest, ReusesSpaceOfDeadBuffers) {
  // A chain a → b → c: a and c never live together, so c reuses a's space.
  const std::vector<BufferUse> b = {{1000, 0, 1}, {1000, 1, 2}, {1000, 2, 3}};
  const MemoryPlan p = PlanMemory(b);
  EXPECT_EQ(p.offsets[0], p.offsets[2]);
  EXPECT_TRUE(Disjoint(p, b, 0, 1));
  EXPECT_TRUE(Disjoint(p, b, 1, 2));
  EXPECT_LT(p.arena_bytes, p.unshared_bytes);
  EXPECT_EQ(p.arena_bytes, 2 * 1024u);  // 1000 rounded up to the 64-byte alignment
}

TEST(MemoryPlanTest, OverlappingLifetimesNeverShare) {
  std::vector<BufferUse> b;
  for (int i = 0; i < 20; ++i) b.push_back({static_cast<size_t>(100 + 37 * i), i % 5, i % 5 + 3});
  const MemoryPlan p = PlanMemory(b);
  for (size_t i = 0; i < b.size(); ++i) {
    EXPECT_EQ(p.offsets[i] % kArenaAlignment, 0u);
    for (size_t j = i + 1; j < b.size(); ++j) {
      const bool overlap = b[i].first_step <= b[j].last_step && b[j].first_step <= b[i].last_step;
      if (overlap) {
        EXPECT_TRUE(Disjoint(p, b, i, j)) << i << " and " << j;
      }
    }
  }
}

}  // namespace
}  // namespace kamado::runtime
