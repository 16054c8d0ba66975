#include "serving/cpu_budget.h"

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "serving/cgroup_paths.h"

namespace kamado::serving {
namespace {

namespace fs = std::filesystem;

bool ReadFirstLine(const fs::path& path, std::string& line) {
  std::ifstream in(path);
  return in && std::getline(in, line);
}

// cgroup v2: "max 100000" (no limit) or "<quota> <period>" in each of
// `dirs` that has cpu.max; the tightest quota binds (0: none).
double QuotaV2(const std::vector<fs::path>& dirs) {
  double tightest = 0;
  for (const fs::path& dir : dirs) {
    std::string line;
    if (!ReadFirstLine(dir / "cpu.max", line)) continue;
    std::istringstream in(line);
    std::string quota;
    double period = 0;
    in >> quota >> period;
    if (quota == "max" || period <= 0) continue;
    try {
      const double q = std::stod(quota) / period;
      if (q > 0 && (tightest == 0 || q < tightest)) tightest = q;
    } catch (...) {
    }
  }
  return tightest;
}

// cgroup v1: cfs_quota_us is -1 when unlimited; each of `dirs` that has
// both files counts, and the tightest quota binds (0: none).
double QuotaV1(const std::vector<fs::path>& dirs) {
  double tightest = 0;
  for (const fs::path& dir : dirs) {
    std::string q, p;
    if (!ReadFirstLine(dir / "cpu.cfs_quota_us", q) || !ReadFirstLine(dir / "cpu.cfs_period_us", p)) {
      continue;
    }
    try {
      const double quota = std::stod(q), period = std::stod(p);
      if (quota > 0 && period > 0 && (tightest == 0 || quota / period < tightest)) tightest = quota / period;
    } catch (...) {
    }
  }
  return tightest;
}

int AffinityCpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

CpuBudget DetectCpuBudget(const fs::path& cgroup_root, const std::string& self_cgroup) {
  const std::string self = self_cgroup.empty() ? ReadSelfCgroup() : self_cgroup;
  const int affinity = AffinityCpus();
  CpuBudget b{static_cast<double>(affinity), "affinity mask"};
  if (double q = QuotaV2(CgroupDirs(cgroup_root, self, "", {""})); q > 0) {
    if (q < b.cpus) b = {q, "cgroup v2 cpu.max"};
  } else if (double q1 = QuotaV1(CgroupDirs(cgroup_root, self, "cpu", {"cpu", "cpu,cpuacct", ""}));
             q1 > 0 && q1 < b.cpus) {
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

Status CheckCpuBudget(int workers, const Parallelism& p, const CpuBudget& budget) {
  const int64_t wanted = int64_t{workers} * p.sessions * p.threads;
  const int64_t cpus = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(budget.cpus - 1e-9)));
  if (wanted <= cpus) return Status::Ok();
  char have[32];
  std::snprintf(have, sizeof(have), "%g", budget.cpus);
  return InvalidArgument(std::to_string(workers) + (workers == 1 ? " worker × " : " workers × ") +
                         std::to_string(p.sessions) + " sessions × " + std::to_string(p.threads) +
                         " threads = " + std::to_string(wanted) + " CPUs, but this process may use " + have +
                         " (" + budget.source +
                         "); lower --workers, --sessions or --threads, or pass --oversubscribe");
}

std::vector<int> AllowedCpus() {
  std::vector<int> out;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &set)) out.push_back(c);
    }
  }
  if (out.empty()) {
    for (unsigned c = 0; c < std::max(1u, std::thread::hardware_concurrency()); ++c) out.push_back(static_cast<int>(c));
  }
  return out;
}

std::vector<int> CpuSlice(const std::vector<int>& allowed, int slot, int width) {
  std::vector<int> out;
  if (allowed.empty() || width < 1 || slot < 0) return out;
  const size_t n = allowed.size();
  for (int k = 0; k < width && out.size() < n; ++k) {
    out.push_back(allowed[(static_cast<size_t>(slot) * static_cast<size_t>(width) + static_cast<size_t>(k)) % n]);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status PinCallingThread(const std::vector<int>& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus) {
    if (c < 0 || c >= CPU_SETSIZE) return InvalidArgument("CPU " + std::to_string(c) + " is out of range");
    CPU_SET(c, &set);
  }
  if (sched_setaffinity(0, sizeof(set), &set) != 0) {
    return Unavailable("cannot pin to CPUs " + CpuListString(cpus) + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

std::string CpuListString(const std::vector<int>& cpus) {
  std::string out;
  for (size_t i = 0; i < cpus.size();) {
    size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(cpus[i]);
    if (j > i) {
      out += '-';
      out += std::to_string(cpus[j]);
    }
    i = j + 1;
  }
  return out;
}

}  // namespace kamado::serving
