// WebP decoding with libwebp (lossy, lossless, alpha; optionally scaled).
#include <webp/decode.h>

#include <string>

#include "image/decode.h"
#include "image/decode_internal.h"

namespace kamado::image {
namespace {

std::string_view StatusName(VP8StatusCode status) {
  switch (status) {
    case VP8_STATUS_OK:
      return "ok";
    case VP8_STATUS_OUT_OF_MEMORY:
      return "out of memory";
    case VP8_STATUS_INVALID_PARAM:
      return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR:
      return "bitstream error";
    case VP8_STATUS_UNSUPPORTED_FEATURE:
      return "unsupported feature";
    case VP8_STATUS_SUSPENDED:
      return "suspended";
    case VP8_STATUS_USER_ABORT:
      return "user abort";
    case VP8_STATUS_NOT_ENOUGH_DATA:
      return "not enough data (truncated)";
  }
  return "unknown error";
}

// Frees libwebp's internal buffers (none when the output is external memory).
struct DecBufferGuard {
  WebPDecBuffer* buffer;
  ~DecBufferGuard() { WebPFreeDecBuffer(buffer); }
};

}  // namespace

Result<Image> DecodeWebp(std::span<const uint8_t> bytes, const DecodeOptions& options) {
  if (bytes.empty()) return InvalidArgument("empty WebP data (0 bytes)");
  WebPDecoderConfig config;
  if (!WebPInitDecoderConfig(&config)) return Internal("libwebp version mismatch");
  VP8StatusCode status = WebPGetFeatures(bytes.data(), bytes.size(), &config.input);
  if (status != VP8_STATUS_OK) {
    return InvalidArgument("invalid WebP header: " + std::string(StatusName(status)));
  }
  if (config.input.has_animation) {
    return Unsupported("unsupported image format animated WebP (only still WebP is decoded)");
  }
  const int width = config.input.width, height = config.input.height;
  RETURN_IF_ERROR(internal::CheckImageSize("WebP", static_cast<uint64_t>(width),
                                                 static_cast<uint64_t>(height), options,
                                           config.input.has_alpha ? 4 : 3));

  const int n = internal::ScaleEighths(width, height, options.min_width, options.min_height);
  const int out_w = (width * n + 7) / 8, out_h = (height * n + 7) / 8;
  if (n < 8) {
    config.options.use_scaling = 1;
    config.options.scaled_width = out_w;
    config.options.scaled_height = out_h;
  }
  const bool alpha = config.input.has_alpha != 0;
  const size_t n_pixels = size_t(out_w) * size_t(out_h);
  Image image;
  image.width = out_w;
  image.height = out_h;
  image.rgb.resize(n_pixels * (alpha ? 4 : 3));
  config.output.colorspace = alpha ? MODE_RGBA : MODE_RGB;
  config.output.is_external_memory = 1;
  config.output.u.RGBA.rgba = image.rgb.data();
  config.output.u.RGBA.stride = out_w * (alpha ? 4 : 3);
  config.output.u.RGBA.size = image.rgb.size();
  DecBufferGuard guard{&config.output};
  status = WebPDecode(bytes.data(), bytes.size(), &config);
  if (status != VP8_STATUS_OK) {
    return InvalidArgument("invalid WebP data: " + std::string(StatusName(status)));
  }
  if (alpha) {
    internal::ReduceAlpha(image.rgb.data(), n_pixels, options, /*keyed_black=*/false);
    image.rgb.resize(n_pixels * 3);
  }
  return image;
}

}  // namespace kamado::image
