// The instance catalog `kamado cost` prices fleets from (data/instances.yaml):
// one entry per provider, type and region, with its vCPUs, memory, GPU, CPU
// family and ISA, the on-demand price and a spot price or discount where
// known, and where each figure came from and when. Users add their own
// entries and prices; a mistake is reported as FILE:LINE:COLUMN and field.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace kamado::cost {

struct InstanceType {
  std::string provider;  // "aws"
  std::string type;      // "c5.xlarge"
  std::string region;    // "us-east-1"
  int vcpus = 0;
  double memory_gib = 0;
  std::string gpu;  // "NVIDIA T4"; empty for a CPU-only type
  int gpus = 0;
  std::string cpu;               // "Intel Xeon Platinum 8000 series (Skylake-SP, Cascade Lake)"
  std::vector<std::string> isa;  // "avx2", "avx512", "vnni", "amx"
  double on_demand_usd_h = 0;
  std::optional<double> spot_usd_h;     // a spot price, when one is known
  std::optional<double> spot_discount;  // else a fraction below on-demand, e.g. 0.65
  std::string source;                   // where the price came from
  std::string date;                     // when (YYYY-MM-DD)
  int line = 0;                         // 1-based line of the entry in its file

  bool has_gpu() const { return gpus > 0; }
  // The spot price per hour: spot_usd_h, else on-demand × (1 − discount);
  // nullopt when neither is known.
  std::optional<double> SpotUsdPerHour() const;
};

struct Catalog {
  std::string file;
  std::vector<InstanceType> types;

  // The entry for `type` in `region`; nullptr when there is none.
  const InstanceType* Find(std::string_view type, std::string_view region) const;
  // The regions that list `type`, for an error message.
  std::vector<std::string> RegionsOf(std::string_view type) const;
};

// `instances: [ {provider, type, region, vcpus, memory_gib, gpu?, gpus?, cpu,
// isa?, on_demand_usd_h, spot_usd_h?, spot_discount?, source, date}, ... ]`.
// Unknown or repeated keys, missing fields, wrong types and out-of-range
// values (vCPUs ≥ 1, prices > 0, a discount in [0, 1), a gpu name with
// gpus ≥ 1) are errors naming FILE:LINE:COLUMN and the field; so is a
// (type, region) listed twice.
Result<Catalog> ParseCatalog(std::string_view yaml, std::string_view file);
Result<Catalog> LoadCatalog(const std::filesystem::path& path);

}  // namespace kamado::cost
