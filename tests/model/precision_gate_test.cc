#include "model/precision_gate.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

namespace kamado::model {
namespace {

namespace fs = std::filesystem;

TEST(AgreementStatsTest, CountsTop1AndDifferences) {
  AgreementStats s(2);
  EXPECT_TRUE(s.Add(std::vector<float>{0.7f, 0.2f, 0.1f}, std::vector<float>{0.6f, 0.3f, 0.1f}));
  EXPECT_FALSE(s.Add(std::vector<float>{0.1f, 0.5f, 0.4f}, std::vector<float>{0.1f, 0.4f, 0.5f}));
  EXPECT_EQ(s.photos(), 2);
  EXPECT_DOUBLE_EQ(s.top1_agreement(), 0.5);
  EXPECT_NEAR(s.max_abs_dp(), 0.1, 1e-6);
  EXPECT_NEAR(s.mean_abs_dp(), (0.1 + 0.1 + 0 + 0 + 0.1 + 0.1) / 6, 1e-6);
  EXPECT_EQ(s.reference_classes(), 2);  // classes 0 and 1
  EXPECT_DOUBLE_EQ(s.topk_overlap(), 1.0);  // each photo: the same two best classes
}

TEST(AgreementStatsTest, TopKOverlapIsTheSharedShare) {
  AgreementStats s(2);
  s.Add(std::vector<float>{0.5f, 0.3f, 0.2f, 0.0f}, std::vector<float>{0.5f, 0.0f, 0.2f, 0.3f});
  EXPECT_DOUBLE_EQ(s.topk_overlap(), 0.5);  // {0,1} against {0,3}
}

TEST(GateTest, JudgeNamesEveryReasonItFails) {
  AgreementStats s;
  for (int i = 0; i < 10; ++i) {
    s.Add(std::vector<float>{0.9f, 0.1f}, std::vector<float>{i < 2 ? 0.4f : 0.88f, i < 2 ? 0.6f : 0.12f});
  }
  const GateResult r = Judge(s, 2, runtime::Precision::kBf16, DefaultThresholds(runtime::Precision::kBf16));
  EXPECT_FALSE(r.passed);
  ASSERT_EQ(r.failures.size(), 4u);
  EXPECT_NE(r.failures[0].find("10 photos, fewer than 50"), std::string::npos) << r.failures[0];
  EXPECT_NE(r.failures[1].find("covers 1 classes"), std::string::npos) << r.failures[1];
  EXPECT_NE(r.failures[2].find("top-1 agreement 80% < 99%"), std::string::npos) << r.failures[2];
  EXPECT_NE(r.failures[3].find("mean |dp|"), std::string::npos) << r.failures[3];
  EXPECT_EQ(r.topk_overlap, -1);  // two classes: not measured

  GateThresholds loose = DefaultThresholds(runtime::Precision::kInt8);
  EXPECT_DOUBLE_EQ(loose.min_top1_agreement, 0.98);
  EXPECT_DOUBLE_EQ(loose.max_mean_abs_dp, 0.02);
  AgreementStats good;
  for (int i = 0; i < 60; ++i) {
    const float a = i % 2 ? 0.8f : 0.2f;
    good.Add(std::vector<float>{a, 1 - a}, std::vector<float>{a + 0.005f, 1 - a - 0.005f});
  }
  const GateResult ok = Judge(good, 2, runtime::Precision::kInt8, loose);
  EXPECT_TRUE(ok.passed) << (ok.failures.empty() ? "" : ok.failures[0]);
}

TEST(GateTest, TheFileKeepsOneEntryPerPrecisionAndIsaAndServeChecksIt) {
  const fs::path dir = fs::temp_directory_path() / ("kamado_gate_test_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  Status never = CheckGate(dir, runtime::Precision::kBf16, "avx512_core_amx", "h1");
  EXPECT_EQ(never.code(), StatusCode::kUnsupported);
  EXPECT_NE(never.message().find("never gated on this CPU (avx512_core_amx)"), std::string::npos) << never.message();
  EXPECT_TRUE(CheckGate(dir, runtime::Precision::kFp32, "avx2", "h1").ok());

  GateResult r;
  r.precision = "bf16";
  r.isa = "avx512_core_amx";
  r.model_hash = "h1";
  r.photos = 100;
  r.passed = true;
  ASSERT_TRUE(WriteGate(dir, r).ok());
  GateResult other = r;
  other.isa = "avx512_core_bf16";
  other.passed = false;
  other.failures = {"top-1 agreement 90% < 99%"};
  ASSERT_TRUE(WriteGate(dir, other).ok());

  auto back = ReadGate(dir, "bf16", "avx512_core_amx");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->photos, 100);
  EXPECT_TRUE(back->passed);
  EXPECT_TRUE(CheckGate(dir, runtime::Precision::kBf16, "avx512_core_amx", "h1").ok());
  Status changed = CheckGate(dir, runtime::Precision::kBf16, "avx512_core_amx", "h2");
  EXPECT_NE(changed.message().find("measured on other model files"), std::string::npos) << changed.message();
  Status failed = CheckGate(dir, runtime::Precision::kBf16, "avx512_core_bf16", "h1");
  EXPECT_NE(failed.message().find("failed its gate on avx512_core_bf16 (top-1 agreement 90% < 99%)"),
            std::string::npos)
      << failed.message();
  EXPECT_FALSE(ReadGate(dir, "int8", "avx512_core_amx").ok());
  fs::remove_all(dir);
}

// A gate entry's counts must be whole numbers an int holds: 1e300 was
// converted to int as it stood (undefined; found by fuzz_written_files).
TEST(GateTest, AnEntryWithACountNoIntHoldsIsRefusedNamingTheField) {
  GateResult r;
  r.photos = 50;
  nlohmann::json j = GateToJson(r);
  ASSERT_TRUE(GateFromJson(j).ok());
  for (const nlohmann::json& bad : {nlohmann::json(1e300), nlohmann::json(2.5), nlohmann::json(uint64_t{1} << 40),
                                    nlohmann::json(-(int64_t{1} << 40))}) {
    j["photos"] = bad;
    auto back = GateFromJson(j);
    ASSERT_FALSE(back.ok()) << bad.dump();
    EXPECT_NE(back.status().message().find("'photos' is not a whole number an int holds"), std::string::npos)
        << back.status().message();
  }
  j["photos"] = 50;
  j["thresholds"]["min_classes"] = 1e300;
  EXPECT_FALSE(GateFromJson(j).ok());
}

TEST(GateTest, FastestPrefersTheEarlierOnATie) {
  using runtime::Precision;
  EXPECT_EQ(Fastest({{Precision::kFp32, 30}, {Precision::kBf16, 8}}), Precision::kBf16);
  EXPECT_EQ(Fastest({{Precision::kFp32, 5}, {Precision::kBf16, 8}}), Precision::kFp32);
  EXPECT_EQ(Fastest({{Precision::kFp32, 5}, {Precision::kBf16, 5}}), Precision::kFp32);
  EXPECT_EQ(Fastest({{Precision::kFp32, 5}}), Precision::kFp32);
}

}  // namespace
}  // namespace kamado::model
