// `kamado compile`: write a model's compiled file (runtime/compiled_file.h)
// ahead of `kamado serve`, which then maps it instead of compiling.
#pragma once

#include <CLI/CLI.hpp>

namespace kamado::cli {

void AddCompileCommand(CLI::App& app, int& exit_code);

}  // namespace kamado::cli
