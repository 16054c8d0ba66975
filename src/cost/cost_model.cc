#include "cost/cost_model.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace kamado::cost {

HourlyRates Traffic::Total() const {
  HourlyRates total{};
  for (const Application& a : applications) {
    for (int h = 0; h < kHoursPerDay; ++h) total[h] += a.rps[h];
  }
  return total;
}

double Traffic::PeakRps() const {
  const HourlyRates total = Total();
  return *std::max_element(total.begin(), total.end());
}

double Traffic::RequestsPerMonth() const {
  double per_day = 0;
  for (double r : Total()) per_day += r * 3600;
  return per_day * kHoursPerMonth / kHoursPerDay;
}

Traffic Traffic::Scaled(double factor) const {
  Traffic out = *this;
  for (Application& a : out.applications) {
    for (double& r : a.rps) r *= factor;
  }
  return out;
}

Traffic FlatTraffic(double peak_rps) {
  Application a;
  a.name = "all";
  a.rps.fill(peak_rps);
  return Traffic{{a}};
}

int ReplicasFor(double rps, double capacity_rps, double utilisation, int floor, bool n_plus_one) {
  const double usable = capacity_rps * utilisation;
  // 1e-9 relative slack: 7 / (10 × 0.7) is 1.0000000000000002 in doubles,
  // and one replica does serve it.
  const double exact = rps > 0 ? rps / usable : 0;
  const int needed = static_cast<int>(std::ceil(exact * (1 - 1e-9)));
  return std::max(floor, needed) + (n_plus_one ? 1 : 0);
}

Result<double> BlendedUsdPerHour(const InstanceType& type, double spot_share) {
  if (spot_share <= 0) return type.on_demand_usd_h;
  const std::optional<double> spot = type.SpotUsdPerHour();
  if (!spot) {
    return InvalidArgument(fmt::format(
        "{} in {} has no spot price (spot_usd_h or spot_discount in the catalog), so a spot share of {:g} "
        "cannot be priced",
        type.type, type.region, spot_share));
  }
  return (1 - spot_share) * type.on_demand_usd_h + spot_share * *spot;
}

Result<FleetCost> CostFleet(std::string name, const InstanceType& type, const Capacity& capacity,
                            const FleetPolicy& policy, const Traffic& traffic) {
  if (!(capacity.rps > 0) || !std::isfinite(capacity.rps)) {
    return InvalidArgument(fmt::format("{}: the capacity per replica must be above 0 req/s, got {:g}", name,
                                       capacity.rps));
  }
  if (!(policy.target_utilisation > 0 && policy.target_utilisation <= 1)) {
    return InvalidArgument(fmt::format("the target utilisation must be in (0, 1], got {:g}",
                                       policy.target_utilisation));
  }
  if (!(policy.spot_share >= 0 && policy.spot_share <= 1)) {
    return InvalidArgument(fmt::format("the spot share must be in [0, 1], got {:g}", policy.spot_share));
  }
  if (policy.min_replicas < 0) return InvalidArgument("the replica floor must be 0 or more");
  if (traffic.applications.empty()) return InvalidArgument("the traffic profile has no application");
  FleetCost out;
  out.name = std::move(name);
  out.type = type;
  out.policy = policy;
  out.capacity = capacity;
  ASSIGN_OR_RETURN(out.usd_per_instance_hour, BlendedUsdPerHour(type, policy.spot_share));
  const double u = policy.target_utilisation;
  if (policy.shared) {
    int floor = policy.min_replicas;
    for (const Application& a : traffic.applications) floor = std::max(floor, a.min_replicas.value_or(0));
    const HourlyRates total = traffic.Total();
    for (int h = 0; h < kHoursPerDay; ++h) {
      out.hourly_replicas[h] = ReplicasFor(total[h], capacity.rps, u, floor, policy.n_plus_one);
    }
  } else {
    for (const Application& a : traffic.applications) {
      const int floor = a.min_replicas.value_or(policy.min_replicas);
      for (int h = 0; h < kHoursPerDay; ++h) {
        out.hourly_replicas[h] += ReplicasFor(a.rps[h], capacity.rps, u, floor, policy.n_plus_one);
      }
    }
  }
  for (int r : out.hourly_replicas) {
    out.peak_replicas = std::max(out.peak_replicas, r);
    out.instance_hours_per_day += r;
  }
  out.usd_month_at_peak = out.peak_replicas * out.usd_per_instance_hour * kHoursPerMonth;
  out.usd_month = out.instance_hours_per_day * out.usd_per_instance_hour * kHoursPerMonth / kHoursPerDay;
  const double requests = traffic.RequestsPerMonth();
  out.usd_per_million = requests > 0 ? out.usd_month / (requests / 1e6) : std::numeric_limits<double>::infinity();
  return out;
}

