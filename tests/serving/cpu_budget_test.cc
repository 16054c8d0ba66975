#include "serving/cpu_budget.h"
#include "serving/cgroup_paths.h"

#include <gtest/gtest.h>

#include <thread>
#include <unistd.h>

#include <fstream>

namespace kamado::serving {
namespace {

namespace fs = std::filesystem;

class CpuBudgetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("kamado_cgroup_" + std::to_string(::getpid()));
    fs::create_directories(root_ / "cpu");
  }
  void TearDown() override { fs::remove_all(root_); }
  void Write(const fs::path& rel, const std::string& text) { std::ofstream(root_ / rel) << text; }
  fs::path root_;
};

TEST_F(CpuBudgetTest, ReadsCgroupV2) {
  Write("cpu.max", "150000 100000\n");
  const CpuBudget b = DetectCpuBudget(root_);
  // The quota caps the affinity mask (which is at least 1 CPU).
  EXPECT_LE(b.cpus, 1.5);
  if (b.cpus == 1.5) {
    EXPECT_EQ(b.source, "cgroup v2 cpu.max");
  }
}

TEST_F(CpuBudgetTest, UnlimitedV2FallsBackToAffinity) {
  Write("cpu.max", "max 100000\n");
  EXPECT_EQ(DetectCpuBudget(root_).source, "affinity mask");
}

TEST_F(CpuBudgetTest, ReadsCgroupV1) {
  Write("cpu/cpu.cfs_quota_us", "50000\n");
  Write("cpu/cpu.cfs_period_us", "100000\n");
  const CpuBudget b = DetectCpuBudget(root_);
  EXPECT_DOUBLE_EQ(b.cpus, 0.5);
  EXPECT_EQ(b.source, "cgroup v1 cpu.cfs_quota_us");
  Write("cpu/cpu.cfs_quota_us", "-1\n");
  EXPECT_EQ(DetectCpuBudget(root_).source, "affinity mask");
}

// A process on a host (a systemd slice with CPUQuota, say) has its quota
// under its own cgroup's path, not at the root: that is read first.
TEST_F(CpuBudgetTest, OwnCgroupComesBeforeTheRootV2) {
  fs::create_directories(root_ / "system.slice/kamado.service");
  Write("cpu.max", "max 100000\n");
  Write("system.slice/kamado.service/cpu.max", "50000 100000\n");
  const CpuBudget b = DetectCpuBudget(root_, "0::/system.slice/kamado.service\n");
  EXPECT_DOUBLE_EQ(b.cpus, 0.5);
  EXPECT_EQ(b.source, "cgroup v2 cpu.max");
  // In a container /proc/self/cgroup says "/": the root is its own.
  EXPECT_EQ(DetectCpuBudget(root_, "0::/\n").source, "affinity mask");
}

TEST_F(CpuBudgetTest, OwnCgroupComesBeforeTheRootV1) {
  fs::create_directories(root_ / "cpu,cpuacct/user.slice");
  Write("cpu,cpuacct/user.slice/cpu.cfs_quota_us", "25000\n");
  Write("cpu,cpuacct/user.slice/cpu.cfs_period_us", "100000\n");
  const std::string self = "5:memory:/user.slice\n4:cpu,cpuacct:/user.slice\n0::/user.slice\n";
  const CpuBudget b = DetectCpuBudget(root_, self);
  EXPECT_DOUBLE_EQ(b.cpus, 0.25);
  EXPECT_EQ(b.source, "cgroup v1 cpu.cfs_quota_us");
  // An own path that does not exist under the mount (a container without a
  // cgroup namespace sees the host's path): the mount's root decides.
  Write("cpu/cpu.cfs_quota_us", "50000\n");
  Write("cpu/cpu.cfs_period_us", "100000\n");
  EXPECT_DOUBLE_EQ(DetectCpuBudget(root_, "4:cpu,cpuacct:/docker/0123abcd\n").cpus, 0.5);
}

// A quota on a parent slice binds the process below it, whatever its own
// cgroup says; with quotas at several levels the tightest wins.
TEST_F(CpuBudgetTest, AParentSlicesQuotaBindsTooAndTheTightestWins) {
  fs::create_directories(root_ / "kamado.slice/worker.service");
  Write("kamado.slice/cpu.max", "150000 100000\n");
  Write("kamado.slice/worker.service/cpu.max", "max 100000\n");
  const std::string self = "0::/kamado.slice/worker.service\n";
  CpuBudget b = DetectCpuBudget(root_, self);
  EXPECT_LE(b.cpus, 1.5);
  if (b.source != "affinity mask") {
    EXPECT_DOUBLE_EQ(b.cpus, 1.5) << "the parent's 1.5 CPUs; it read " << b.source;
  }
  Write("kamado.slice/worker.service/cpu.max", "50000 100000\n");
  b = DetectCpuBudget(root_, self);
  EXPECT_DOUBLE_EQ(b.cpus, 0.5) << "the own cgroup's 0.5 is tighter than the parent's 1.5";
  Write("kamado.slice/worker.service/cpu.max", "400000 100000\n");
  Write("kamado.slice/cpu.max", "25000 100000\n");
  EXPECT_DOUBLE_EQ(DetectCpuBudget(root_, self).cpus, 0.25) << "the parent's 0.25 is tighter than the own 4";
}

