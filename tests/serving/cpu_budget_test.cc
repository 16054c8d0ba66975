#include "serving/cpu_budget.h"

#include <gtest/gtest.h>
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

}  // namespace
}  // namespace kamado::serving
