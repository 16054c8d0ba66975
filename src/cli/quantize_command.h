// `kamado quantize`: post-training int8 quantization of a model directory
// (model/quantize.h) into a new one that `--model` loads at int8.
#pragma once

#include <CLI/CLI.hpp>

namespace kamado::cli {

void AddQuantizeCommand(CLI::App& app, int& exit_code);

}  // namespace kamado::cli
