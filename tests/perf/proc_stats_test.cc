// Parsers and ComputeSample against the fixture /proc trees in
// tests/data/proc/{t0,t1} (two snapshots 2 s apart) and tests/data/proc/bad.
#include "perf/proc_stats.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "perf/monitor.h"

namespace kamado::perf {
namespace {

const char* kT0 = "tests/data/proc/t0";
const char* kT1 = "tests/data/proc/t1";
const char* kBad = "tests/data/proc/bad";

// t0 → t1 deltas (ticks): user 400, nice 0, system 100, idle 300, iowait 100,
// irq 20, softirq 30, steal 50; total 1000. So %user 40, %system
// (100+20+30)/1000 = 15, %iowait 10, %steal 5, %idle 30. ctxt +2500 in 2 s →
// 1250/s. Memory at t1: (16384000 − 4096000)/16384000 = 75 %. pid 4242:
// utime+stime 1200 → 1500 ticks = 3 s of CPU at CLK_TCK 100 over 2 s → 150 %
// (more than one thread busy); VmRSS 524288 kB = 512 MiB.
Sample FixtureSample() {
  const ProcReader r0(kT0), r1(kT1);
  auto s0 = r0.Read({4242});
  auto s1 = r1.Read({4242});
  EXPECT_TRUE(s0.ok()) << s0.status().ToString();
  EXPECT_TRUE(s1.ok()) << s1.status().ToString();
  s0->monotonic_s = 100.0;
  s1->monotonic_s = 102.0;
  return ComputeSample(*s0, *s1, 100);
}

TEST(ProcStatsTest, ParsesFixtureFiles) {
  auto text = ReadProcFile(std::string(kT0) + "/stat");
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  auto stat = ParseProcStat(*text, "t0/stat");
  ASSERT_TRUE(stat.ok()) << stat.status().ToString();
  EXPECT_EQ(stat->cpu.user, 1000u);
  EXPECT_EQ(stat->cpu.softirq, 30u);
  EXPECT_EQ(stat->cpu.Total(), 9500u);
  EXPECT_EQ(stat->ctxt, 500000u);

  auto snap = ProcReader(kT1).Read({4242});
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_EQ(snap->mem.total_kb, 16384000u);
  EXPECT_EQ(snap->mem.available_kb, 4096000u);
  EXPECT_DOUBLE_EQ(snap->load.one, 1.5);
  EXPECT_DOUBLE_EQ(snap->load.fifteen, 0.25);
  ASSERT_EQ(snap->processes.size(), 1u);
  EXPECT_EQ(snap->processes[0].comm, "my (odd) srv");  // parentheses inside comm
  EXPECT_EQ(snap->processes[0].cpu_ticks, 1500u);
  EXPECT_EQ(snap->processes[0].rss_kb, 524288u);
}

TEST(ProcStatsTest, ZombieCountsAsExited) {
  auto p = ParsePidStat("7 (z) Z 1 7 7 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 9", "P");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->state, 'Z');
  EXPECT_EQ(p->utime, 5u);
  EXPECT_EQ(p->stime, 6u);
}

TEST(ProcStatsTest, SampleMatchesHandComputed) {
  const Sample s = FixtureSample();
  EXPECT_DOUBLE_EQ(s.interval_s, 2.0);
  EXPECT_DOUBLE_EQ(s.user_pct, 40.0);
  EXPECT_DOUBLE_EQ(s.nice_pct, 0.0);
  EXPECT_DOUBLE_EQ(s.system_pct, 15.0);
  EXPECT_DOUBLE_EQ(s.iowait_pct, 10.0);
  EXPECT_DOUBLE_EQ(s.steal_pct, 5.0);
  EXPECT_DOUBLE_EQ(s.idle_pct, 30.0);
  EXPECT_DOUBLE_EQ(s.cswch_per_s, 1250.0);
  EXPECT_DOUBLE_EQ(s.mem_used_pct, 75.0);
  EXPECT_DOUBLE_EQ(s.load.five, 0.75);
  ASSERT_EQ(s.processes.size(), 1u);
  EXPECT_EQ(s.processes[0].pid, 4242);
  EXPECT_DOUBLE_EQ(s.processes[0].cpu_pct, 150.0);
  EXPECT_DOUBLE_EQ(s.processes[0].rss_mb, 512.0);
  EXPECT_TRUE(s.exited.empty());
}

TEST(ProcStatsTest, JsonAndTextCarryTheNumbers) {
  const Sample s = FixtureSample();
  const auto j = nlohmann::json::parse(FormatSampleJson(s));
  EXPECT_DOUBLE_EQ(j["cpu"]["user_pct"].get<double>(), 40.0);
  EXPECT_DOUBLE_EQ(j["cswch_per_s"].get<double>(), 1250.0);
  EXPECT_DOUBLE_EQ(j["mem_used_pct"].get<double>(), 75.0);
  EXPECT_DOUBLE_EQ(j["processes"][0]["cpu_pct"].get<double>(), 150.0);
  EXPECT_DOUBLE_EQ(j["processes"][0]["rss_mb"].get<double>(), 512.0);
  EXPECT_EQ(j["loadavg"].size(), 3u);
  const std::string text = FormatSampleText(s);
  EXPECT_NE(text.find("40.00"), std::string::npos) << text;
  EXPECT_NE(text.find("1250.00"), std::string::npos) << text;
  EXPECT_NE(text.find("150.00"), std::string::npos) << text;
  EXPECT_NE(FormatHeaderText().find("%iowait"), std::string::npos);
}

TEST(ProcStatsTest, ExitedPidIsReportedNotFailed) {
  auto s0 = ProcReader(kT0).Read({4242});
  ASSERT_TRUE(s0.ok());
  auto s1 = ProcReader(kT1).Read({});  // 4242 no longer listed
  ASSERT_TRUE(s1.ok());
  s1->monotonic_s = s0->monotonic_s + 1;
  const Sample s = ComputeSample(*s0, *s1, 100);
  EXPECT_TRUE(s.processes.empty());
  EXPECT_EQ(s.exited, std::vector<int>{4242});
  auto gone = ProcReader(kT0).Read({999999});
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->exited, std::vector<int>{999999});
}

