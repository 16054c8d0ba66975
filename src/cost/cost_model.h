// The arithmetic of `kamado cost`: how many replicas a fleet of one instance
// type needs hour by hour for a traffic profile, and what that costs.
//
//   replicas(rate) = max(floor, ceil(rate / (capacity × target utilisation))) (+1 with N+1)
//
// per application (each its own fleet with its own floor) or once for the sum
// of every application's rate (one shared fleet: consolidation). The price of
// an instance-hour blends on-demand and spot by the spot share. A month is
// 730 hours; the day's profile repeats. Pure functions, no I/O.
#pragma once

#include <array>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "cost/catalog.h"

namespace kamado::cost {

constexpr int kHoursPerDay = 24;
constexpr double kHoursPerMonth = 730;

using HourlyRates = std::array<double, kHoursPerDay>;  // requests per second in each hour

struct Application {
  std::string name;
  HourlyRates rps{};
  std::optional<int> min_replicas;  // this application's floor; else the fleet's
};

struct Traffic {
  std::vector<Application> applications;

  // The summed rate of every application, hour by hour.
  HourlyRates Total() const;
  double PeakRps() const;
  // Requests in a 730-hour month.
  double RequestsPerMonth() const;
  // Every rate × factor (for a sensitivity sweep).
  Traffic Scaled(double factor) const;
};

// One application at `peak_rps` all day.
Traffic FlatTraffic(double peak_rps);

struct FleetPolicy {
  double target_utilisation = 0.7;  // (0, 1]: replicas run at most this busy
  bool n_plus_one = false;          // one spare replica per fleet
  int min_replicas = 1;             // floor per application (dedicated) or for the fleet (shared)
  bool shared = true;               // one fleet serves every application
  double spot_share = 0;            // [0, 1]: the share of instance-hours on spot
};

// What one replica of a type serves within the SLO, and how that is known.
struct Capacity {
  double rps = 0;
  std::string source;  // "measured", "stated: ...", "scaled per vCPU from ..."
};

struct FleetCost {
  std::string name;  // the instance type, or a scenario's fleet name
  InstanceType type;
  FleetPolicy policy;
  Capacity capacity;
  std::array<int, kHoursPerDay> hourly_replicas{};
  int peak_replicas = 0;         // the most replicas any hour needs
  double instance_hours_per_day = 0;
  double usd_per_instance_hour = 0;  // blended by the spot share
  double usd_month_at_peak = 0;      // peak_replicas all month (no autoscaling)
  double usd_month = 0;              // hour by hour (autoscaled)
  double usd_per_million = 0;        // usd_month per million requests
  double ratio = std::numeric_limits<double>::quiet_NaN();  // usd_month / the baseline's
  std::vector<std::string> notes;
};

// ceil(rate / (capacity × utilisation)), at least `floor`, plus one with N+1.
// A rate of 0 needs `floor` replicas (0 allowed: scale to zero).
int ReplicasFor(double rps, double capacity_rps, double utilisation, int floor, bool n_plus_one);

// The price of one instance-hour under `spot_share`; an error naming the type
// when a spot share is asked for a type with no spot price.
Result<double> BlendedUsdPerHour(const InstanceType& type, double spot_share);

Result<FleetCost> CostFleet(std::string name, const InstanceType& type, const Capacity& capacity,
                            const FleetPolicy& policy, const Traffic& traffic);

// Sets each fleet's ratio against the one named `baseline` (its name or its
// type); an error when there is no such fleet.
Status SetRatios(std::vector<FleetCost>& fleets, const std::string& baseline);

}  // namespace kamado::cost

namespace kamado::cost {

// One row to cost: an instance type with its capacity and policy.
struct FleetInput {
  std::string name;
  InstanceType type;
  Capacity capacity;
  FleetPolicy policy;
};

// CostFleet for each input, then ratios against `baseline` when it is set.
Result<std::vector<FleetCost>> CostFleets(const std::vector<FleetInput>& inputs, const Traffic& traffic,
                                          const std::string& baseline);

// A sensitivity sweep against the baseline fleet: each combination of a spot
// share (given to every other fleet whose type has a spot price), a traffic
// factor (every fleet) and a replica floor per application (the baseline
// fleet's, which replaces the profile's floors: the always-on floors of the
// fleet as it was run).
struct Sweep {
  std::vector<double> spot_shares = {0, 0.5, 0.8};
  std::vector<double> traffic_factors = {0.5, 1, 2};
  std::vector<int> baseline_floors = {1, 2, 3};
};

struct SensitivityRow {
  double spot_share = 0, traffic_factor = 1;
  int baseline_floor = 1;
  std::string cheapest;  // the cheapest other fleet at this point
  double usd_month = 0, baseline_usd_month = 0, ratio = 0;
};

Result<std::vector<SensitivityRow>> SweepSensitivity(const std::vector<FleetInput>& inputs, const Traffic& traffic,
                                                     const std::string& baseline, const Sweep& sweep);

}  // namespace kamado::cost
