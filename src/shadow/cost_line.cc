#include "shadow/cost_line.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace kamado::shadow {

Result<CostLine> ParseCostLine(std::string_view text, std::string_view file,
                               const std::string& a_fleet, const std::string& b_fleet) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  auto bad = [&](const std::string& what) {
    return InvalidArgument(
        fmt::format("{}: {} (expected the output of kamado cost --format json)", file, what));
  };
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  auto fleets = j.find("fleets");
  if (fleets == j.end() || !fleets->is_array() || fleets->empty()) return bad("no 'fleets'");
  CostLine line;
  line.command = j.value("command", "");
  for (const auto& f : *fleets) {
    if (!f.is_object() || !f.contains("name") || !f["name"].is_string() ||
        !f.contains("usd_month") || !f["usd_month"].is_number()) {
      return bad("a fleet without 'name' and 'usd_month'");
    }
    FleetCost c;
    c.name = f["name"].get<std::string>();
    c.type = f.value("type", c.name);
    c.peak_replicas = f.value("peak_replicas", 0);
    c.capacity_rps = f.value("capacity_rps", 0.0);
    c.usd_month = f["usd_month"].get<double>();
    line.fleets.push_back(c);
  }
  auto find = [&](const std::string& name) -> const FleetCost* {
    for (const auto& f : line.fleets) {
      if (f.name == name) return &f;
    }
    return nullptr;
  };
  const std::string a_name = !a_fleet.empty() ? a_fleet : j.value("baseline", "");
  if (a_name.empty()) return bad("no 'baseline': name A's fleet (--a-fleet)");
  const FleetCost* a = find(a_name);
  if (!a) return bad("no fleet '" + a_name + "'");
  const FleetCost* b = nullptr;
  if (!b_fleet.empty()) {
    b = find(b_fleet);
    if (!b) return bad("no fleet '" + b_fleet + "'");
  } else {
    for (const auto& f : line.fleets) {
      if (f.name != a->name && (!b || f.usd_month < b->usd_month)) b = &f;
    }
    if (!b) return bad("only one fleet: name B's (--b-fleet)");
  }
  line.a = *a;
  line.b = *b;
  return line;
}

}  // namespace kamado::shadow
