// PNG decoding with libspng.
//
// The output matches pngjs (what the TF.js reference uses) byte for byte:
//  - every image is expanded to RGBA (palette, gray, sub-8-bit by bit
//    replication, which equals pngjs's round(v * 255 / (2^depth - 1)));
//  - 16-bit samples: pngjs computes floor(v * 255 / 65535 + 0.5) while spng's
//    RGBA8 output is v >> 8, so 16-bit images are decoded to RGBA16 and scaled
//    here as (v * 255 + 32767) / 65535, the same integer;
//  - a tRNS colour key (gray/RGB images) makes pngjs write (0, 0, 0, 0), so
//    keyed pixels become black once alpha is dropped;
//  - by default alpha is dropped without compositing (AlphaMode::kComposite
//    blends over the background instead); gAMA, sBIT, iCCP are ignored.
#include <spng.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "image/decode.h"
#include "image/decode_internal.h"

namespace kamado::image {
namespace {

struct SpngCtxDeleter {
  void operator()(spng_ctx* ctx) const { spng_ctx_free(ctx); }
};
using SpngCtx = std::unique_ptr<spng_ctx, SpngCtxDeleter>;

constexpr uint8_t kColorGray = 0;
constexpr uint8_t kColorRgb = 2;

Status SpngError(std::string_view what, int err, const DecodeOptions& options) {
  std::string message = "invalid PNG data (" + std::string(what) + "): " + spng_strerror(err);
  if (err == SPNG_EUSER_WIDTH || err == SPNG_EUSER_HEIGHT) {
    message += " (over the limit of " + std::to_string(options.max_dimension) +
               " pixels per side, max_dimension)";
  } else if (err == SPNG_ECHUNK_LIMITS) {
    message += " (limits: png_max_chunk_bytes " + std::to_string(options.png_max_chunk_bytes) +
               ", png_max_chunk_cache_bytes " + std::to_string(options.png_max_chunk_cache_bytes) +
               ")";
  }
  return InvalidArgument(std::move(message));
}

}  // namespace

Result<Image> DecodePng(std::span<const uint8_t> bytes, const DecodeOptions& options) {
  if (bytes.empty()) return InvalidArgument("empty PNG data (0 bytes)");
  SpngCtx ctx(spng_ctx_new(0));
  if (!ctx) return Internal("cannot create a libspng decoder context");

  // spng limits are per side and at most 2^31 - 1.
  const uint32_t side_limit = std::min<uint32_t>(options.max_dimension, 0x7FFFFFFFu);
  int err = spng_set_image_limits(ctx.get(), side_limit, side_limit);
  if (err == 0) {
    err = spng_set_chunk_limits(ctx.get(), options.png_max_chunk_bytes,
                                options.png_max_chunk_cache_bytes);
  }
  if (err != 0) return InvalidArgument(std::string("bad PNG decode limits: ") + spng_strerror(err));
  err = spng_set_png_buffer(ctx.get(), bytes.data(), bytes.size());
  if (err != 0) return SpngError("buffer", err, options);

  spng_ihdr ihdr{};
  err = spng_get_ihdr(ctx.get(), &ihdr);
  if (err != 0) return SpngError("IHDR", err, options);
  // 16-bit: an RGBA16 buffer (8 bytes per pixel) and the RGBA8 result (4).
  RETURN_IF_ERROR(internal::CheckImageSize("PNG", ihdr.width, ihdr.height, options,
                                           ihdr.bit_depth == 16 ? 12 : 4));

  // Only gray/RGB images can carry a colour key; for them alpha comes from
  // tRNS alone, so alpha == 0 <=> the pixel matched the key.
  bool colour_key = false;
  if (ihdr.color_type == kColorGray || ihdr.color_type == kColorRgb) {
    spng_trns trns{};
    colour_key = spng_get_trns(ctx.get(), &trns) == 0;
  }

  const size_t n_pixels = size_t{ihdr.width} * size_t{ihdr.height};
  Image image;
  image.width = static_cast<int>(ihdr.width);
  image.height = static_cast<int>(ihdr.height);

  if (ihdr.bit_depth == 16) {
    std::vector<uint16_t> rgba16(n_pixels * 4);
    err = spng_decode_image(ctx.get(), rgba16.data(), rgba16.size() * sizeof(uint16_t),
                            SPNG_FMT_RGBA16, SPNG_DECODE_TRNS);
    if (err != 0) return SpngError("image data", err, options);
    image.rgb.resize(n_pixels * 4);
    for (size_t i = 0; i < n_pixels * 4; ++i) {
      // == floor(v * 255 / 65535 + 0.5), pngjs's rescale.
      image.rgb[i] = static_cast<uint8_t>((uint32_t{rgba16[i]} * 255 + 32767) / 65535);
    }
    internal::ReduceAlpha(image.rgb.data(), n_pixels, options, colour_key);
    image.rgb.resize(n_pixels * 3);
    return image;
  }

  size_t len = 0;
  err = spng_decoded_image_size(ctx.get(), SPNG_FMT_RGBA8, &len);
  if (err != 0) return SpngError("image size", err, options);
  if (len != n_pixels * 4) {
    return Internal("libspng reports " + std::to_string(len) + " bytes for a " +
                    std::to_string(ihdr.width) + "x" + std::to_string(ihdr.height) +
                    " RGBA8 image");
  }
  image.rgb.resize(len);
  err = spng_decode_image(ctx.get(), image.rgb.data(), len, SPNG_FMT_RGBA8, SPNG_DECODE_TRNS);
  if (err != 0) return SpngError("image data", err, options);
  internal::ReduceAlpha(image.rgb.data(), n_pixels, options, colour_key);
  image.rgb.resize(n_pixels * 3);
  return image;
}

}  // namespace kamado::image
