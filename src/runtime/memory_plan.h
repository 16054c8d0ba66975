// Activation memory planning: buffers whose lifetimes do not overlap share
// space in one arena ("greedy by size", as TFLite's arena planner does).
#pragma once

#include <cstddef>
#include <vector>

namespace kamado::runtime {

struct BufferUse {
  size_t bytes = 0;
  int first_step = 0;  // step that writes it first
  int last_step = 0;   // last step that reads or writes it
};

struct MemoryPlan {
  std::vector<size_t> offsets;  // one per buffer, aligned to kAlignment
  size_t arena_bytes = 0;
  size_t unshared_bytes = 0;  // what one buffer each would have cost (for logs)
};

inline constexpr size_t kArenaAlignment = 64;

// Places the largest buffers first, each at the lowest offset that does not
// collide with an already-placed buffer whose lifetime overlaps.
MemoryPlan PlanMemory(const std::vector<BufferUse>& buffers);

}  // namespace kamado::runtime
