// `kamado cost`: replicas and the bill for a traffic profile on each
// instance type of a catalog, from a measured (or stated) capacity.
#pragma once

#include <CLI/CLI.hpp>

namespace kamado::cli {

void AddCostCommand(CLI::App& app, int& exit_code);

}  // namespace kamado::cli
