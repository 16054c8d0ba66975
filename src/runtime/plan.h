// Plan: a graph lowered to oneDNN primitives for one batch size and one
// thread count. Immutable once built; shared by every Session that runs that
// batch size. Primitives are created with a user-managed scratchpad, so they
// are stateless and safe to execute from several threads at once.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/shape.h"
#include "runtime/memory_plan.h"

namespace kamado::runtime {

// Where a primitive argument lives.
struct MemRef {
  enum class Kind {
    kArena,     // activation buffer `index` of the plan (offset in the session's arena)
    kConstant,  // Plan::constants[index], created at compile time
    kInput,       // the caller's buffer for graph input `index`
    kScratchpad,  // the session's scratchpad (Plan::scratchpad_bytes)
  };
  Kind kind = Kind::kArena;
  int index = -1;
  dnnl::memory::desc desc;
  size_t offset = 0;  // bytes into the buffer (kArena only): a slice written in place
};

struct Step {
  std::string node;  // IR node name, or "<node>/reorder" for layout changes
  std::string op;    // "Conv", "reorder", ... (for profiles)
  std::string impl;  // oneDNN implementation name
  dnnl::primitive primitive;                   // set for oneDNN steps
  std::function<void(float* dst)> fill;        // set for fill steps (writes args[0])
  std::vector<std::pair<int, MemRef>> args;    // DNNL_ARG_* → memory
  double flops = 0.0;                          // multiply-adds × 2, for GFLOP/s reports
};

struct Plan {
  int64_t batch = 1;
  int threads = 1;
  std::vector<Step> steps;
  std::vector<BufferUse> buffers;  // arena buffers (bytes, lifetime in steps)
  MemoryPlan memory;
  std::vector<dnnl::memory> constants;
  size_t scratchpad_bytes = 0;
  std::vector<MemRef> inputs;        // the caller's layouts (kind kInput)
  std::vector<MemRef> outputs;       // arena buffers in the caller's layout
  std::vector<Shape> output_shapes;  // in the caller's layout
  double total_flops = 0.0;
};

}  // namespace kamado::runtime
