// The compiled-model file: what is written is what is served (bitwise the
// same outputs, no weight reordered again), and a file that is stale,
// truncated, corrupt or foreign is refused with a reason, never trusted.
#include "runtime/compiled_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "core/file_util.h"
#include "runtime/session.h"
#include "small_cnn.h"

namespace kamado::runtime {
namespace {

namespace fs = std::filesystem;

class CompiledFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kamado_compiled_file_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    CompileOptions o;
    o.threads = 1;
    auto m = CompiledModel::Compile(SmallCnn(), o);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model_ = *m;
    key_ = CurrentCompiledFileKey("model-hash", {1, 2, 3}, 1, true);
    path_ = dir_ / "small.kmc";
    ASSERT_TRUE(WriteCompiledFile(*model_, key_, path_).ok());
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Bytes() {
    auto s = ReadFile(path_);
    EXPECT_TRUE(s.ok());
    return s.ok() ? *s : "";
  }
  void Put(const std::string& bytes) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << bytes;
  }

  fs::path dir_, path_;
  std::shared_ptr<const CompiledModel> model_;
  CompiledFileKey key_;
};

TEST_F(CompiledFileTest, ALoadedModelGivesTheSameAnswersWithoutReorderingAnyWeight) {
  auto loaded = LoadCompiledFile(path_, key_);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const size_t in_file = (*loaded)->ReorderedConstants().size();
  EXPECT_EQ(in_file, model_->ReorderedConstants().size());
  std::mt19937 rng(3);
  Session a(model_, {.threads = 1}), b(*loaded, {.threads = 1});
  for (int64_t batch : {1, 2, 3}) {
    const Tensor x = Random({batch, 16, 16, 3}, rng);
    auto want = a.Run({x});
    auto got = b.Run({x});
    ASSERT_TRUE(want.ok() && got.ok()) << got.status().ToString();
    EXPECT_TRUE(BitwiseEqual(want->front(), got->front())) << "batch " << batch;
  }
  // Every plan of the key found its weights in the file: none was added.
  EXPECT_EQ((*loaded)->ReorderedConstants().size(), in_file);
  EXPECT_EQ((*loaded)->inputs().front().shape, model_->inputs().front().shape);
  EXPECT_EQ((*loaded)->graph().name, "small_cnn");
}

TEST_F(CompiledFileTest, AStaleKeyIsRefusedNamingWhatDiffers) {
  auto other_threads = key_;
  other_threads.threads = 2;
  auto r = LoadCompiledFile(path_, other_threads);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("stale compiled file: threads 1, not 2"), std::string::npos)
      << r.status().message();
  auto other_model = key_;
  other_model.model_hash = "another";
  r = LoadCompiledFile(path_, other_model);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("model files hash"), std::string::npos) << r.status().message();
  auto other_build = key_;
  other_build.build += "x";
  r = LoadCompiledFile(path_, other_build);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("kamado build"), std::string::npos) << r.status().message();
  auto other_batches = key_;
  other_batches.batches = {1, 2, 3, 4};
  r = LoadCompiledFile(path_, other_batches);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("batch sizes [1,2,3], not [1,2,3,4]"), std::string::npos)
      << r.status().message();
}

TEST_F(CompiledFileTest, EveryTruncationIsRefused) {
  const std::string full = Bytes();
  ASSERT_GT(full.size(), 4096u);
  for (size_t n : {size_t{0}, size_t{7}, size_t{16}, size_t{100}, full.size() / 3, full.size() / 2,
                   full.size() - 33, full.size() - 1}) {
    Put(full.substr(0, n));
    auto r = LoadCompiledFile(path_, key_);
    ASSERT_FALSE(r.ok()) << "truncated to " << n;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  }
}

TEST_F(CompiledFileTest, AFlippedByteAnywhereIsRefusedByTheChecksum) {
  const std::string full = Bytes();
  std::mt19937 rng(9);
  for (int i = 0; i < 20; ++i) {
    std::string bad = full;
    const size_t at = std::uniform_int_distribution<size_t>(8, full.size() - 1)(rng);
    bad[at] = static_cast<char>(bad[at] ^ 0x5a);
    Put(bad);
    auto r = LoadCompiledFile(path_, key_);
    ASSERT_FALSE(r.ok()) << "byte " << at;
    EXPECT_NE(r.status().message().find("checksum"), std::string::npos) << r.status().message();
  }
}

