#include "cost/catalog.h"

#include <map>

#include "cost/yaml_fields.h"
#include "model/yaml_errors.h"

namespace kamado::cost {
namespace {

using internal::Fields;

const std::vector<std::string_view> kInstanceKeys = {
    "provider", "type",  "region",          "vcpus",      "memory_gib",    "gpu",    "gpus",
    "cpu",      "isa",   "on_demand_usd_h", "spot_usd_h", "spot_discount", "source", "date"};

Result<InstanceType> ParseInstance(const YAML::Node& node, const YAML::Mark& where, std::string_view file,
                                   const std::string& what) {
  ASSIGN_OR_RETURN(Fields f, Fields::Open(node, where, file, what, kInstanceKeys));
  InstanceType t;
  t.line = f.mark().line + 1;
  ASSIGN_OR_RETURN(t.provider, f.String("provider"));
  ASSIGN_OR_RETURN(t.type, f.String("type"));
  ASSIGN_OR_RETURN(t.region, f.String("region"));
  ASSIGN_OR_RETURN(t.vcpus, f.Integer("vcpus", 1, 100000));
  ASSIGN_OR_RETURN(t.memory_gib, f.Number("memory_gib", 0.001, 1e7));
  ASSIGN_OR_RETURN(t.gpu, f.String("gpu", std::string()));
  ASSIGN_OR_RETURN(t.gpus, f.Integer("gpus", 0, 1024, t.gpu.empty() ? 0 : 1));
  if (t.gpu.empty() && t.gpus > 0) return f.Error("gpus", "is set but 'gpu' (the GPU's name) is not");
  if (!t.gpu.empty() && t.gpus == 0) return f.Error("gpus", "must be at least 1 when 'gpu' is set");
  ASSIGN_OR_RETURN(t.cpu, f.String("cpu"));
  ASSIGN_OR_RETURN(t.isa, f.Strings("isa"));
  ASSIGN_OR_RETURN(t.on_demand_usd_h, f.Number("on_demand_usd_h", 1e-6, 1e6));
  if (f.Has("spot_usd_h")) {
    ASSIGN_OR_RETURN(double spot, f.Number("spot_usd_h", 1e-6, 1e6));
    if (spot > t.on_demand_usd_h) {
      return f.Error("spot_usd_h", "is above on_demand_usd_h (" + std::to_string(t.on_demand_usd_h) + ")");
    }
    t.spot_usd_h = spot;
  }
  if (f.Has("spot_discount")) {
    if (t.spot_usd_h) return f.Error("spot_discount", "and spot_usd_h are both set: give one");
    ASSIGN_OR_RETURN(double d, f.Number("spot_discount", 0, 0.99));
    t.spot_discount = d;
  }
  ASSIGN_OR_RETURN(t.source, f.String("source"));
  ASSIGN_OR_RETURN(t.date, f.String("date"));
  return t;
}

}  // namespace

std::optional<double> InstanceType::SpotUsdPerHour() const {
  if (spot_usd_h) return *spot_usd_h;
  if (spot_discount) return on_demand_usd_h * (1 - *spot_discount);
  return std::nullopt;
}

const InstanceType* Catalog::Find(std::string_view type, std::string_view region) const {
  for (const InstanceType& t : types) {
    if (t.type == type && t.region == region) return &t;
  }
  return nullptr;
}

std::vector<std::string> Catalog::RegionsOf(std::string_view type) const {
  std::vector<std::string> out;
  for (const InstanceType& t : types) {
    if (t.type == type) out.push_back(t.region);
  }
  return out;
}

Result<Catalog> ParseCatalog(std::string_view yaml, std::string_view file) {
  ASSIGN_OR_RETURN(YAML::Node root, internal::LoadYamlDocument(yaml, file));
  ASSIGN_OR_RETURN(Fields top, Fields::Open(root, root.Mark(), file, "the catalog", {"instances"}));
  const YAML::Node list = top.Node("instances");
  if (!list.IsSequence() || list.size() == 0) {
    return model::YamlError(file, top.MarkOf("instances"),
                            "'instances' must be a non-empty list of instance types, got " +
                                model::DescribeYaml(list));
  }
  Catalog catalog;
  catalog.file = std::string(file);
  std::map<std::pair<std::string, std::string>, int> seen;  // (type, region) → line
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string what = "instances[" + std::to_string(i) + "]";
    ASSIGN_OR_RETURN(InstanceType t, ParseInstance(list[i], list.Mark(), file, what));
    if (auto [it, inserted] = seen.emplace(std::make_pair(t.type, t.region), t.line); !inserted) {
      return model::YamlError(file, list[i].Mark(),
                              what + ": " + t.type + " in " + t.region + " is listed twice (first on line " +
                                  std::to_string(it->second) + ")");
    }
    catalog.types.push_back(std::move(t));
  }
  return catalog;
}

Result<Catalog> LoadCatalog(const std::filesystem::path& path) {
  ASSIGN_OR_RETURN(std::string text, internal::ReadInputFile(path, size_t{4} << 20, "instance catalog"));
  return ParseCatalog(text, path.string());
}

}  // namespace kamado::cost
