#include "cost/cost_inputs.h"

#include <charconv>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cost/yaml_fields.h"
#include "model/yaml_errors.h"

namespace kamado::cost {
namespace {

using internal::Fields;

constexpr double kMaxRps = 1e9;

// hourly_rps: [24] or peak_rps: R, from a mapping that has one of them.
Result<HourlyRates> ParseRates(const Fields& f) {
  HourlyRates rates{};
  if (f.Has("hourly_rps") && f.Has("peak_rps")) return f.Error("peak_rps", "and hourly_rps are both set: give one");
  if (!f.Has("hourly_rps") && !f.Has("peak_rps")) {
    return model::YamlError(f.file(), f.mark(),
                            f.what() + " has no traffic: give 'hourly_rps' (24 rates) or 'peak_rps'");
  }
  if (f.Has("peak_rps")) {
    ASSIGN_OR_RETURN(double peak, f.Number("peak_rps", 0, kMaxRps));
    rates.fill(peak);
    return rates;
  }
  ASSIGN_OR_RETURN(std::vector<double> hours, f.Numbers("hourly_rps", kHoursPerDay, 0, kMaxRps));
  std::copy(hours.begin(), hours.end(), rates.begin());
  return rates;
}

const std::vector<std::string_view> kFleetKeys = {
    "name",        "type",       "region",     "capacity_rps", "capacity_latency_s", "capacity_source",
    "spot_share", "n_plus_one", "shared",     "min_replicas", "target_utilisation"};

Result<FleetSpec> ParseFleet(const YAML::Node& node, const YAML::Mark& where, std::string_view file,
                             const std::string& what) {
  ASSIGN_OR_RETURN(Fields f, Fields::Open(node, where, file, what, kFleetKeys));
  FleetSpec s;
  s.line = f.mark().line + 1;
  ASSIGN_OR_RETURN(s.type, f.String("type"));
  ASSIGN_OR_RETURN(s.name, f.String("name", s.type));
  if (f.Has("region")) {
    ASSIGN_OR_RETURN(std::string region, f.String("region"));
    s.region = region;
  }
  if (f.Has("capacity_rps") && f.Has("capacity_latency_s")) {
    return f.Error("capacity_latency_s", "and capacity_rps are both set: give one");
  }
  if (f.Has("capacity_rps") || f.Has("capacity_latency_s")) {
    Capacity c;
    if (f.Has("capacity_rps")) {
      ASSIGN_OR_RETURN(c.rps, f.Number("capacity_rps", 1e-9, kMaxRps));
    } else {
      ASSIGN_OR_RETURN(double s_per_image, f.Number("capacity_latency_s", 1e-9, 1e6));
      c.rps = 1 / s_per_image;
    }
    ASSIGN_OR_RETURN(c.source, f.String("capacity_source", std::string("stated in ") + std::string(file)));
    s.capacity = c;
  } else if (f.Has("capacity_source")) {
    return f.Error("capacity_source", "is set without capacity_rps or capacity_latency_s");
  }
  if (f.Has("target_utilisation")) {
    ASSIGN_OR_RETURN(double u, f.Number("target_utilisation", 0.01, 1));
    s.target_utilisation = u;
  }
  if (f.Has("spot_share")) {
    ASSIGN_OR_RETURN(double v, f.Number("spot_share", 0, 1));
    s.spot_share = v;
  }
  if (f.Has("n_plus_one")) {
    ASSIGN_OR_RETURN(bool v, f.Bool("n_plus_one"));
    s.n_plus_one = v;
  }
  if (f.Has("shared")) {
    ASSIGN_OR_RETURN(bool v, f.Bool("shared"));
    s.shared = v;
  }
  if (f.Has("min_replicas")) {
    ASSIGN_OR_RETURN(int v, f.Integer("min_replicas", 0, 100000));
    s.min_replicas = v;
  }
  return s;
}

Result<double> JsonNumber(const nlohmann::json& j, const char* a, const char* b, std::string_view file) {
  const nlohmann::json* v = &j;
  std::string path = a;
  if (!v->contains(a)) return InvalidArgument(fmt::format("{}: no '{}'", file, path));
  v = &(*v)[a];
  if (b) {
    path += std::string(".") + b;
    if (!v->is_object() || !v->contains(b)) return InvalidArgument(fmt::format("{}: no '{}'", file, path));
    v = &(*v)[b];
  }
  if (!v->is_number()) return InvalidArgument(fmt::format("{}: '{}' must be a number, got {}", file, path, v->dump()));
  return v->get<double>();
}

}  // namespace

FleetPolicy FleetSpec::PolicyOver(const FleetPolicy& defaults) const {
  FleetPolicy p = defaults;
  if (target_utilisation) p.target_utilisation = *target_utilisation;
  if (spot_share) p.spot_share = *spot_share;
  if (n_plus_one) p.n_plus_one = *n_plus_one;
  if (shared) p.shared = *shared;
  if (min_replicas) p.min_replicas = *min_replicas;
  return p;
}

Result<Profile> ParseProfile(std::string_view yaml, std::string_view file) {
  ASSIGN_OR_RETURN(YAML::Node root, internal::LoadYamlDocument(yaml, file));
  ASSIGN_OR_RETURN(Fields top, Fields::Open(root, root.Mark(), file, "the profile",
                                            {"hourly_rps", "peak_rps", "applications", "fleets"}));
  Profile profile;
  if (top.Has("applications")) {
    if (top.Has("hourly_rps") || top.Has("peak_rps")) {
      return top.Error("applications", "is set together with a top-level rate: give the rates per application");
    }
    const YAML::Node list = top.Node("applications");
    if (!list.IsSequence() || list.size() == 0) {
      return top.Error("applications", "must be a non-empty list, got " + model::DescribeYaml(list));
    }
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string what = "applications[" + std::to_string(i) + "]";
      ASSIGN_OR_RETURN(Fields f, Fields::Open(list[i], list.Mark(), file, what,
                                              {"name", "hourly_rps", "peak_rps", "min_replicas"}));
      Application a;
      ASSIGN_OR_RETURN(a.name, f.String("name", "app" + std::to_string(i + 1)));
      ASSIGN_OR_RETURN(a.rps, ParseRates(f));
      if (f.Has("min_replicas")) {
        ASSIGN_OR_RETURN(int floor, f.Integer("min_replicas", 0, 100000));
        a.min_replicas = floor;
      }
      profile.traffic.applications.push_back(std::move(a));
    }
  } else {
    Application a;
    a.name = "all";
    ASSIGN_OR_RETURN(a.rps, ParseRates(top));
    profile.traffic.applications.push_back(std::move(a));
  }
  if (top.Has("fleets")) {
    const YAML::Node list = top.Node("fleets");
    if (!list.IsSequence() || list.size() == 0) {
      return top.Error("fleets", "must be a non-empty list, got " + model::DescribeYaml(list));
    }
    for (size_t i = 0; i < list.size(); ++i) {
      ASSIGN_OR_RETURN(FleetSpec s, ParseFleet(list[i], list.Mark(), file, "fleets[" + std::to_string(i) + "]"));
      for (const FleetSpec& other : profile.fleets) {
        if (other.name == s.name) {
          return model::YamlError(file, list[i].Mark(),
                                  "fleets[" + std::to_string(i) + "]: the name '" + s.name +
                                      "' is used twice (first on line " + std::to_string(other.line) +
                                      "); give each fleet its own 'name'");
        }
      }
      profile.fleets.push_back(std::move(s));
    }
  }
  return profile;
}

