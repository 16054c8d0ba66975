// Image: a decoded picture in memory, interleaved 8-bit RGB.
#pragma once

#include <cstdint>
#include <vector>

namespace kamado::image {

// Row-major, no padding: pixel (x, y) channel c is rgb[(y * width + x) * 3 + c].
// A valid Image has width, height > 0 and rgb.size() == width * height * 3.
struct Image {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;
};

}  // namespace kamado::image
