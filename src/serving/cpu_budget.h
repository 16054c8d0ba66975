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
#include <vector>

#include "core/status.h"

namespace kamado::serving {

struct CpuBudget {
  double cpus = 1.0;       // usable CPUs (may be fractional under a quota)
  std::string source;      // "cgroup v2 cpu.max", "cgroup v1 cfs quota", "affinity"
};

// Reads the quota under `cgroup_root` (normally /sys/fs/cgroup), in the
// process's own cgroup first (`self_cgroup`: /proc/self/cgroup's text, read
// when empty) and then at the root, where a container sees its own. Never
// fails: falls back to the affinity mask / hardware concurrency.
CpuBudget DetectCpuBudget(const std::filesystem::path& cgroup_root = "/sys/fs/cgroup",
                          const std::string& self_cgroup = {});

struct Parallelism {
  int sessions = 1;  // worker threads, one runtime::Session each
  int threads = 1;   // intra-op threads per session
};

// The default split of `cpus` (rounded down, at least 1): up to 4 CPUs one
// session with all of them (latency); above that, sessions of 4 threads
// (throughput). Explicit `sessions`/`threads` (> 0) override either half.
Parallelism DefaultParallelism(double cpus, int sessions = 0, int threads = 0);

// Whether `workers` processes of `p` fit the CPUs of `budget` (P × S × T ≤
// the CPUs, rounded up); InvalidArgument naming the numbers and the ways out
// (fewer workers, sessions or threads, or --oversubscribe) when not.
Status CheckCpuBudget(int workers, const Parallelism& p, const CpuBudget& budget);

// Pinning (`serve --pin`): the CPUs this process may run on (its affinity
// mask), in order.
std::vector<int> AllowedCpus();

// The `width` CPUs of slot `slot`: allowed[(slot × width + k) mod n] for
// k < width. Consecutive slots get disjoint CPUs while they fit, and wrap
// around (share) beyond, as an oversubscribed configuration must.
std::vector<int> CpuSlice(const std::vector<int>& allowed, int slot, int width);

// Restricts the calling thread to `cpus`; threads it starts later (an
// OpenMP team) inherit that. Error names the CPUs and errno's text.
Status PinCallingThread(const std::vector<int>& cpus);

// "0-3,6" for {0,1,2,3,6}, as /proc/PID/status Cpus_allowed_list writes it.
std::string CpuListString(const std::vector<int>& cpus);

}  // namespace kamado::serving