namespace {

// The row named `baseline`, else the first whose type it is (FleetCost and
// FleetInput alike); an error listing the rows when there is none.
template <typename Row>
Result<const Row*> FindBaseline(const std::vector<Row>& rows, const std::string& baseline) {
  for (const Row& r : rows) {
    if (r.name == baseline) return &r;
  }
  for (const Row& r : rows) {
    if (r.type.type == baseline) return &r;
  }
  std::string names;
  for (const Row& r : rows) names += (names.empty() ? "" : ", ") + r.name;
  return InvalidArgument("--baseline " + baseline + ": no such fleet among the rows (" + names + ")");
}

}  // namespace

Status SetRatios(std::vector<FleetCost>& fleets, const std::string& baseline) {
  ASSIGN_OR_RETURN(const FleetCost* base, FindBaseline(fleets, baseline));
  const double denominator = base->usd_month;
  for (FleetCost& f : fleets) f.ratio = denominator > 0 ? f.usd_month / denominator : std::nan("");
  return Status::Ok();
}

}  // namespace kamado::cost

namespace kamado::cost {

Result<std::vector<FleetCost>> CostFleets(const std::vector<FleetInput>& inputs, const Traffic& traffic,
                                          const std::string& baseline) {
  std::vector<FleetCost> out;
  for (const FleetInput& in : inputs) {
    ASSIGN_OR_RETURN(FleetCost f, CostFleet(in.name, in.type, in.capacity, in.policy, traffic));
    out.push_back(std::move(f));
  }
  if (!baseline.empty()) RETURN_IF_ERROR(SetRatios(out, baseline));
  return out;
}

Result<std::vector<SensitivityRow>> SweepSensitivity(const std::vector<FleetInput>& inputs, const Traffic& traffic,
                                                     const std::string& baseline, const Sweep& sweep) {
  if (baseline.empty()) return InvalidArgument("the sensitivity sweep needs --baseline naming one of the fleets");
  ASSIGN_OR_RETURN(const FleetInput* base, FindBaseline(inputs, baseline));
  if (inputs.size() < 2) return InvalidArgument("the sensitivity sweep needs a fleet besides the baseline");
  std::vector<SensitivityRow> rows;
  for (int floor : sweep.baseline_floors) {
    for (double factor : sweep.traffic_factors) {
      const Traffic scaled = traffic.Scaled(factor);
      Traffic floored = scaled;
      for (Application& a : floored.applications) a.min_replicas.reset();
      FleetPolicy base_policy = base->policy;
      base_policy.min_replicas = floor;
      ASSIGN_OR_RETURN(FleetCost b, CostFleet(base->name, base->type, base->capacity, base_policy, floored));
      for (double share : sweep.spot_shares) {
        SensitivityRow row;
        row.spot_share = share;
        row.traffic_factor = factor;
        row.baseline_floor = floor;
        row.baseline_usd_month = b.usd_month;
        row.usd_month = std::numeric_limits<double>::infinity();
        for (const FleetInput& in : inputs) {
          if (&in == base) continue;
          FleetPolicy p = in.policy;
          if (share > 0 && !in.type.SpotUsdPerHour()) continue;
          p.spot_share = share;
          ASSIGN_OR_RETURN(FleetCost f, CostFleet(in.name, in.type, in.capacity, p, scaled));
          if (f.usd_month < row.usd_month) {
            row.usd_month = f.usd_month;
            row.cheapest = f.name;
          }
        }
        if (row.cheapest.empty()) continue;  // no other fleet has a spot price
        row.ratio = row.baseline_usd_month > 0 ? row.usd_month / row.baseline_usd_month : std::nan("");
        rows.push_back(row);
      }
    }
  }
  return rows;
}

}  // namespace kamado::cost
