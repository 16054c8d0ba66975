// libFuzzer: DecodeJpeg on arbitrary bytes must return an image or an error,
// never crash, leak or allocate past the limits (small limits keep it fast).
#include <cstddef>
#include <cstdint>

#include "image/decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kamado::DecodeOptions options;
  options.max_pixels = 4'000'000;
  options.max_dimension = 8192;
  options.min_width = size % 3 == 0 ? 0 : 64;  // exercise scaled decoding too
  options.min_height = size % 3 == 0 ? 0 : 48;
  options.alpha = size % 2 ? kamado::AlphaMode::kComposite : kamado::AlphaMode::kDrop;
  auto image = kamado::DecodeJpeg({data, size}, options);
  if (image.ok() && image->rgb.size() != size_t(image->width) * size_t(image->height) * 3) {
    __builtin_trap();
  }
  return 0;
}
