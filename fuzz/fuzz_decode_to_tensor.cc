// libFuzzer: bytes -> sniff -> decode -> preprocess into a 32x32 tensor, as a
// server would for an upload. Any outcome but a crash/leak/UB is fine.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "image/decode.h"
#include "image/preprocess.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kamado::image::DecodeOptions decode;
  decode.max_pixels = 4'000'000;
  decode.max_dimension = 8192;
  decode.min_width = decode.min_height = 32;
  auto image = kamado::image::DecodeImage({data, size}, decode);
  if (!image.ok()) return 0;
  kamado::image::PreprocessOptions pre;
  pre.height = 32;
  pre.width = 32;
  pre.layout = size % 2 ? kamado::Layout::kNCHW : kamado::Layout::kNHWC;
  std::vector<float> dst(32 * 32 * 3);
  if (!kamado::image::PreprocessInto(*image, pre, dst.data()).ok()) __builtin_trap();
  return 0;
}
