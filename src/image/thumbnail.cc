#include "image/thumbnail.h"

#include <turbojpeg.h>

#include <algorithm>
#include <memory>

#include "image/decode.h"

namespace kamado::image {

Image Downscale(const Image& image, int max_side) {
  const int longer = std::max(image.width, image.height);
  if (longer <= max_side || max_side < 1) return image;
  Image out;
  out.width = std::max(1, static_cast<int>(int64_t{image.width} * max_side / longer));
  out.height = std::max(1, static_cast<int>(int64_t{image.height} * max_side / longer));
  out.rgb.resize(static_cast<size_t>(out.width) * static_cast<size_t>(out.height) * 3);
  // Output pixel (x, y) averages the source pixels [x·W/w, (x+1)·W/w) × the
  // same in y: every source pixel counts once (no aliasing).
  for (int y = 0; y < out.height; ++y) {
    const int y0 = static_cast<int>(int64_t{y} * image.height / out.height);
    const int y1 = std::max(y0 + 1, static_cast<int>(int64_t{y + 1} * image.height / out.height));
    for (int x = 0; x < out.width; ++x) {
      const int x0 = static_cast<int>(int64_t{x} * image.width / out.width);
      const int x1 = std::max(x0 + 1, static_cast<int>(int64_t{x + 1} * image.width / out.width));
      uint64_t sum[3] = {0, 0, 0};
      for (int sy = y0; sy < y1; ++sy) {
        const uint8_t* row =
            &image.rgb[(static_cast<size_t>(sy) * static_cast<size_t>(image.width)) * 3];
        for (int sx = x0; sx < x1; ++sx) {
          for (int c = 0; c < 3; ++c)
            sum[c] += row[static_cast<size_t>(sx) * 3 + static_cast<size_t>(c)];
        }
      }
      const uint64_t n = static_cast<uint64_t>(x1 - x0) * static_cast<uint64_t>(y1 - y0);
      uint8_t* dst = &out.rgb[(static_cast<size_t>(y) * static_cast<size_t>(out.width) +
                               static_cast<size_t>(x)) *
                              3];
      for (int c = 0; c < 3; ++c) dst[c] = static_cast<uint8_t>((sum[c] + n / 2) / n);
    }
  }
  return out;
}

Result<std::string> JpegThumbnail(std::span<const uint8_t> photo, int max_side, int quality) {
  DecodeOptions options;
  const int side = std::max(1, max_side);
  options.min_width = options.min_height =
      side;  // reduced-size JPEG/WebP decoding down to about `side`
  ASSIGN_OR_RETURN(Image decoded, DecodeImage(photo, options));
  const Image small = Downscale(decoded, side);
  struct Deleter {
    void operator()(void* h) const { tjDestroy(h); }
  };
  std::unique_ptr<void, Deleter> handle(tjInitCompress());
  if (!handle) return Internal("tjInitCompress failed");
  unsigned char* jpeg = nullptr;
  unsigned long size = 0;
  if (tjCompress2(handle.get(), small.rgb.data(), small.width, 0, small.height, TJPF_RGB, &jpeg,
                  &size, TJSAMP_420, std::clamp(quality, 1, 100), TJFLAG_ACCURATEDCT) != 0) {
    std::string why = tjGetErrorStr2(handle.get());
    tjFree(jpeg);
    return Internal("JPEG thumbnail: " + why);
  }
  std::string out(reinterpret_cast<const char*>(jpeg), size);
  tjFree(jpeg);
  return out;
}

}  // namespace kamado::image
