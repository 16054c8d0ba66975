// Helpers shared by the decoders; not part of the public API.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/status.h"
#include "image/decode.h"

namespace kamado::image_internal {

// Checks header dimensions against `options` before any pixel memory is
// allocated: zero sizes, max_dimension, max_pixels. Messages name the format
// and the limit.
Status CheckImageSize(std::string_view format, uint64_t width, uint64_t height,
                      const DecodeOptions& options);

}  // namespace kamado::image_internal
