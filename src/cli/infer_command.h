// `kamado infer`: classify image files in process.
#pragma once

#include <CLI/CLI.hpp>

namespace kamado::cli {

void AddInferCommand(CLI::App& app, int& exit_code);

}  // namespace kamado::cli
