#include "model/quant_table_json.h"

#include <cmath>

namespace kamado::model {

nlohmann::json QuantTableToJson(const runtime::QuantTable& table) {
  nlohmann::json j;
  j["version"] = 1;
  nlohmann::json acts = nlohmann::json::object();
  for (const auto& [name, r] : table.activations) acts[name] = {{"max", r.max}, {"unsigned", r.is_unsigned}};
  j["activations"] = acts;
  nlohmann::json w = nlohmann::json::object();
  for (const auto& [name, m] : table.weight_max) w[name] = m;
  j["weight_max"] = w;
  return j;
}

Result<runtime::QuantTable> QuantTableFromJson(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("version") || j["version"] != 1) {
    return InvalidArgument("not a version-1 quantization table (field 'version')");
  }
  runtime::QuantTable t;
  if (!j.contains("activations") || !j["activations"].is_object()) {
    return InvalidArgument("field 'activations' must be an object");
  }
  for (const auto& [name, r] : j["activations"].items()) {
    if (!r.is_object() || !r.contains("max") || !r["max"].is_number() || !r.contains("unsigned") ||
        !r["unsigned"].is_boolean()) {
      return InvalidArgument("field 'activations." + name + "' must be {max: number, unsigned: bool}");
    }
    const float max = r["max"].get<float>();
    if (!(max >= 0.0f) || !std::isfinite(max)) {
      return InvalidArgument("field 'activations." + name + ".max' must be a finite number >= 0");
    }
    t.activations[name] = {max, r["unsigned"].get<bool>()};
  }
  if (!j.contains("weight_max") || !j["weight_max"].is_object()) {
    return InvalidArgument("field 'weight_max' must be an object");
  }
  for (const auto& [name, m] : j["weight_max"].items()) {
    if (!m.is_array()) return InvalidArgument("field 'weight_max." + name + "' must be an array");
    std::vector<float> v;
    for (const auto& x : m) {
      if (!x.is_number() || !(x.get<float>() >= 0.0f) || !std::isfinite(x.get<float>())) {
        return InvalidArgument("field 'weight_max." + name + "' must hold finite numbers >= 0");
      }
      v.push_back(x.get<float>());
    }
    t.weight_max[name] = std::move(v);
  }
  return t;
}

}  // namespace kamado::model
