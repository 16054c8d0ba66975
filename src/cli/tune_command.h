// `kamado tune`: searches serve configurations (workers × sessions × threads
// within the CPUs, pinning, max batch, batch delay, precision) on real
// servers under open-loop load, for the highest throughput within a p99 SLO,
// and writes the recommendation as a serve.yaml with a report.
#pragma once

#include <CLI/CLI.hpp>

namespace kamado::cli {

void AddTuneCommand(CLI::App& app, int& exit_code);

}  // namespace kamado::cli