TEST(CgroupDirs, OwnPathsAndTheirAncestorsFirstThenTheMounts) {
  const std::string self = "4:cpu,cpuacct:/a/b\n0::/c\n";
  EXPECT_EQ(CgroupDirs("/r", self, "", {""}), (std::vector<fs::path>{"/r/c", "/r"}));
  EXPECT_EQ(CgroupDirs("/r", self, "cpu", {"cpu", ""}),
            (std::vector<fs::path>{"/r/cpu/a/b", "/r/cpu/a", "/r/a/b", "/r/a", "/r/cpu", "/r"}));
  EXPECT_EQ(CgroupDirs("/r", "0::/x/../../etc\n", "", {""}), (std::vector<fs::path>{"/r"}))
      << "a path that climbs out of the mount is not followed";
  EXPECT_EQ(CgroupDirs("/r", self, "memory", {"memory"}), (std::vector<fs::path>{"/r/memory"}));
  EXPECT_EQ(SelfCgroupPath(self, "cpuacct"), "/a/b");
  EXPECT_EQ(SelfCgroupPath("garbage\n", ""), "");
}

TEST(DefaultParallelism, SplitsCpus) {
  EXPECT_EQ(DefaultParallelism(0.5).sessions, 1);
  EXPECT_EQ(DefaultParallelism(0.5).threads, 1);
  EXPECT_EQ(DefaultParallelism(2).threads, 2);
  EXPECT_EQ(DefaultParallelism(16).sessions, 4);
  EXPECT_EQ(DefaultParallelism(16).threads, 4);
  EXPECT_EQ(DefaultParallelism(16, 2).threads, 8);
  EXPECT_EQ(DefaultParallelism(16, 0, 2).sessions, 8);
  EXPECT_EQ(DefaultParallelism(16, 3, 5).sessions, 3);
}

TEST(CheckCpuBudget, PTimesSTimesTMustFitTheCpusRoundedUp) {
  const CpuBudget two{2.0, "affinity mask"};
  EXPECT_TRUE(CheckCpuBudget(2, {1, 1}, two).ok());
  EXPECT_TRUE(CheckCpuBudget(1, {1, 2}, two).ok());
  EXPECT_TRUE(CheckCpuBudget(1, {1, 2}, {1.5, "cgroup v2 cpu.max"}).ok()) << "1.5 CPUs: 2 threads";
  const Status s = CheckCpuBudget(1, {2, 2}, two);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("1 worker × 2 sessions × 2 threads = 4 CPUs, but this process may use 2 "
                             "(affinity mask)"),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("--oversubscribe"), std::string::npos);
  EXPECT_NE(CheckCpuBudget(4, {1, 1}, two).message().find("4 workers × 1 sessions"), std::string::npos);
}

// --pin's slices: disjoint while they fit, wrapping (shared) beyond, in the
// order of the affinity mask, whatever its CPU numbers.
TEST(CpuSlice, SlotsGetDisjointCpusWhileTheyFitAndWrapBeyond) {
  const std::vector<int> cpus = {2, 3, 5, 8};
  EXPECT_EQ(CpuSlice(cpus, 0, 2), (std::vector<int>{2, 3}));
  EXPECT_EQ(CpuSlice(cpus, 1, 2), (std::vector<int>{5, 8}));
  EXPECT_EQ(CpuSlice(cpus, 2, 2), (std::vector<int>{2, 3})) << "oversubscribed: wraps";
  EXPECT_EQ(CpuSlice(cpus, 1, 3), (std::vector<int>{2, 3, 8}));
  EXPECT_EQ(CpuSlice(cpus, 0, 9), cpus) << "never more CPUs than there are";
  EXPECT_TRUE(CpuSlice({}, 0, 1).empty());
  EXPECT_EQ(CpuListString({0, 1, 2, 3, 6}), "0-3,6");
  EXPECT_EQ(CpuListString({1}), "1");
  EXPECT_EQ(CpuListString({0, 2, 3}), "0,2-3");
}

// A pinned thread runs on what it was given, and the threads it starts
// inherit it (as an OpenMP team started by a session's thread does).
TEST(CpuSlice, APinnedThreadAndTheThreadsItStartsStayOnItsCpus) {
  const std::vector<int> allowed = AllowedCpus();
  ASSERT_FALSE(allowed.empty());
  const std::vector<int> last = {allowed.back()};
  std::vector<int> seen_by_child;
  std::thread t([&] {
    ASSERT_TRUE(PinCallingThread(last).ok());
    EXPECT_EQ(AllowedCpus(), last);
    std::thread child([&] { seen_by_child = AllowedCpus(); });
    child.join();
  });
  t.join();
  EXPECT_EQ(seen_by_child, last);
  EXPECT_EQ(AllowedCpus(), allowed) << "only the pinned thread was pinned";
  EXPECT_FALSE(PinCallingThread({-1}).ok());
}

}  // namespace
}  // namespace kamado::serving
