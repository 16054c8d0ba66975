// Image -> model input tensor: normalise, resize (bilinear, stretched, no
// crop), subtract mean / divide by std, in RGB order.
//
// The arithmetic reproduces TensorFlow.js 4.22's CPU backend bit for bit, as
// used by nsfwjs: `img.toFloat().div(255)` then
// `tf.image.resizeBilinear(x, [H, W], alignCorners)` (see preprocess.cc).
// Thread-safe; never throws.
#pragma once

#include <array>

#include <cstdint>
#include <span>

#include "core/layout.h"
#include "core/result.h"
#include "core/status.h"
#include "core/tensor.h"
#include "image/decode.h"
#include "image/image.h"

namespace kamado::image {

enum class Resize {
  kBilinearAlignCorners,  // tf.image.resizeBilinear(alignCorners=true)
  kBilinearHalfPixel,     // tf.image.resizeBilinear(halfPixelCenters=true)
};

struct PreprocessOptions {
  int height = 0;  // output size; both must be > 0
  int width = 0;
  double scale = 1 / 255.0;            // v = float32(pixel * scale), before resizing
  std::array<float, 3> mean{0, 0, 0};  // out = (resized - mean[c]) / std[c], in float
  std::array<float, 3> std{1, 1, 1};
  Resize resize = Resize::kBilinearAlignCorners;
  Layout layout = Layout::kNHWC;
};

// Writes one preprocessed image to `dst`: height * width * 3 floats, in HWC
// order for kNHWC or CHW (planar) for kNCHW. `dst` must have room for them
// and is written only on success. InvalidArgument names the bad field of
// `image` or `options`.
Status PreprocessInto(const Image& image, const PreprocessOptions& options, float* dst);

// Same, into a new tensor of shape [1, H, W, 3] (kNHWC) or [1, 3, H, W] (kNCHW).
Result<Tensor> Preprocess(const Image& image, const PreprocessOptions& options);

// bytes -> input tensor: DecodeImage, then Preprocess. Thread-safe; never throws.
Result<Tensor> DecodeToTensor(std::span<const uint8_t> bytes, const DecodeOptions& decode,
                              const PreprocessOptions& preprocess);

}  // namespace kamado::image
