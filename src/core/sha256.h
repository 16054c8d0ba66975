// SHA-256 (OpenSSL's libcrypto, which uses the CPU's SHA extensions), for
// content keys and file checksums.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace kamado {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(const void* data, size_t bytes);
  // The 32-byte digest; the object is spent after.
  std::string Final();

 private:
  void* ctx_;  // EVP_MD_CTX
};

// The 32-byte digest of `bytes`.
std::string Sha256Of(std::span<const uint8_t> bytes);
// Lower-case hex of any bytes.
std::string ToHex(const std::string& bytes);

}  // namespace kamado
