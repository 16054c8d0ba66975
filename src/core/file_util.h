// Whole-file reads with errors that name the file.
#pragma once

#include <filesystem>
#include <string>

#include "core/result.h"

namespace kamado {

// Reads the whole file; NotFound if it does not exist, InvalidArgument if it
// is larger than `max_bytes`.
Result<std::string> ReadFile(const std::filesystem::path& path,
                             size_t max_bytes = size_t{4} << 30);

}  // namespace kamado
