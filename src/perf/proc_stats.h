// Parsers for the Linux /proc files `kamado monitor` samples. Every parser
// takes the file's CONTENTS plus the name to use in errors, so tests can feed
// fixture text; ReadProcFile is the only function that touches the disk.
// All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/result.h"

namespace kamado::perf {

// The aggregate "cpu" line of /proc/stat, in clock ticks (USER_HZ).
struct CpuTimes {
  uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  // Sum of the eight fields above; guest time is already inside user/nice.
  uint64_t Total() const { return user + nice + system + idle + iowait + irq + softirq + steal; }
};

struct SystemStat {
  CpuTimes cpu;
  uint64_t ctxt = 0;  // context switches since boot
};

struct MemInfo {
  uint64_t total_kb = 0;
  uint64_t available_kb = 0;
  // (MemTotal − MemAvailable) / MemTotal · 100, as `free` and sar's %memused
  // (with the kernel's own estimate of what is reclaimable).
  double UsedPct() const;
};

struct LoadAvg {
  double one = 0, five = 0, fifteen = 0;
};

// /proc/<pid>/stat: the fields monitor needs.
struct PidStat {
  int pid = 0;
  std::string comm;    // without the parentheses; may contain spaces and ')'
  char state = '?';    // field 3: R, S, D, Z (zombie: exited, not yet reaped), ...
  uint64_t utime = 0;  // clock ticks, field 14
  uint64_t stime = 0;  // clock ticks, field 15
};

// `source` names the file in error messages ("/proc/stat",
// "tests/data/proc/t0/stat"); errors are InvalidArgument and name the field.
Result<SystemStat> ParseProcStat(std::string_view text, std::string_view source);
Result<MemInfo> ParseMeminfo(std::string_view text, std::string_view source);
Result<LoadAvg> ParseLoadavg(std::string_view text, std::string_view source);
Result<PidStat> ParsePidStat(std::string_view text, std::string_view source);
// VmRSS from /proc/<pid>/status, in kB. Kernel threads have none: error.
Result<uint64_t> ParseVmRssKb(std::string_view text, std::string_view source);
// VmHWM (the peak resident set so far) from the same file, in kB.
Result<uint64_t> ParseVmHwmKb(std::string_view text, std::string_view source);

// Reads a /proc file (their st_size is 0, so core's ReadFile does not fit).
// NotFound when it cannot be opened, e.g. the process has exited.
Result<std::string> ReadProcFile(const std::filesystem::path& path);

// A "Key:   1234 kB" line's value (/proc/meminfo, /proc/PID/status,
// /proc/PID/smaps_rollup). InvalidArgument naming `source` and `key` when it
// is missing or not a number.
Result<uint64_t> KbField(std::string_view text, std::string_view source, std::string_view key);

}  // namespace kamado::perf
