// libFuzzer: the readers of the JSON files kamado writes itself and reads
// back — a model's .kamado/gate.json entries (`kamado compare` writes them,
// `serve` reads them before serving bf16/int8), quantization.json (`kamado
// quantize` → every int8 load), a `kamado tune --json` result (→ `kamado
// cost --from-tune`) — and the YAML `kamado cost` reads beside them (a
// profile, the instance catalog). The first byte picks the reader; seeds:
// fuzz/seeds/written/ (fuzz/seeds/make_written_seeds.py). Nothing may crash or be undefined; what a JSON reader
// accepts must survive a round trip through its writer unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

#include "cost/catalog.h"
#include "cost/cost_inputs.h"
#include "model/precision_gate.h"
#include "model/quant_table_json.h"

using namespace kamado;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0: {
      const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
      if (j.is_discarded()) return 0;
      auto gate = model::GateFromJson(j);
      if (gate.ok() && model::GateToJson(*gate) != model::GateToJson(*model::GateFromJson(model::GateToJson(*gate)))) {
        std::abort();
      }
      break;
    }
    case 1: {
      const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
      if (j.is_discarded()) return 0;
      auto table = model::QuantTableFromJson(j);
      if (!table.ok()) return 0;
      auto again = model::QuantTableFromJson(model::QuantTableToJson(*table));
      if (!again.ok() || again->activations.size() != table->activations.size() ||
          again->weight_max != table->weight_max) {
        std::abort();
      }
      break;
    }
    case 2:
      (void)cost::ParseTuneSummary(text, "tune.json");
      break;
    case 3:
      (void)cost::ParseProfile(text, "profile.yaml");
      break;
    default:
      (void)cost::ParseCatalog(text, "instances.yaml");
      break;
  }
  return 0;
}
