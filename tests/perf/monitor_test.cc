// Monitor numbers against the live /proc on a busy process (this one).
// Timing-dependent assertions are deliberately loose.
#include "perf/monitor.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
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

void Burn(std::chrono::steady_clock::time_point until) {
  volatile double x = 1.0;
  while (std::chrono::steady_clock::now() < until) {
    for (int i = 0; i < 10000; ++i) x = x * 1.0000001 + 1e-9;
  }
}

TEST(MonitorTest, BusyProcessAgainstProc) {
  // Touch 64 MiB so RSS is well above noise.
  std::vector<char> ballast(64 << 20);
  std::memset(ballast.data(), 1, ballast.size());

  // Eight burners, so that even on a 2-core machine shared with builds the
  // process gets well over half a core.
  constexpr int kThreads = 8;
  const int pid = static_cast<int>(getpid());
  const ProcReader reader;
  auto before = reader.Read({pid});
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  const double ru_before = RusageCpuSeconds();

  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1000);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) threads.emplace_back(Burn, until);
  for (auto& t : threads) t.join();

  auto after = reader.Read({pid});
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  const double ru_after = RusageCpuSeconds();
  const Sample s = ComputeSample(*before, *after, sysconf(_SC_CLK_TCK));

  ASSERT_EQ(s.processes.size(), 1u);
  const ProcessSample& p = s.processes[0];
  EXPECT_GT(s.interval_s, 0.9);
  EXPECT_GT(p.cpu_pct, 50.0);
  EXPECT_LE(p.cpu_pct, 100.0 * (kThreads + 1) + 10.0);  // + the (idle) main thread, slack
  // Same CPU time as the kernel's getrusage, to tick granularity plus slack.
  const double ru_pct = 100.0 * (ru_after - ru_before) / s.interval_s;
  EXPECT_NEAR(p.cpu_pct, ru_pct, 15.0);

  const double rss_oracle = SelfRssMbOracle();
  std::printf("monitor: %.1f%% CPU (getrusage %.1f%%), RSS %.1f MB (VmRSS %.1f MB)\n", p.cpu_pct,
              ru_pct, p.rss_mb, rss_oracle);
  EXPECT_GT(p.rss_mb, 64.0);
  EXPECT_NEAR(p.rss_mb, rss_oracle, 0.1 * rss_oracle);

  // The system view is a distribution of ticks.
  const double sum =
      s.user_pct + s.nice_pct + s.system_pct + s.iowait_pct + s.steal_pct + s.idle_pct;
  EXPECT_NEAR(sum, 100.0, 1e-6);
  EXPECT_GT(s.user_pct + s.system_pct, 0.0);
  EXPECT_GT(s.mem_used_pct, 0.0);
  EXPECT_LT(s.mem_used_pct, 100.0);
  EXPECT_GT(s.cswch_per_s, 0.0);
}

TEST(MonitorTest, BackgroundMonitorCollectsSamples) {
  Monitor m({static_cast<int>(getpid())}, std::chrono::milliseconds(100));
  ASSERT_TRUE(m.Start().ok());
  Burn(std::chrono::steady_clock::now() + std::chrono::milliseconds(450));
  const std::vector<Sample> samples = m.Stop();
  ASSERT_GE(samples.size(), 2u);
  const MonitorSummary sum = SummarizeSamples(samples);
  EXPECT_EQ(sum.samples, static_cast<int>(samples.size()));
  EXPECT_GT(sum.process_cpu_peak_pct, 0.0);
  EXPECT_GE(sum.cpu_peak_pct, sum.cpu_avg_pct);
  EXPECT_GT(sum.process_rss_peak_mb, 0.0);
}

TEST(MonitorTest, StartFailsOnMissingPid) {
  Monitor m({999999999}, std::chrono::milliseconds(100));
  const Status st = m.Start();
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_NE(st.message().find("999999999"), std::string::npos);
}

}  // namespace
}  // namespace kamado::perf
