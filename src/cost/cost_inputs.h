// What `kamado cost` reads besides the catalog: the traffic profile (24
// hourly rates, one application or several, each with an optional replica
// floor), optional fleets to compare (type, region, capacity, policy), the
// capacity basis (a `kamado tune` result, or a measured rate on a machine of
// V vCPUs, plus measured or stated figures per type), and TYPE=FIGURE flags.
// Errors name FILE:LINE:COLUMN and the field.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "cost/catalog.h"
#include "cost/cost_model.h"

namespace kamado::cost {

// One fleet of a profile file; unset policy fields take the command line's.
struct FleetSpec {
  std::string name;  // defaults to the type
  std::string type;
  std::optional<std::string> region;
  std::optional<Capacity> capacity;
  std::optional<double> target_utilisation, spot_share;
  std::optional<bool> n_plus_one, shared;
  std::optional<int> min_replicas;
  int line = 0;

  FleetPolicy PolicyOver(const FleetPolicy& defaults) const;
};

struct Profile {
  Traffic traffic;
  std::vector<FleetSpec> fleets;  // may be empty
};

// Keys: `hourly_rps: [24 numbers]` or `peak_rps: R` (one application), or
// `applications: [{name, hourly_rps | peak_rps, min_replicas?}, ...]`; and
// optionally `fleets: [{name?, type, region?, capacity_rps? |
// capacity_latency_s?, capacity_source?, target_utilisation?, spot_share?,
// n_plus_one?, shared?, min_replicas?}, ...]`.
Result<Profile> ParseProfile(std::string_view yaml, std::string_view file);
Result<Profile> LoadProfile(const std::filesystem::path& path);

// "c5.xlarge=12.5" (requests per second) or "g2.2xlarge=0.0723s" (seconds per
// image, one at a time: 1/0.0723 req/s): the type and its capacity, whose
// source starts with `how` ("measured", "stated"). `flag` names the option
// in errors.
Result<std::pair<std::string, Capacity>> ParseTypeFigure(std::string_view text, std::string_view flag,
                                                         std::string_view how);

// Where each type's capacity per replica comes from.
struct CapacityBasis {
  std::optional<double> rps;  // measured on the reference machine, at the SLO
  int vcpus = 0;              // the vCPUs it was measured with
  std::string measured_on;    // "Intel Xeon ... (kamado tune, 2026-12-03)"
  std::map<std::string, Capacity> per_type;  // measured or stated figures
};

// per_type[type]; else, for a CPU type, rps × its vCPUs / vcpus ("scaled per
// vCPU", which assumes the same speed per vCPU); a GPU type is never scaled
// from a CPU measurement: an error that says which flag gives it.
Result<Capacity> CapacityFor(const InstanceType& type, const CapacityBasis& basis);

// A `kamado tune --json` result: the recommended configuration's SLO
// throughput, the SLO, and the machine it was measured on.
struct TuneSummary {
  double slo_p99_ms = 0;
  double slo_rps = 0;
  int vcpus = 0;
  std::string cpu;
  std::string date;
};
Result<TuneSummary> ParseTuneSummary(std::string_view json, std::string_view file);
Result<TuneSummary> LoadTuneSummary(const std::filesystem::path& path);

// The rows to cost. With `specs` (a profile's fleets): one per spec, its type
// looked up in its region (else `region`), its capacity its own or
// CapacityFor's, its policy over `defaults`. Without: every type in `region`
// (only `types` when not empty, in that order) with `defaults`; a GPU type
// with no figure is left out with a note when it was not asked for by name.
// Unknown types and regions are errors naming the catalog file.
Result<std::vector<FleetInput>> ChooseFleets(const Catalog& catalog, const std::string& region,
                                             const std::vector<std::string>& types,
                                             const std::vector<FleetSpec>& specs, const CapacityBasis& basis,
                                             const FleetPolicy& defaults, std::vector<std::string>& notes);

}  // namespace kamado::cost
