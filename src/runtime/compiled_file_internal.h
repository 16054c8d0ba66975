// Shared by the compiled-file writer (compiled_file.cc) and its parser
// (compiled_file_parse.cc, which the fuzzer builds without the runtime).
#pragma once

#include <cstddef>
#include <cstdint>

namespace kamado::runtime::compiled_file_internal {

inline constexpr char kMagic[8] = {'K', 'A', 'M', 'A', 'D', 'O', 'C', 1};
inline constexpr size_t kAlign = 4096;
inline constexpr size_t kDigestBytes = 32;
// Bounds the parser holds every count to, far above any real model, so a
// corrupt count fails at once instead of reserving gigabytes.
inline constexpr uint64_t kMaxCount = 1 << 22;
inline constexpr uint64_t kMaxString = 1 << 16;
inline constexpr uint32_t kMaxRank = 8;

inline size_t AlignUp(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }
}  // namespace kamado::runtime::compiled_file_internal