Result<Profile> LoadProfile(const std::filesystem::path& path) {
  ASSIGN_OR_RETURN(std::string text, internal::ReadInputFile(path, size_t{1} << 20, "traffic profile"));
  return ParseProfile(text, path.string());
}

Result<std::pair<std::string, Capacity>> ParseTypeFigure(std::string_view text, std::string_view flag,
                                                         std::string_view how) {
  const size_t eq = text.find('=');
  const auto bad = [&](const std::string& why) {
    return InvalidArgument(fmt::format("{} '{}': {} (expected TYPE=REQ_PER_S, e.g. c5.xlarge=12.5, or "
                                       "TYPE=SECONDSs, e.g. g2.2xlarge=0.0723s)",
                                       flag, text, why));
  };
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == text.size()) return bad("no TYPE=FIGURE");
  std::string_view number = text.substr(eq + 1);
  const bool seconds = number.back() == 's';
  if (seconds) number.remove_suffix(1);
  double value = 0;
  const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc() || end != number.data() + number.size() || !std::isfinite(value) || value <= 0) {
    return bad("the figure must be a number above 0");
  }
  Capacity c;
  c.rps = seconds ? 1 / value : value;
  c.source = seconds ? fmt::format("{} {} s/image, one at a time", how, number)
                     : fmt::format("{} {:g} req/s", how, value);
  return std::make_pair(std::string(text.substr(0, eq)), c);
}

