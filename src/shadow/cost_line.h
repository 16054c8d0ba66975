// The cost line of the cut-over page: the two fleets' monthly bills, read
// from what `kamado cost --format json` wrote (the file is the contract, so
// the shadow layer needs no code of the cost layer). Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace kamado::shadow {

struct FleetCost {
  std::string name;  // the fleet ("g2.2xlarge", or a fleet's name from a profile)
  std::string type;  // its instance type
  int peak_replicas = 0;
  double capacity_rps = 0;  // per replica
  double usd_month = 0;
};

struct CostLine {
  FleetCost a, b;                 // A's fleet (the server in production) and B's
  std::vector<FleetCost> fleets;  // every fleet of the file, in its order
  std::string command;            // the kamado cost command that made it
};

// `json` is a `kamado cost --format json` document (from `file`, named in
// messages). `a_fleet` empty: the document's baseline; `b_fleet` empty: the
// cheapest fleet other than A's. InvalidArgument naming the file and the
// field when the document is not one, or a fleet named is not in it.
Result<CostLine> ParseCostLine(std::string_view json, std::string_view file,
                               const std::string& a_fleet, const std::string& b_fleet);

}  // namespace kamado::shadow
