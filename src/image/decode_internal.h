// Helpers shared by the decoders; not part of the public API.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "core/status.h"
#include "image/decode.h"
#include "image/image.h"

namespace kamado::image::internal {

// Checks header dimensions against `options` before any pixel memory is
// allocated: zero sizes, max_dimension, max_pixels, and max_decode_bytes
// (width x height x `bytes_per_pixel`, the decoder's peak); then calls
// options.reserve. Messages name the format and the limit.
Status CheckImageSize(std::string_view format, uint64_t width, uint64_t height,
                      const DecodeOptions& options, uint32_t bytes_per_pixel);

// The smallest n in 1..8 with ceil(width·n/8) >= min_width and
// ceil(height·n/8) >= min_height (8 when none is smaller, or when both
// minimums are 0).
int ScaleEighths(int width, int height, int min_width, int min_height);

// In place: RGBA (4 · n bytes) -> RGB (first 3 · n bytes), by options.alpha.
// `keyed_black`: pixels with alpha 0 become black when alpha is dropped
// (pngjs's treatment of a tRNS colour key).
void ReduceAlpha(uint8_t* rgba, size_t n_pixels, const DecodeOptions& options, bool keyed_black);

// What kamado reads from a JPEG's marker segments before decoding.
struct JpegMarkers {
  int orientation = 1;  // EXIF Orientation, 1-8 (1 when absent or invalid)
  bool adobe = false;   // an APP14 "Adobe" segment: CMYK is stored inverted
};
JpegMarkers ReadJpegMarkers(std::span<const uint8_t> bytes);

// The EXIF Orientation (1-8) in an APP1 payload starting "Exif\0\0", read with
// libexif; 1 when absent or invalid.
int ExifOrientation(std::span<const uint8_t> app1_payload);

// Rotates/flips `image` (stored orientation) into the upright picture the EXIF
// orientation describes. Orientations 5-8 swap width and height.
void ApplyOrientation(Image& image, int orientation);

}  // namespace kamado::image::internal
