#include "runtime/memory_plan.h"

#include <algorithm>
#include <numeric>

namespace kamado::runtime {
namespace {

size_t AlignUp(size_t n) { return (n + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment; }

bool Overlap(const BufferUse& a, const BufferUse& b) {
  return a.first_step <= b.last_step && b.first_step <= a.last_step;
}

}  // namespace

MemoryPlan PlanMemory(const std::vector<BufferUse>& buffers) {
  MemoryPlan plan;
  plan.offsets.assign(buffers.size(), 0);
  std::vector<size_t> order(buffers.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return buffers[a].bytes > buffers[b].bytes; });
  std::vector<size_t> placed;
  for (size_t i : order) {
    const size_t size = AlignUp(buffers[i].bytes);
    plan.unshared_bytes += size;
    // Collect the intervals of live-overlapping placed buffers, sorted by
    // offset, and take the first gap that fits.
    std::vector<std::pair<size_t, size_t>> busy;
    for (size_t j : placed) {
      if (Overlap(buffers[i], buffers[j])) {
        busy.emplace_back(plan.offsets[j], plan.offsets[j] + AlignUp(buffers[j].bytes));
      }
    }
    std::sort(busy.begin(), busy.end());
    size_t offset = 0;
    for (const auto& [begin, end] : busy) {
      if (begin >= offset + size) break;
      offset = std::max(offset, end);
    }
    plan.offsets[i] = offset;
    plan.arena_bytes = std::max(plan.arena_bytes, offset + size);
    placed.push_back(i);
  }
  return plan;
}

}  // namespace kamado::runtime
