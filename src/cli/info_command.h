// `kamado info`: what this machine is to kamado — the CPU and the features
// its kernels and precisions use, the CPUs this process may use, oneDNN's
// version and the ISA it dispatches to, and what each precision runs on.
#pragma once

#include <CLI/CLI.hpp>

namespace kamado::cli {

void AddInfoCommand(CLI::App& app, int& exit_code);

}  // namespace kamado::cli