TEST_F(CompiledFileTest, TheParserRefusesCorruptMetadataWithoutTheChecksum) {
  // What the fuzzer does: mutate the metadata, skip the checksum. Every
  // mutation must give an error or a well-formed graph, never a crash.
  const std::string full = Bytes();
  std::mt19937 rng(4);
  int refused = 0;
  for (int i = 0; i < 300; ++i) {
    std::string bad = full;
    const size_t at = std::uniform_int_distribution<size_t>(8, 4095)(rng);
    bad[at] = static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
    auto r = ParseCompiledFile(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bad.data()), bad.size()), false);
    if (!r.ok()) {
      ++refused;
      EXPECT_NE(r.status().message().find("compiled file"), std::string::npos) << r.status().message();
    }
  }
  EXPECT_GT(refused, 0);
}

TEST_F(CompiledFileTest, AForeignOrMissingFileIsRefused) {
  Put(std::string("\x89PNG\r\n\x1a\n", 8) + std::string(5000, 'x'));
  auto r = LoadCompiledFile(path_, key_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not a kamado compiled file"), std::string::npos)
      << r.status().message();
  r = LoadCompiledFile(dir_ / "absent.kmc", key_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  r = LoadCompiledFile(dir_, key_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not a regular file"), std::string::npos);
}

// The metadata is compact and the weights padded only to 4 KiB: the small
// model's file stays small. Also the fuzzer's seed (fuzz/run.sh).
TEST_F(CompiledFileTest, ASmallModelsFileIsSmall) {
  const auto bytes = fs::file_size(path_);
  EXPECT_LT(bytes, size_t{128} << 10);
  if (const char* dir = std::getenv("KAMADO_FUZZ_SEEDS")) {
    fs::create_directories(dir);
    fs::copy_file(path_, fs::path(dir) / "small_cnn.kmc", fs::copy_options::overwrite_existing);
  }
}

TEST_F(CompiledFileTest, TheKeyNamesThisBuildOneDnnAndIsa) {
  EXPECT_NE(key_.build.find("elf "), std::string::npos) << key_.build;
  EXPECT_EQ(key_.build.find("elf none"), std::string::npos) << key_.build;
  EXPECT_EQ(key_.onednn.rfind("2.", 0), 0u) << key_.onednn;
  EXPECT_FALSE(key_.isa.empty());
  EXPECT_EQ(key_.precision, "fp32");
}

// A bf16 model's file holds bf16 weights, loads back as a bf16 model that
// answers as the in-memory one does, and is stale for an fp32 key.
TEST_F(CompiledFileTest, ABf16ModelRoundTripsAndIsStaleForFp32) {
  if (!CheckPrecisionSupported(Precision::kBf16).ok()) {
    GTEST_SKIP() << "bf16 needs AVX512-BF16 or AMX-BF16: " << PrecisionEngine(Precision::kBf16);
  }
  CompileOptions o;
  o.threads = 1;
  o.precision = Precision::kBf16;
  auto m = CompiledModel::Compile(SmallCnn(), o);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const CompiledFileKey key = CurrentCompiledFileKey("model-hash", {1, 2}, 1, true, Precision::kBf16);
  EXPECT_EQ(key.precision, "bf16");
  const fs::path path = dir_ / "small.bf16.kmc";
  EXPECT_FALSE(WriteCompiledFile(**m, key_, path).ok());  // an fp32 key for a bf16 model
  ASSERT_TRUE(WriteCompiledFile(**m, key, path).ok());
  auto loaded = LoadCompiledFile(path, key);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ((*loaded)->precision(), Precision::kBf16);
  bool any_bf16 = false;
  for (const auto& [v, mem] : (*loaded)->ReorderedConstants()) {
    any_bf16 |= mem.get_desc().data_type() == dnnl::memory::data_type::bf16;
  }
  EXPECT_TRUE(any_bf16);
  std::mt19937 rng(4);
  Session a(*m, {.threads = 1}), b(*loaded, {.threads = 1});
  const Tensor input = Random({2, 16, 16, 3}, rng);
  auto x = a.Run({input});
  auto y = b.Run({input});
  ASSERT_TRUE(x.ok() && y.ok());
  for (int64_t i = 0; i < x->front().size(); ++i) ASSERT_EQ(x->front()[i], y->front()[i]);
  CompiledFileKey fp32 = key;
  fp32.precision = "fp32";
  auto stale = LoadCompiledFile(path, fp32);
  ASSERT_FALSE(stale.ok());
  EXPECT_NE(stale.status().message().find("precision bf16, not fp32"), std::string::npos)
      << stale.status().message();
}

}  // namespace
}  // namespace kamado::runtime
