// Pieces the subcommands share.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "runtime/model_config.h"

namespace kamado::cli {

// Indices of the k largest scores, largest first (ties: lower index first).
std::vector<int> TopK(const float* scores, int n, int k);

// The label for class `index`, or "class_<index>" when the config has none.
std::string LabelOf(const runtime::ModelConfig& config, int index);

// "image/jpeg", "image/png" or "image/webp" by the file's extension (any
// case), or "" when it is not one of the image types kamado decodes.
std::string ImageContentType(const std::filesystem::path& path);

// The image files (by ImageContentType) directly in `dir`, sorted by name.
// NotFound naming `dir` when it is not a directory or holds no image.
Result<std::vector<std::filesystem::path>> ListImages(const std::string& dir);

}  // namespace kamado::cli
