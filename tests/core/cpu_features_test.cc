#include "core/cpu_features.h"

#include <gtest/gtest.h>

namespace kamado {
namespace {

// Two processors as Linux writes them (trimmed): only the first is read.
constexpr const char* kIntel = R"(processor	: 0
vendor_id	: GenuineIntel
cpu family	: 6
model		: 207
model name	: INTEL(R) XEON(R) PLATINUM 8581C CPU @ 2.10GHz
flags		: fpu sse sse2 avx avx2 fma avx512f avx512bw avx512vl avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8

processor	: 1
vendor_id	: SomethingElse
flags		: fpu
)";

constexpr const char* kZen3 = R"(processor	: 0
vendor_id	: AuthenticAMD
cpu family	: 25
model		: 1
model name	: AMD EPYC 7B13
flags		: fpu sse sse2 avx avx2 fma
)";

TEST(CpuFeaturesTest, ReadsTheFirstProcessorsModelAndFlags) {
  auto f = ParseCpuInfo(kIntel);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->vendor, "GenuineIntel");
  EXPECT_EQ(f->family, 6);
  EXPECT_EQ(f->model, 207);
  EXPECT_EQ(f->model_name, "INTEL(R) XEON(R) PLATINUM 8581C CPU @ 2.10GHz");
  EXPECT_TRUE(f->Has("amx_bf16"));
  EXPECT_TRUE(f->Has("avx512_vnni"));
  EXPECT_FALSE(f->Has("avx_vnni"));

  auto z = ParseCpuInfo(kZen3);
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(z->family, 25);
  EXPECT_TRUE(z->Has("avx2"));
  EXPECT_TRUE(z->Has("fma"));
  for (const char* absent : {"avx512f", "avx512_bf16", "amx_int8"}) EXPECT_FALSE(z->Has(absent));
}

TEST(CpuFeaturesTest, TextWithoutFlagsIsAnError) {
  auto f = ParseCpuInfo("processor : 0\nvendor_id : X\n");
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("no 'flags' line"), std::string::npos);
}

TEST(CpuFeaturesTest, ThisMachinesCpuinfoHasTheBaselineKamadoNeeds) {
  auto f = ReadCpuFeatures();
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_FALSE(f->model_name.empty());
  // Both machine kinds (Zen 3, Emerald Rapids) have AVX2 and FMA.
  EXPECT_TRUE(f->Has("avx2"));
  EXPECT_TRUE(f->Has("fma"));
}

}  // namespace
}  // namespace kamado
