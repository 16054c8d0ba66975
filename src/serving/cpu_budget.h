// How many CPUs this process may use, and the default sessions × threads
// split derived from it.
//
// Inside a container the host's core count is the wrong number: a pod limited
// to 2 CPUs on a 64-core node that starts 64 OpenMP threads is throttled by
// the CFS quota into long stalls. The quota is read from cgroup v2
// (/sys/fs/cgroup/cpu.max) or v1 (cpu.cfs_quota_us / cpu.cfs_period_us),
// and the CPU affinity mask caps it.
#pragma once

#include <filesystem>
#include <string>

namespace kamado::serving {

struct CpuBudget {
  double cpus = 1.0;       // usable CPUs (may be fractional under a quota)
  std::string source;      // "cgroup v2 cpu.max", "cgroup v1 cfs quota", "affinity"
};

// Reads the quota under `cgroup_root` (normally /sys/fs/cgroup). Never fails:
// falls back to the affinity mask / hardware concurrency.
CpuBudget DetectCpuBudget(const std::filesystem::path& cgroup_root = "/sys/fs/cgroup");

struct Parallelism {
  int sessions = 1;  // worker threads, one runtime::Session each
  int threads = 1;   // intra-op threads per session
};

// The default split of `cpus` (rounded down, at least 1): up to 4 CPUs one
// session with all of them (latency); above that, sessions of 4 threads
// (throughput). Explicit `sessions`/`threads` (> 0) override either half.
Parallelism DefaultParallelism(double cpus, int sessions = 0, int threads = 0);

}  // namespace kamado::serving
