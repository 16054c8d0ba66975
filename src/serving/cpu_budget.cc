#include "serving/cpu_budget.h"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>

namespace kamado::serving {
namespace {

namespace fs = std::filesystem;

bool ReadFirstLine(const fs::path& path, std::string& line) {
  std::ifstream in(path);
  return in && std::getline(in, line);
}

// cgroup v2: "max 100000" (no limit) or "<quota> <period>".
double QuotaV2(const fs::path& root) {
  std::string line;
  if (!ReadFirstLine(root / "cpu.max", line)) return 0;
  std::istringstream in(line);
  std::string quota;
  double period = 0;
  in >> quota >> period;
  if (quota == "max" || period <= 0) return 0;
  try {
    return std::stod(quota) / period;
  } catch (...) {
    return 0;
  }
}

// cgroup v1: cfs_quota_us is -1 when unlimited.
double QuotaV1(const fs::path& root) {
  for (const fs::path& dir : {root / "cpu", root / "cpu,cpuacct", root}) {
    std::string q, p;
    if (!ReadFirstLine(dir / "cpu.cfs_quota_us", q) || !ReadFirstLine(dir / "cpu.cfs_period_us", p)) {
      continue;
    }
    try {
      const double quota = std::stod(q), period = std::stod(p);
      if (quota > 0 && period > 0) return quota / period;
    } catch (...) {
    }
    return 0;
  }
  return 0;
}

int AffinityCpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

CpuBudget DetectCpuBudget(const fs::path& cgroup_root) {
  const int affinity = AffinityCpus();
  CpuBudget b{static_cast<double>(affinity), "affinity mask"};
  if (double q = QuotaV2(cgroup_root); q > 0) {
    if (q < b.cpus) b = {q, "cgroup v2 cpu.max"};
  } else if (double q1 = QuotaV1(cgroup_root); q1 > 0 && q1 < b.cpus) {
    b = {q1, "cgroup v1 cpu.cfs_quota_us"};
  }
  return b;
}

Parallelism DefaultParallelism(double cpus, int sessions, int threads) {
  const int n = std::max(1, static_cast<int>(std::floor(cpus)));
  Parallelism p;
  if (n <= 4) {
    p = {1, n};
  } else {
    p = {n / 4, 4};
  }
  if (sessions > 0 && threads > 0) return {sessions, threads};
  if (sessions > 0) return {sessions, std::max(1, n / sessions)};
  if (threads > 0) return {std::max(1, n / threads), threads};
  return p;
}

}  // namespace kamado::serving
