// How much memory this process may use (its cgroup's limit), and whether
// the models it is asked to serve can fit in it.
//
// A container started with `--memory` (Kubernetes: resources.limits.memory)
// too small for its models is otherwise killed by the kernel's OOM killer
// while it loads, or later under load, with nothing in its log. `serve`
// checks before it loads anything and refuses with the numbers instead.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace kamado::serving {

struct MemoryLimit {
  int64_t bytes = 0;
  std::string source;  // "cgroup v2 memory.max", "cgroup v1 memory.limit_in_bytes"
};

// The limit of this process's memory cgroup under `cgroup_root`: v2
// memory.max, or v1 memory/memory.limit_in_bytes, each read first in the
// process's own cgroup (`self_cgroup`, the text of /proc/self/cgroup) and
// then at the root (a container sees its own cgroup there). nullopt when
// there is none, or it is no lower than the machine's memory (v1 writes
// "no limit" as a huge number).
std::optional<MemoryLimit> DetectMemoryLimit(const std::filesystem::path& cgroup_root = "/sys/fs/cgroup",
                                             const std::string& self_cgroup = {},
                                             int64_t machine_bytes = 0);

// A floor on what serving `model_dirs` takes: a process base, and each
// model's fp32 weights twice (the imported graph and the reordered copy
// exist together while it compiles). Activations come on top, so a limit
// at the floor is still too small; that is why it is a floor. Nothing is
// loaded (that may not fit): the sizes come from a TF.js weights manifest's
// shapes, or an ONNX file's size. Errors name the file.
struct MemoryEstimate {
  int64_t bytes = 0;
  std::vector<std::pair<std::string, int64_t>> weights;  // per model dir, fp32 bytes
};
inline constexpr int64_t kServeBaseBytes = int64_t{48} << 20;
Result<MemoryEstimate> EstimateServeMemory(const std::vector<std::filesystem::path>& model_dirs);

// InvalidArgument naming the limit, its source, the estimate and the ways
// out when `limit` is below `estimate`; OK otherwise.
Status CheckMemoryBudget(const MemoryEstimate& estimate, const MemoryLimit& limit);

}  // namespace kamado::serving
