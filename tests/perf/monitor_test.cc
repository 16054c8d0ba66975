// Monitor numbers against the live /proc of this process, checked against
// independent counters of the same thing (getrusage's CPU time, VmRSS), never
// against how fast the machine ran: CPU time is burnt by amount, not by wall
// time, and the background sampler is waited for by its sample count.
#include "perf/monitor.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace kamado::perf {
namespace {

// VmRSS read by plain line scan, independent of ParseVmRssKb.
double SelfRssMbOracle() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return -1;
}

double RusageCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto sec = [](timeval tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

// Burns at least `cpu_s` seconds of this process's CPU time on `threads`
// threads, however long that takes on a shared machine.
void BurnCpu(double cpu_s, int threads) {
  const double until = RusageCpuSeconds() + cpu_s;
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) {
    pool.emplace_back([until] {
      volatile double x = 1.0;
      while (RusageCpuSeconds() < until) {
        for (int k = 0; k < 100000; ++k) x = x * 1.0000001 + 1e-9;
      }
    });
  }
  for (auto& t : pool) t.join();
}

TEST(MonitorTest, BusyProcessAgainstProc) {
  // Touch 64 MiB so RSS is well above noise.
  std::vector<char> ballast(64 << 20);
  std::memset(ballast.data(), 1, ballast.size());

  const int pid = static_cast<int>(getpid());
  const long clk_tck = sysconf(_SC_CLK_TCK);
  const ProcReader reader;
  auto before = reader.Read({pid});
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  const double ru_before = RusageCpuSeconds();
  BurnCpu(0.4, 4);
  auto after = reader.Read({pid});
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  const double ru_after = RusageCpuSeconds();
  const Sample s = ComputeSample(*before, *after, clk_tck);

  ASSERT_EQ(s.processes.size(), 1u);
  const ProcessSample& p = s.processes[0];
  ASSERT_GT(s.interval_s, 0);
  // /proc's utime+stime over the interval is getrusage's CPU time, to the
  // tick (each of the two readings may be up to a tick apart, per counter).
  const double proc_cpu_s = p.cpu_pct / 100.0 * s.interval_s;
  const double ru_cpu_s = ru_after - ru_before;
  EXPECT_GE(ru_cpu_s, 0.4);
  EXPECT_NEAR(proc_cpu_s, ru_cpu_s, 4.0 / clk_tck);
  EXPECT_EQ(static_cast<double>(after->processes[0].cpu_ticks - before->processes[0].cpu_ticks),
            std::round(proc_cpu_s * clk_tck));

  const double rss_oracle = SelfRssMbOracle();
  std::printf("monitor: %.3f CPU s (getrusage %.3f), RSS %.1f MB (VmRSS %.1f MB)\n", proc_cpu_s,
              ru_cpu_s, p.rss_mb, rss_oracle);
  EXPECT_GT(p.rss_mb, 64.0);
  EXPECT_NEAR(p.rss_mb, rss_oracle, 0.1 * rss_oracle);

  // The system view is a distribution of ticks, and this process's show in it.
  const double sum =
      s.user_pct + s.nice_pct + s.system_pct + s.iowait_pct + s.steal_pct + s.idle_pct;
  EXPECT_NEAR(sum, 100.0, 1e-6);
  EXPECT_GT(s.user_pct + s.system_pct, 0.0);
  EXPECT_GT(s.mem_used_pct, 0.0);
  EXPECT_LT(s.mem_used_pct, 100.0);
  EXPECT_GT(s.cswch_per_s, 0.0);  // four threads were started and joined
}

TEST(MonitorTest, BackgroundMonitorCollectsSamples) {
  Monitor m({static_cast<int>(getpid())}, std::chrono::milliseconds(50));
  ASSERT_TRUE(m.Start().ok());
  // Keep the process busy until the sampler has taken three samples.
  while (m.samples_taken() < 3) BurnCpu(0.05, 1);
  const std::vector<Sample> samples = m.Stop();
  ASSERT_GE(samples.size(), 3u);
  const MonitorSummary sum = SummarizeSamples(samples);
  EXPECT_EQ(sum.samples, static_cast<int>(samples.size()));
  EXPECT_GT(sum.process_cpu_peak_pct, 0.0);
  EXPECT_GE(sum.cpu_peak_pct, sum.cpu_avg_pct);
  EXPECT_GE(sum.mem_peak_pct, sum.mem_avg_pct);
  EXPECT_GT(sum.process_rss_peak_mb, 0.0);
}

// Three equal samples whose sum divided by three rounds above them (found
// by the BackgroundMonitor test once in ~60 runs under load): a mean is never
// above its peak.
TEST(MonitorTest, TheMeanOfEqualSamplesIsNotAboveTheirPeak) {
  const double x = 13.961621053584839;
  ASSERT_GT((x + x + x) / 3, x) << "the value no longer shows the rounding";
  std::vector<Sample> samples(3);
  for (Sample& s : samples) {
    s.mem_used_pct = x;
    s.idle_pct = 100 - x;
  }
  const MonitorSummary sum = SummarizeSamples(samples);
  EXPECT_LE(sum.mem_avg_pct, sum.mem_peak_pct);
  EXPECT_LE(sum.cpu_avg_pct, sum.cpu_peak_pct);
  EXPECT_EQ(sum.mem_peak_pct, x);
}

TEST(MonitorTest, StartFailsOnMissingPid) {
  Monitor m({999999999}, std::chrono::milliseconds(100));
  const Status st = m.Start();
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_NE(st.message().find("999999999"), std::string::npos);
}

}  // namespace
}  // namespace kamado::perf
