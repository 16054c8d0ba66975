// `kamado convert`: export a model kamado can load to ONNX.
#pragma once

#include <CLI/CLI.hpp>

namespace kamado::cli {

void AddConvertCommand(CLI::App& app, int& exit_code);

}  // namespace kamado::cli
