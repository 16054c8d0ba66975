// `kamado monitor`: sar-like sampling of the machine and of chosen pids.
#pragma once

#include <CLI/CLI.hpp>

namespace kamado::cli {

void AddMonitorCommand(CLI::App& app, int& exit_code);

}  // namespace kamado::cli
