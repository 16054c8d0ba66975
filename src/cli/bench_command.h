// `kamado bench`: latency of the compiled model on random input tensors.
#pragma once

#include <CLI/CLI.hpp>

namespace kamado::cli {

void AddBenchCommand(CLI::App& app, int& exit_code);

}  // namespace kamado::cli
