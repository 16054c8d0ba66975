// libFuzzer: bytes as a kamado.yaml -> ParseModelConfig; a config that parses
// must survive the round trip kamado convert makes: FormatModelConfig, then
// ParseModelConfig again gives the same config.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "model/model_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = kamado::model::ParseModelConfig(text, "kamado.yaml", "/nonexistent");
  if (!config.ok()) return 0;
  const std::string written = kamado::model::FormatModelConfig(*config);
  auto again = kamado::model::ParseModelConfig(written, "kamado.yaml", "/nonexistent");
  if (!again.ok() || !(*again == *config)) __builtin_trap();
  return 0;
}
