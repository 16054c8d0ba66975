// The image files `bench`, `load`, `compare` and `quantize` read (--images).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/result.h"
#include "perf/load_generator.h"

namespace kamado::cli {

// "image/jpeg", "image/png" or "image/webp" by the file's extension (any
// case), or "" when it is not one of the image types kamado decodes.
std::string ImageContentType(const std::filesystem::path& path);

// The image files (by ImageContentType) directly in `dir`, sorted by name.
// NotFound naming `dir` when it is not a directory or holds no image.
Result<std::vector<std::filesystem::path>> ListImages(const std::string& dir);

// `--images` given as files and directories (each listed by ListImages), in
// the order given.
Result<std::vector<std::filesystem::path>> CollectImages(const std::vector<std::string>& args);

// The request bodies of `kamado load` and `kamado tune`: the images of `dir`
// (ListImages) read into memory, at most the first 1000 (`command` says so on
// stderr when there are more); each at most 64 MiB.
Result<std::vector<perf::Payload>> ReadImagePayloads(const std::string& dir, const char* command);

}  // namespace kamado::cli
