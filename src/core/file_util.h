// Whole-file reads and writes with errors that name the file.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/result.h"

namespace kamado {

// Reads the whole file; NotFound if it does not exist, InvalidArgument if it
// is larger than `max_bytes`.
Result<std::string> ReadFile(const std::filesystem::path& path,
                             size_t max_bytes = size_t{4} << 30);

// Writes `text` to `path` atomically: a temporary file beside it
// (<path>.tmp), renamed over it. InvalidArgument naming the file on failure.
Status WriteFileAtomically(const std::filesystem::path& path, std::string_view text);

}  // namespace kamado
