// Locating the fetched test data (models/, data/images/, build/reference/).
//
// Tests that need fetched data call RequireData(): when the data is missing
// they skip, except under `make test` (KAMADO_REQUIRE_TEST_DATA=1), where a
// missing file is a failure — CI must never go green by skipping.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace kamado::testing {

// A file of little-endian float32s (the zoo's and the Keras cases' inputs and
// outputs); an unreadable file fails the test and reads as empty.
inline std::vector<float> ReadFloats(const std::filesystem::path& path) {
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(path, ec);
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(!ec && in) << "cannot read " << path;
  if (ec || !in) return {};
  std::vector<float> v(bytes / sizeof(float));
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
  EXPECT_TRUE(in) << "short read of " << path;
  return v;
}

inline bool TestDataRequired() {
  const char* v = std::getenv("KAMADO_REQUIRE_TEST_DATA");
  return v != nullptr && std::string(v) == "1";
}

}  // namespace kamado::testing

// Skips (or fails under make test) the current test when `path` is missing.
#define KAMADO_REQUIRE_DATA(path)                                                          \
  do {                                                                                     \
    if (!std::filesystem::exists(path)) {                                                  \
      if (::kamado::testing::TestDataRequired()) {                                         \
        FAIL() << "missing test data " << (path) << " (run scripts/prepare-test-data.sh)"; \
      }                                                                                    \
      GTEST_SKIP() << "missing test data " << (path) << " (run scripts/prepare-test-data.sh)"; \
    }                                                                                      \
  } while (0)
