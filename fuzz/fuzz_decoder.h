// The body every single-format decoder fuzz target shares: decode arbitrary
// bytes with small limits (so runs stay fast), options varied by the input's
// size, and trap if a successful decode's pixel buffer has the wrong size.
#pragma once

#include <cstddef>
#include <cstdint>

#include "image/decode.h"

namespace kamado::fuzz {

template <typename Decode>
int FuzzDecoder(Decode decode, const uint8_t* data, size_t size) {
  image::DecodeOptions options;
  options.max_pixels = 4'000'000;
  options.max_dimension = 8192;
  options.min_width = size % 3 == 0 ? 0 : 64;  // exercise scaled decoding too
  options.min_height = size % 3 == 0 ? 0 : 48;
  options.alpha = size % 2 ? image::AlphaMode::kComposite : image::AlphaMode::kDrop;
  auto image = decode(std::span<const uint8_t>(data, size), options);
  if (image.ok() && image->rgb.size() != size_t(image->width) * size_t(image->height) * 3) {
    __builtin_trap();
  }
  return 0;
}

}  // namespace kamado::fuzz