Result<Capacity> CapacityFor(const InstanceType& type, const CapacityBasis& basis) {
  if (auto it = basis.per_type.find(type.type); it != basis.per_type.end()) return it->second;
  if (type.has_gpu()) {
    return InvalidArgument(fmt::format(
        "{} has a GPU ({}): its capacity is not scaled from a CPU measurement; give it with "
        "--measured {}=REQ_PER_S or --stated {}=SECONDSs (or capacity_rps in the profile's fleet)",
        type.type, type.gpu, type.type, type.type));
  }
  if (!basis.rps || basis.vcpus <= 0) {
    return InvalidArgument(fmt::format(
        "no capacity for {}: give --tune FILE, or --capacity-rps R with --vcpus V, or --measured {}=R",
        type.type, type.type));
  }
  Capacity c;
  c.rps = *basis.rps * type.vcpus / basis.vcpus;
  c.source = fmt::format("scaled per vCPU from {:.3g} req/s on {} vCPUs{}", *basis.rps, basis.vcpus,
                         basis.measured_on.empty() ? "" : " (" + basis.measured_on + ")");
  return c;
}

Result<TuneSummary> ParseTuneSummary(std::string_view json, std::string_view file) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgument(fmt::format("{}: not a kamado tune --json result (not a JSON object)", file));
  }
  TuneSummary t;
  ASSIGN_OR_RETURN(t.slo_p99_ms, JsonNumber(j, "slo_p99_ms", nullptr, file));
  ASSIGN_OR_RETURN(t.slo_rps, JsonNumber(j, "recommended", "slo_rps", file));
  ASSIGN_OR_RETURN(double vcpus, JsonNumber(j, "machine", "vcpus", file));
  // Checked before it becomes an int: 1e300 would be undefined behaviour
  // (found by fuzz_written_files).
  if (!(vcpus >= 1 && vcpus <= 1e6) || vcpus != std::floor(vcpus)) {
    return InvalidArgument(fmt::format("{}: machine.vcpus must be a whole number from 1 to 1000000, got {}", file,
                                       j["machine"]["vcpus"].dump()));
  }
  t.vcpus = static_cast<int>(vcpus);
  if (t.slo_rps <= 0) return InvalidArgument(fmt::format("{}: recommended.slo_rps must be above 0", file));
  if (j["machine"].contains("cpu") && j["machine"]["cpu"].is_string()) t.cpu = j["machine"]["cpu"];
  if (j.contains("date") && j["date"].is_string()) t.date = j["date"];
  return t;
}

Result<TuneSummary> LoadTuneSummary(const std::filesystem::path& path) {
  ASSIGN_OR_RETURN(std::string text, internal::ReadInputFile(path, size_t{16} << 20, "tune result"));
  return ParseTuneSummary(text, path.string());
}

namespace {

Result<const InstanceType*> FindType(const Catalog& catalog, const std::string& type, const std::string& region) {
  if (const InstanceType* t = catalog.Find(type, region)) return t;
  const std::vector<std::string> regions = catalog.RegionsOf(type);
  if (regions.empty()) return NotFound(fmt::format("{}: no instance type '{}'", catalog.file, type));
  std::string list;
  for (const std::string& r : regions) list += (list.empty() ? "" : ", ") + r;
  return NotFound(fmt::format("{}: {} is not listed in {} (it is in {}); give --region or add the entry",
                              catalog.file, type, region, list));
}

}  // namespace

Result<std::vector<FleetInput>> ChooseFleets(const Catalog& catalog, const std::string& region,
                                             const std::vector<std::string>& types,
                                             const std::vector<FleetSpec>& specs, const CapacityBasis& basis,
                                             const FleetPolicy& defaults, std::vector<std::string>& notes) {
  std::vector<FleetInput> out;
  if (!specs.empty()) {
    for (const FleetSpec& s : specs) {
      ASSIGN_OR_RETURN(const InstanceType* t, FindType(catalog, s.type, s.region.value_or(region)));
      Capacity c;
      if (s.capacity) {
        c = *s.capacity;
      } else {
        auto found = CapacityFor(*t, basis);
        if (!found.ok()) return found.status().WithPrefix("fleet '" + s.name + "' (line " + std::to_string(s.line) + ")");
        c = *found;
      }
      out.push_back({s.name, *t, c, s.PolicyOver(defaults)});
    }
    return out;
  }
  std::vector<const InstanceType*> chosen;
  if (!types.empty()) {
    for (const std::string& name : types) {
      ASSIGN_OR_RETURN(const InstanceType* t, FindType(catalog, name, region));
      chosen.push_back(t);
    }
  } else {
    for (const InstanceType& t : catalog.types) {
      if (t.region == region) chosen.push_back(&t);
    }
    if (chosen.empty()) return NotFound(fmt::format("{}: no instance type in region {}", catalog.file, region));
  }
  for (const InstanceType* t : chosen) {
    auto c = CapacityFor(*t, basis);
    if (!c.ok()) {
      if (!types.empty()) return c.status();
      notes.push_back(t->type + " left out: " + c.status().message());
      continue;
    }
    out.push_back({t->type, *t, *c, defaults});
  }
  if (out.empty()) return InvalidArgument("no fleet has a capacity: " + (notes.empty() ? "" : notes.back()));
  return out;
}

}  // namespace kamado::cost
