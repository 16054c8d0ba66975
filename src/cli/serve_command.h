// `kamado serve`: the HTTP server (Open Inference Protocol v2 + /classify).
#pragma once

#include <CLI/CLI.hpp>

namespace kamado::cli {

void AddServeCommand(CLI::App& app, int& exit_code);

}  // namespace kamado::cli
