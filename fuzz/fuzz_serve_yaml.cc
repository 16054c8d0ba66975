// libFuzzer: bytes as a serve.yaml -> ParseServeConfig -> ValidateServeConfig.
// Any error is fine; a crash, hang or exception is not.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "serving/serve_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kamado::serving::ServeConfig config;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (kamado::serving::ParseServeConfig(text, "serve.yaml", config).ok()) {
    (void)kamado::serving::ValidateServeConfig(config);
  }
  return 0;
}
