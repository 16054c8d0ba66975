// The TF.js CPU kernels this reproduces (tfjs-backend-cpu 4.22, ResizeBilinear):
//   x = float32(pixel / 255)                     -- the normalised tensor is float32
//   ratio = alignCorners && out > 1 ? (in - 1) / (out - 1) : in / out   (double)
//   src   = halfPixel ? ratio * (i + 0.5) - 0.5 : ratio * i
//   lo = max(0, floor(src)); hi = min(in - 1, ceil(src)); frac = src - lo
//   top = tl + (tr - tl) * xfrac; bottom = bl + (br - bl) * xfrac
//   out = float32(top + (bottom - top) * yfrac)  -- all in double, one rounding
// This file is compiled with -ffp-contract=off: a fused multiply-add would
// skip a rounding and change the last bit.
#include "image/preprocess.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace kamado::image {
namespace {

struct Taps {
  std::vector<int> lo, hi;  // source indices (times `stride`)
  std::vector<double> frac;
};

Taps ComputeTaps(int in, int out, Resize resize, int stride) {
  const bool half_pixel = resize == Resize::kBilinearHalfPixel;
  const double ratio = (!half_pixel && out > 1) ? static_cast<double>(in - 1) / (out - 1)
                                                : static_cast<double>(in) / out;
  Taps taps;
  taps.lo.resize(out);
  taps.hi.resize(out);
  taps.frac.resize(out);
  for (int i = 0; i < out; ++i) {
    const double src = half_pixel ? ratio * (i + 0.5) - 0.5 : ratio * i;
    const double lo = std::max(0.0, std::floor(src));
    const double hi = std::min(static_cast<double>(in - 1), std::ceil(src));
    taps.lo[i] = static_cast<int>(lo) * stride;
    taps.hi[i] = static_cast<int>(hi) * stride;
    taps.frac[i] = src - lo;
  }
  return taps;
}

Status Validate(const Image& image, const PreprocessOptions& options) {
  if (image.width <= 0 || image.height <= 0) {
    return InvalidArgument("image has an empty size " + std::to_string(image.width) + "x" +
                           std::to_string(image.height));
  }
  const size_t expected = size_t(image.width) * size_t(image.height) * 3;
  if (image.rgb.size() != expected) {
    return InvalidArgument("image.rgb has " + std::to_string(image.rgb.size()) +
                           " bytes, expected " + std::to_string(expected) + " for a " +
                           std::to_string(image.width) + "x" + std::to_string(image.height) +
                           " RGB image");
  }
  if (options.height <= 0 || options.width <= 0) {
    return InvalidArgument("preprocess output size " + std::to_string(options.width) + "x" +
                           std::to_string(options.height) + " (width x height) must be positive");
  }
  if (!std::isfinite(options.scale)) return InvalidArgument("preprocess scale is not finite");
  for (int c = 0; c < 3; ++c) {
    if (!std::isfinite(options.mean[c]) || !std::isfinite(options.std[c]) ||
        options.std[c] == 0.0f) {
      return InvalidArgument("preprocess mean/std for channel " + std::to_string(c) +
                             " must be finite with std != 0");
    }
  }
  return Status::Ok();
}

}  // namespace

Status PreprocessInto(const Image& image, const PreprocessOptions& options, float* dst) {
  RETURN_IF_ERROR(Validate(image, options));
  if (dst == nullptr) return InvalidArgument("preprocess destination is null");

  // float32(p * scale) for every byte value: the normalised tensor.
  float lut[256];
  for (int p = 0; p < 256; ++p) lut[p] = static_cast<float>(p * options.scale);

  const int out_h = options.height, out_w = options.width;
  const bool nchw = options.layout == Layout::kNCHW;
  const size_t plane = size_t(out_h) * size_t(out_w);
  const size_t in_row = size_t(image.width) * 3;
  const uint8_t* src = image.rgb.data();
  auto store = [&](int y, int x, int c, float v) {
    v = (v - options.mean[c]) / options.std[c];
    if (nchw) {
      dst[c * plane + size_t(y) * out_w + x] = v;
    } else {
      dst[(size_t(y) * out_w + x) * 3 + c] = v;
    }
  };

  // TF.js skips the resize when the size already matches; the bilinear maths
  // below would give the same numbers (frac == 0), but do it literally.
  if (image.height == out_h && image.width == out_w) {
    for (int y = 0; y < out_h; ++y) {
      for (int x = 0; x < out_w; ++x) {
        const uint8_t* px = src + y * in_row + size_t(x) * 3;
        for (int c = 0; c < 3; ++c) store(y, x, c, lut[px[c]]);
      }
    }
    return Status::Ok();
  }

  const Taps cols = ComputeTaps(image.width, out_w, options.resize, /*stride=*/3);
  const Taps rows = ComputeTaps(image.height, out_h, options.resize, /*stride=*/1);
  for (int y = 0; y < out_h; ++y) {
    const uint8_t* top_row = src + size_t(rows.lo[y]) * in_row;
    const uint8_t* bottom_row = src + size_t(rows.hi[y]) * in_row;
    const double yfrac = rows.frac[y];
    for (int x = 0; x < out_w; ++x) {
      const int l = cols.lo[x], r = cols.hi[x];
      const double xfrac = cols.frac[x];
      for (int c = 0; c < 3; ++c) {
        const double tl = lut[top_row[l + c]], tr = lut[top_row[r + c]];
        const double bl = lut[bottom_row[l + c]], br = lut[bottom_row[r + c]];
        const double top = tl + (tr - tl) * xfrac;
        const double bottom = bl + (br - bl) * xfrac;
        store(y, x, c, static_cast<float>(top + (bottom - top) * yfrac));
      }
    }
  }
  return Status::Ok();
}

Result<Tensor> Preprocess(const Image& image, const PreprocessOptions& options) {
  RETURN_IF_ERROR(Validate(image, options));
  const int64_t h = options.height, w = options.width;
  Tensor tensor(options.layout == Layout::kNCHW ? Shape{1, 3, h, w} : Shape{1, h, w, 3});
  RETURN_IF_ERROR(PreprocessInto(image, options, tensor.data()));
  return tensor;
}

Result<Tensor> DecodeToTensor(std::span<const uint8_t> bytes, const DecodeOptions& decode,
                              const PreprocessOptions& preprocess) {
  ASSIGN_OR_RETURN(const Image image, DecodeImage(bytes, decode));
  return Preprocess(image, preprocess);
}

}  // namespace kamado::image
