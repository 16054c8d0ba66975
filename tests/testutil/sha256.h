// A plain SHA-256 (FIPS 180-4) for test fixtures: the TF.js reference files
// are named by the SHA-256 of the image they were made from.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace kamado::testing {

// Lower-case hex digest of `data`.
std::string Sha256Hex(std::span<const uint8_t> data);

}  // namespace kamado::testing
