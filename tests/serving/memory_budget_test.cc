#include "serving/memory_budget.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "model/model_config.h"
#include "model/model_loader.h"
#include "testutil/test_data.h"

namespace kamado::serving {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kMachine = int64_t{24} << 30;

class MemoryBudgetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("kamado_memcg_" + std::to_string(::getpid()));
    fs::create_directories(root_ / "memory");
  }
  void TearDown() override { fs::remove_all(root_); }
  void Write(const fs::path& rel, const std::string& text) {
    fs::create_directories((root_ / rel).parent_path());
    std::ofstream(root_ / rel) << text;
  }
  fs::path root_;
};

TEST_F(MemoryBudgetTest, ReadsV1AtTheRootAsAContainerSeesIt) {
  Write("memory/memory.limit_in_bytes", "134217728\n");
  const auto limit = DetectMemoryLimit(root_, "4:memory:/libpod_parent/abc\n", kMachine);
  ASSERT_TRUE(limit.has_value());
  EXPECT_EQ(limit->bytes, 134217728);
  EXPECT_EQ(limit->source, "cgroup v1 memory.limit_in_bytes");
}

TEST_F(MemoryBudgetTest, OwnCgroupComesBeforeTheRoot) {
  Write("memory/memory.limit_in_bytes", "9223372036854771712\n");  // v1's "no limit"
  Write("memory/jobs/one/memory.limit_in_bytes", "536870912\n");
  const auto limit = DetectMemoryLimit(root_, "5:cpu,cpuacct:/\n4:memory:/jobs/one\n", kMachine);
  ASSERT_TRUE(limit.has_value());
  EXPECT_EQ(limit->bytes, 536870912);
}

// memory.max is hierarchical: a pod's limit binds the container below it
// that has none of its own, and the tightest level wins.
TEST_F(MemoryBudgetTest, AParentsLimitBindsTooAndTheTightestWins) {
  Write("kubepods/pod1/memory.max", "1073741824\n");
  Write("kubepods/pod1/ctr/memory.max", "max\n");
  auto limit = DetectMemoryLimit(root_, "0::/kubepods/pod1/ctr\n", kMachine);
  ASSERT_TRUE(limit.has_value()) << "the pod's 1 GiB, though the container's own file says max";
  EXPECT_EQ(limit->bytes, 1073741824);
  Write("kubepods/pod1/ctr/memory.max", "268435456\n");
  limit = DetectMemoryLimit(root_, "0::/kubepods/pod1/ctr\n", kMachine);
  ASSERT_TRUE(limit.has_value());
  EXPECT_EQ(limit->bytes, 268435456);
  Write("kubepods/pod1/ctr/memory.max", "2147483648\n");
  limit = DetectMemoryLimit(root_, "0::/kubepods/pod1/ctr\n", kMachine);
  ASSERT_TRUE(limit.has_value());
  EXPECT_EQ(limit->bytes, 1073741824) << "the pod's 1 GiB is tighter than the container's 2 GiB";
}

TEST_F(MemoryBudgetTest, NoLimitOrOneAboveTheMachineIsNone) {
  Write("memory/memory.limit_in_bytes", "9223372036854771712\n");
  EXPECT_FALSE(DetectMemoryLimit(root_, "4:memory:/\n", kMachine).has_value());
  Write("memory.max", "max\n");
  EXPECT_FALSE(DetectMemoryLimit(root_, "0::/\n", kMachine).has_value());
}

TEST_F(MemoryBudgetTest, ReadsV2MemoryMax) {
  Write("kubepods/pod1/memory.max", "1073741824\n");
  const auto limit = DetectMemoryLimit(root_, "0::/kubepods/pod1\n", kMachine);
  ASSERT_TRUE(limit.has_value());
  EXPECT_EQ(limit->bytes, 1073741824);
  EXPECT_EQ(limit->source, "cgroup v2 memory.max");
}

TEST(MemoryEstimate, MobileNetV2FromItsManifestAndARefusalWithTheNumbers) {
  KAMADO_REQUIRE_DATA("models/mobilenet_v2/kamado.yaml");
  auto e = EstimateServeMemory({"models/mobilenet_v2"});
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  ASSERT_EQ(e->weights.size(), 1u);
  // The manifest's shapes against what the importer really loads (stored as
  // uint8 in the TF.js file, fp32 once imported): the same bytes, within the
  // few small constants an importer adds.
  auto config = model::LoadModelConfig("models/mobilenet_v2");
  ASSERT_TRUE(config.ok());
  auto graph = model::ImportModel(*config);
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  int64_t imported = 0;
  for (ir::ValueId v = 0; v < graph->num_values(); ++v) {
    if (graph->value(v).constant) imported += graph->value(v).constant->size() * 4;
  }
  EXPECT_NEAR(static_cast<double>(e->weights[0].second), static_cast<double>(imported), 0.01 * imported);
  EXPECT_GT(e->weights[0].second, 4 * std::filesystem::file_size("models/mobilenet_v2/group1-shard1of1.bin") * 9 / 10);
  EXPECT_EQ(e->bytes, kServeBaseBytes + 2 * e->weights[0].second);
  EXPECT_TRUE(CheckMemoryBudget(*e, {e->bytes, "test"}).ok());
  const Status s = CheckMemoryBudget(*e, {int64_t{32} << 20, "cgroup v1 memory.limit_in_bytes"});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("32 MiB (cgroup v1 memory.limit_in_bytes)"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("models/mobilenet_v2"), std::string::npos) << s.message();
}

// A manifest whose shapes' product does not fit in 64 bits is refused (it
// was multiplied as it stood: signed overflow).
TEST(MemoryEstimate, AManifestOverSixtyFourBitsIsRefused) {
  KAMADO_REQUIRE_DATA("models/mobilenet_v2/kamado.yaml");
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("kamado_manifest_test_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file("models/mobilenet_v2/kamado.yaml", dir / "kamado.yaml");
  auto config = model::LoadModelConfig(dir);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  std::ofstream(dir / config->file)
      << R"({"weightsManifest":[{"weights":[{"name":"w","shape":[4294967296,4294967296],"dtype":"float32"}]}]})";
  auto e = EstimateServeMemory({dir});
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("more bytes than fit in 64 bits"), std::string::npos) << e.status().message();
  std::filesystem::remove_all(dir);
}

TEST(MemoryEstimate, MissingModelNamesIt) {
  auto e = EstimateServeMemory({"no/such/model"});
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("no/such/model"), std::string::npos) << e.status().message();
}

}  // namespace
}  // namespace kamado::serving