TEST(ProcStatsTest, MissingPidIsNotFoundNamingIt) {
  auto p = ProcReader(kT0).ReadProcess(31337);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kNotFound);
  EXPECT_NE(p.status().message().find("pid 31337"), std::string::npos) << p.status().message();
}

void ExpectError(const Status& st, const std::string& file, const std::string& field) {
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find(file), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("'" + field + "'"), std::string::npos) << st.message();
}

TEST(ProcStatsTest, MalformedFixturesNameFileAndField) {
  const ProcReader bad(kBad);
  auto sys = bad.ReadSystem();
  ASSERT_FALSE(sys.ok());
  ExpectError(sys.status(), "bad/stat", "cpu.system");  // "x300"

  auto mem = ParseMeminfo(*ReadProcFile(std::string(kBad) + "/meminfo"), "bad/meminfo");
  ASSERT_FALSE(mem.ok());
  ExpectError(mem.status(), "bad/meminfo", "MemAvailable");

  auto load = ParseLoadavg(*ReadProcFile(std::string(kBad) + "/loadavg"), "bad/loadavg");
  ASSERT_FALSE(load.ok());
  ExpectError(load.status(), "bad/loadavg", "loadavg.1min");

  auto proc = bad.ReadProcess(4242);
  ASSERT_FALSE(proc.ok());
  ExpectError(proc.status(), "bad/4242/stat", "utime");
}

TEST(ProcStatsTest, VmHwmIsThePeakNotTheCurrentRss) {
  const std::string status = "Name:\tsrv\nVmHWM:\t  900 kB\nVmRSS:\t  512 kB\n";
  EXPECT_EQ(*ParseVmHwmKb(status, "S"), 900u);
  EXPECT_EQ(*ParseVmRssKb(status, "S"), 512u);
}

TEST(ProcStatsTest, MalformedStrings) {
  ExpectError(ParseProcStat("intr 1\nctxt 5\n", "S").status(), "S", "cpu");
  ExpectError(ParseProcStat("cpu 1 2 3 4 5 6 7\nctxt 5\n", "S").status(), "S", "cpu.steal");
  ExpectError(ParseProcStat("cpu 1 2 3 4 5 6 7 8\n", "S").status(), "S", "ctxt");
  ExpectError(ParseMeminfo("MemAvailable: 5 kB\n", "M").status(), "M", "MemTotal");
  ExpectError(ParseMeminfo("MemTotal: abc kB\nMemAvailable: 5 kB\n", "M").status(), "M",
              "MemTotal");
  ExpectError(ParsePidStat("12 srv S 1", "P").status(), "P", "comm");
  ExpectError(ParseVmRssKb("Name:\tkthreadd\n", "V").status(), "V", "VmRSS");
  ExpectError(ParseVmHwmKb("Name:\tkthreadd\n", "V").status(), "V", "VmHWM");
  // "cpu0" must not be mistaken for the aggregate "cpu" line.
  ExpectError(ParseProcStat("cpu0 1 2 3 4 5 6 7 8\nctxt 5\n", "S").status(), "S", "cpu");
}

}  // namespace
}  // namespace kamado::perf
