// Small JPEG previews of photos, for the HTML reports that show which photos
// two classifiers disagreed on (`kamado shadow --report`). Thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "core/result.h"
#include "image/image.h"

namespace kamado::image {

// The image scaled (area average, aspect kept) so its longer side is at most
// `max_side` pixels, never enlarged.
Image Downscale(const Image& image, int max_side);

// An encoded photo (any format DecodeImage reads, upright by its EXIF
// orientation) as a baseline JPEG of at most `max_side` pixels per side.
// The decoder's error when the photo cannot be decoded.
Result<std::string> JpegThumbnail(std::span<const uint8_t> photo, int max_side = 128,
                                  int quality = 80);

}  // namespace kamado::image
