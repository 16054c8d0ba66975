// `kamado compare`: a model at a reduced precision against itself at fp32
// on a set of photos — the gate (model/precision_gate.h) `serve` checks.
#pragma once

#include <CLI/CLI.hpp>

namespace kamado::cli {

void AddCompareCommand(CLI::App& app, int& exit_code);

}  // namespace kamado::cli
