// The quantization table's file (quantization.json, written by `kamado
// quantize`, read when an int8 model loads): JSON to and from
// runtime::QuantTable. Apart from quantize.h so that its reader can be fuzzed
// without the runtime (fuzz/fuzz_written_json.cc).
#pragma once

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "runtime/quantization.h"

namespace kamado::model {

nlohmann::json QuantTableToJson(const runtime::QuantTable& table);
// The inverse; errors name the field.
Result<runtime::QuantTable> QuantTableFromJson(const nlohmann::json& j);

}  // namespace kamado::model
