// libFuzzer: bytes as a compiled-model file -> ParseCompiledFile with the
// checksum off (a real reader checks it first, so mutated inputs would never
// get past it). Whatever parses must be a graph whose nodes name values that
// exist and whose weights lie inside the input.
#include <cstddef>
#include <cstdint>
#include <span>

#include "runtime/compiled_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  auto parsed = kamado::runtime::ParseCompiledFile(bytes, /*verify_checksum=*/false);
  if (!parsed.ok()) return 0;
  const kamado::ir::Graph& g = parsed->graph;
  for (kamado::ir::NodeId n = 0; n < g.num_nodes(); ++n) {
    for (kamado::ir::ValueId v : g.node(n).inputs) {
      if (v != kamado::ir::kNoValue && (v < 0 || v >= g.num_values())) __builtin_trap();
    }
  }
  for (const auto& c : parsed->constants) {
    const auto* p = static_cast<const uint8_t*>(c.data);
    if (p < data || p + c.desc.get_size() > data + size) __builtin_trap();
  }
  return 0;
}
