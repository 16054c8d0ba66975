// Runs DecodeImage over every file of tests/data/bad/ (made by
// tests/data/make_bad_corpus.py) and checks the error its MANIFEST.tsv names.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/file_util.h"
#include "image/decode.h"
#include "testutil/manifest.h"

namespace kamado::image {
namespace {

namespace fs = std::filesystem;

const fs::path kCorpus = "tests/data/bad";

struct Case {
  std::string file, code, needle;
};

std::vector<Case> ReadManifest() {
  std::vector<Case> cases;
  for (auto& row : testing::ReadManifestRows(kCorpus / "MANIFEST.tsv")) {
    row.resize(3);
    cases.push_back({row[0], row[1], row[2]});
  }
  return cases;
}

std::string CodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kInvalidArgument:
      return "InvalidArgument";
    case StatusCode::kUnsupported:
      return "Unsupported";
    default:
      return "other(" + std::to_string(static_cast<int>(code)) + ")";
  }
}

TEST(BadCorpus, EveryFileGivesItsExpectedError) {
  const std::vector<Case> cases = ReadManifest();
  ASSERT_GE(cases.size(), 25u) << "missing or short " << kCorpus / "MANIFEST.tsv";
  std::set<std::string> listed;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file);
    listed.insert(c.file);
    auto bytes = ReadFile(kCorpus / c.file);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    auto r = DecodeImage({reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()});
    ASSERT_FALSE(r.ok()) << "decoded to " << r->width << "x" << r->height;
    EXPECT_EQ(CodeName(r.status().code()), c.code) << r.status().ToString();
    EXPECT_NE(r.status().message().find(c.needle), std::string::npos)
        << "message '" << r.status().message() << "' lacks '" << c.needle << "'";
    EXPECT_EQ(r.status().message().find('\n'), std::string::npos) << "not one line";
  }
  for (const auto& entry : fs::directory_iterator(kCorpus)) {
    const std::string name = entry.path().filename().string();
    if (name != "MANIFEST.tsv") {
      EXPECT_TRUE(listed.count(name)) << name << " not in the manifest";
    }
  }
}

}  // namespace
}  // namespace kamado::image
