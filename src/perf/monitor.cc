#include "perf/monitor.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>

namespace kamado::perf {
namespace {

uint64_t Delta(uint64_t a, uint64_t b) { return b >= a ? b - a : 0; }

std::string Clock(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  localtime_r(&tt, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

std::string Iso8601(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
  const std::time_t tt = ms.count() / 1000;
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}Z", buf, static_cast<int>(ms.count() % 1000));
}

}  // namespace

Sample ComputeSample(const Snapshot& prev, const Snapshot& cur, long clk_tck) {
  Sample s;
  s.wall = cur.wall;
  s.interval_s = cur.monotonic_s - prev.monotonic_s;
  const CpuTimes& a = prev.stat.cpu;
  const CpuTimes& b = cur.stat.cpu;
  const double total = static_cast<double>(Delta(a.Total(), b.Total()));
  auto pct = [total](uint64_t d) {
    return total > 0 ? 100.0 * static_cast<double>(d) / total : 0.0;
  };
  s.user_pct = pct(Delta(a.user, b.user));
  s.nice_pct = pct(Delta(a.nice, b.nice));
  s.system_pct = pct(Delta(a.system, b.system) + Delta(a.irq, b.irq) + Delta(a.softirq, b.softirq));
  s.iowait_pct = pct(Delta(a.iowait, b.iowait));
  s.steal_pct = pct(Delta(a.steal, b.steal));
  s.idle_pct = pct(Delta(a.idle, b.idle));
  s.cswch_per_s = s.interval_s > 0
                      ? static_cast<double>(Delta(prev.stat.ctxt, cur.stat.ctxt)) / s.interval_s
                      : 0;
  s.mem_used_pct = cur.mem.UsedPct();
  s.mem_total_mb = static_cast<double>(cur.mem.total_kb) / 1024.0;
  s.load = cur.load;
  for (const ProcessSnapshot& p : prev.processes) {
    auto it = std::find_if(cur.processes.begin(), cur.processes.end(),
                           [&](const ProcessSnapshot& q) { return q.pid == p.pid; });
    if (it == cur.processes.end()) {
      s.exited.push_back(p.pid);
      continue;
    }
    ProcessSample ps;
    ps.pid = p.pid;
    ps.comm = it->comm;
    const double cpu_s = static_cast<double>(Delta(p.cpu_ticks, it->cpu_ticks)) /
                         static_cast<double>(clk_tck > 0 ? clk_tck : 100);
    ps.cpu_pct = s.interval_s > 0 ? 100.0 * cpu_s / s.interval_s : 0.0;
    ps.rss_mb = static_cast<double>(it->rss_kb) / 1024.0;
    s.processes.push_back(std::move(ps));
  }
  return s;
}

Result<Snapshot> ProcReader::ReadSystem() const {
  Snapshot snap;
  snap.monotonic_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  snap.wall = std::chrono::system_clock::now();
  const auto stat_path = root_ / "stat";
  ASSIGN_OR_RETURN(std::string stat, ReadProcFile(stat_path));
  ASSIGN_OR_RETURN(snap.stat, ParseProcStat(stat, stat_path.string()));
  const auto mem_path = root_ / "meminfo";
  ASSIGN_OR_RETURN(std::string mem, ReadProcFile(mem_path));
  ASSIGN_OR_RETURN(snap.mem, ParseMeminfo(mem, mem_path.string()));
  const auto load_path = root_ / "loadavg";
  ASSIGN_OR_RETURN(std::string load, ReadProcFile(load_path));
  ASSIGN_OR_RETURN(snap.load, ParseLoadavg(load, load_path.string()));
  return snap;
}

Result<ProcessSnapshot> ProcReader::ReadProcess(int pid) const {
  const auto dir = root_ / std::to_string(pid);
  const auto stat_path = dir / "stat";
  auto stat = ReadProcFile(stat_path);
  if (!stat.ok()) {
    return NotFound(
        fmt::format("pid {}: no such process ({} is not readable)", pid, stat_path.string()));
  }
  ASSIGN_OR_RETURN(PidStat ps, ParsePidStat(*stat, stat_path.string()));
  // A zombie has exited (and has no VmRSS); only its parent's wait() is left.
  if (ps.state == 'Z') return NotFound(fmt::format("pid {}: exited (zombie)", pid));
  const auto status_path = dir / "status";
  auto status = ReadProcFile(status_path);
  if (!status.ok()) {
    return NotFound(
        fmt::format("pid {}: no such process ({} is not readable)", pid, status_path.string()));
  }
  ProcessSnapshot p;
  p.pid = pid;
  p.comm = std::move(ps.comm);
  p.cpu_ticks = ps.utime + ps.stime;
  ASSIGN_OR_RETURN(p.rss_kb, ParseVmRssKb(*status, status_path.string()));
  return p;
}

Result<Snapshot> ProcReader::Read(const std::vector<int>& pids) const {
  ASSIGN_OR_RETURN(Snapshot snap, ReadSystem());
  for (int pid : pids) {
    auto p = ReadProcess(pid);
    if (p.ok()) {
      snap.processes.push_back(std::move(*p));
    } else if (p.status().code() == StatusCode::kNotFound) {
      snap.exited.push_back(pid);
    } else {
      return p.status();
    }
  }
  return snap;
}

std::string FormatHeaderText() {
  return fmt::format("{:<8} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>10} {:>8} {:>7} {:>7} {:>7}\n",
                     "time", "%user", "%nice", "%system", "%iowait", "%steal", "%idle", "cswch/s",
                     "%memused", "ldavg-1", "ldavg-5", "ldavg-15");
}

std::string FormatSampleText(const Sample& s) {
  const std::string t = Clock(s.wall);
  std::string out = fmt::format(
      "{:<8} {:>7.2f} {:>7.2f} {:>7.2f} {:>7.2f} {:>7.2f} {:>7.2f} {:>10.2f} {:>8.2f} {:>7.2f} "
      "{:>7.2f} {:>7.2f}\n",
      t, s.user_pct, s.nice_pct, s.system_pct, s.iowait_pct, s.steal_pct, s.idle_pct, s.cswch_per_s,
      s.mem_used_pct, s.load.one, s.load.five, s.load.fifteen);
  for (const ProcessSample& p : s.processes) {
    out += fmt::format("{:<8} pid {:>7}  %CPU {:>7.2f}  RSS {:>9.1f} MB  {}\n", t, p.pid, p.cpu_pct,
                       p.rss_mb, p.comm);
  }
  for (int pid : s.exited) out += fmt::format("{:<8} pid {:>7}  exited\n", t, pid);
  return out;
}

std::string FormatSampleJson(const Sample& s) {
  nlohmann::json procs = nlohmann::json::array();
  for (const ProcessSample& p : s.processes) {
    procs.push_back(
        {{"pid", p.pid}, {"comm", p.comm}, {"cpu_pct", p.cpu_pct}, {"rss_mb", p.rss_mb}});
  }
  nlohmann::json j = {{"time", Iso8601(s.wall)},
                      {"interval_s", s.interval_s},
                      {"cpu",
                       {{"user_pct", s.user_pct},
                        {"nice_pct", s.nice_pct},
                        {"system_pct", s.system_pct},
                        {"iowait_pct", s.iowait_pct},
                        {"steal_pct", s.steal_pct},
                        {"idle_pct", s.idle_pct}}},
                      {"cswch_per_s", s.cswch_per_s},
                      {"mem_used_pct", s.mem_used_pct},
                      {"mem_total_mb", s.mem_total_mb},
                      {"loadavg", {s.load.one, s.load.five, s.load.fifteen}},
                      {"processes", procs},
                      {"exited", s.exited}};
  return j.dump();
}

MonitorSummary SummarizeSamples(const std::vector<Sample>& samples) {
  MonitorSummary m;
  m.samples = static_cast<int>(samples.size());
  if (samples.empty()) return m;
  for (const Sample& s : samples) {
    const double cpu = 100.0 - s.idle_pct;
    double proc_cpu = 0, proc_rss = 0;
    for (const ProcessSample& p : s.processes) {
      proc_cpu += p.cpu_pct;
      proc_rss += p.rss_mb;
    }
    m.cpu_avg_pct += cpu;
    m.cpu_peak_pct = std::max(m.cpu_peak_pct, cpu);
    m.mem_avg_pct += s.mem_used_pct;
    m.mem_peak_pct = std::max(m.mem_peak_pct, s.mem_used_pct);
    m.process_cpu_avg_pct += proc_cpu;
    m.process_cpu_peak_pct = std::max(m.process_cpu_peak_pct, proc_cpu);
    m.process_rss_peak_mb = std::max(m.process_rss_peak_mb, proc_rss);
  }
  // A sum of equal values divided by their count can round one ulp above
  // them: a mean is never above its peak.
  m.cpu_avg_pct = std::min(m.cpu_avg_pct / m.samples, m.cpu_peak_pct);
  m.mem_avg_pct = std::min(m.mem_avg_pct / m.samples, m.mem_peak_pct);
  m.process_cpu_avg_pct = std::min(m.process_cpu_avg_pct / m.samples, m.process_cpu_peak_pct);
  return m;
}

Monitor::Monitor(std::vector<int> pids, std::chrono::milliseconds interval, ProcReader reader)
    : pids_(std::move(pids)), interval_(interval), reader_(std::move(reader)) {}

Monitor::~Monitor() { (void)Stop(); }

Status Monitor::Start() {
  for (int pid : pids_) {
    auto p = reader_.ReadProcess(pid);
    if (!p.ok()) return p.status();
  }
  ASSIGN_OR_RETURN(first_, reader_.Read(pids_));
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

std::vector<Sample> Monitor::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  return samples_;
}

size_t Monitor::samples_taken() {
  std::lock_guard<std::mutex> lock(mu_);
  return samples_.size();
}

void Monitor::Loop() {
  const long clk_tck = sysconf(_SC_CLK_TCK);
  Snapshot prev = first_;
  auto next = std::chrono::steady_clock::now() + interval_;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_until(lock, next, [this] { return stop_; })) return;
    }
    next += interval_;
    auto cur = reader_.Read(pids_);
    if (!cur.ok()) continue;  // a transient read error loses one sample, not the run
    Sample s = ComputeSample(prev, *cur, clk_tck);
    prev = std::move(*cur);
    std::lock_guard<std::mutex> lock(mu_);
    samples_.push_back(std::move(s));
  }
}

}  // namespace kamado::perf
