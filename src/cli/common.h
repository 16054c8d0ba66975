// Pieces the subcommands share.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "runtime/model_config.h"

namespace kamado::cli {

// Indices of the k largest scores, largest first (ties: lower index first).
std::vector<int> TopK(const float* scores, int n, int k);

// The label for class `index`, or "class_<index>" when the config has none.
std::string LabelOf(const runtime::ModelConfig& config, int index);

}  // namespace kamado::cli
