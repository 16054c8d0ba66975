// libFuzzer: DecodePng on arbitrary bytes must return an image or an error,
// never crash, leak or allocate past the limits.
#include "fuzz_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return kamado::fuzz::FuzzDecoder(kamado::image::DecodePng, data, size);
}
