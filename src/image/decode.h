// Image decoding: JPEG (TurboJPEG), PNG (libspng) and WebP (libwebp) to
// interleaved RGB8.
//
// The format is chosen from the magic bytes only, never from a file name or a
// MIME type. Every function here is thread-safe (each call uses its own
// decoder state) and never throws. Errors:
//   InvalidArgument  empty, unrecognised, truncated or corrupt data; an image
//                    over a DecodeOptions limit (the message names the limit);
//   Unsupported      a recognised format kamado does not decode (GIF, BMP,
//                    TIFF, HEIC, AVIF) or an unsupported JPEG colour space;
//   NotFound         (DecodeImageFile) the file does not exist.
//
// Alpha (PNG, WebP): by default (AlphaMode::kDrop) the alpha channel is
// dropped and the colour kept as stored — what pngjs, and therefore the TF.js
// reference kamado is tested against, does. AlphaMode::kComposite blends each
// pixel over `background` (default opaque white, 255 255 255):
// out = (c · a + bg · (255 − a) + 127) / 255, in integers.
//
// Reduced-size decoding: with min_width/min_height set, a JPEG is decoded with
// TurboJPEG's DCT scaling (factors n/8) and a WebP with libwebp's scaler to the
// smallest size that is still >= min_width x min_height (in the displayed
// orientation, after EXIF rotation); never above the stored size. 0 (the
// default) decodes at full size. The pixels differ from a full-size decode
// followed by resizing, so parity work leaves these at 0 (see
// docs/IMAGE_PATH.md for the measured effect on the default models).
#pragma once

#include <array>
#include <functional>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

#include "core/result.h"
#include "image/image.h"

namespace kamado::image {

enum class AlphaMode {
  kDrop,       // ignore alpha, keep the stored colour (pngjs / TF.js reference)
  kComposite,  // blend over DecodeOptions::background
};

struct DecodeOptions {
  // Refuse inputs larger than this many bytes (DecodeImageFile checks the
  // file size before reading it).
  size_t max_input_bytes = size_t{64} << 20;
  // Refuse images with more pixels than this, checked from the header before
  // the pixel buffer is allocated (the stored size, before any scaling).
  uint64_t max_pixels = 100'000'000;
  // Refuse images wider or taller than this ("max side").
  uint32_t max_dimension = 65535;
  // Refuse images whose decode needs more memory than this: pixels times the
  // decoder's peak bytes per pixel (JPEG 6, 8-bit PNG 4, 16-bit PNG 12, WebP
  // 3 or 4), checked from the header, so a small file cannot ask for
  // gigabytes (a 10000x10000 16-bit PNG needs 1.2 GB).
  uint64_t max_decode_bytes = uint64_t{512} << 20;
  // Optional: called with that figure once the header is read, before the
  // pixel buffer is allocated; a non-OK status refuses the image with it.
  // Serving uses it for its per-request and in-flight decode budgets.
  std::function<Status(uint64_t decode_bytes)> reserve;
  // Smallest acceptable decoded size for reduced-size decoding (JPEG, WebP);
  // 0 = full size. See the file comment.
  int min_width = 0;
  int min_height = 0;
  // JPEG: rotate/flip by the EXIF Orientation tag (1-8) so the image is
  // upright. PNG and WebP are returned as stored.
  bool apply_exif_orientation = true;
  AlphaMode alpha = AlphaMode::kDrop;
  std::array<uint8_t, 3> background{255, 255, 255};
  // PNG: the largest single chunk, and the most memory for cached ancillary
  // chunks (text, ICC profiles, ...), in bytes.
  size_t png_max_chunk_bytes = size_t{16} << 20;
  size_t png_max_chunk_cache_bytes = size_t{64} << 20;
  // JPEG: accept data that libjpeg decodes with a warning (e.g. "Premature end
  // of JPEG file" for truncated data, extraneous bytes before a marker). Off:
  // such images are refused with InvalidArgument.
  bool jpeg_allow_warnings = false;
};

enum class ImageFormat { kUnknown, kJpeg, kPng, kGif, kBmp, kTiff, kWebp, kHeic, kAvif };

// Identifies the format from the leading bytes (kUnknown when none matches).
ImageFormat SniffImageFormat(std::span<const uint8_t> bytes);
// "JPEG", "PNG", "GIF", ... ("unknown" for kUnknown).
std::string_view ImageFormatName(ImageFormat format);

// Decodes a JPEG or PNG held in memory.
//
// PNG: palette, grayscale, 1–16-bit and interlaced images are supported. The
// result matches pngjs (the TF.js reference decoder) exactly: alpha is dropped
// without compositing; 16-bit samples become round(v * 255 / 65535); pixels
// equal to a tRNS colour key (grayscale/RGB images) become black (0, 0, 0).
// No gamma or colour-profile correction is applied.
// JPEG: baseline, progressive, arithmetic, any subsampling, restart markers.
// Grayscale is expanded to R = G = B. CMYK/YCCK are decoded to CMYK and
// converted naively (R = (255 − C)(255 − K) / 255, ...); a file with an Adobe
// APP14 marker stores inverted CMYK (as Photoshop and libjpeg write it), so
// there R = C · K / 255. No ICC profile is applied. EXIF orientation is
// applied unless options.apply_exif_orientation is false.
// WebP: lossy, lossless, with or without alpha; animated WebP is refused as
// Unsupported.
Result<Image> DecodeImage(std::span<const uint8_t> bytes, const DecodeOptions& options = {});

// How many times DecodeImage has been called in this process (relaxed
// atomic; thread-safe). Tests use it to prove a request was refused before
// anything was decoded.
uint64_t DecodeImageCalls();

// Format-specific entry points (no sniffing beyond what the library does).
Result<Image> DecodeJpeg(std::span<const uint8_t> bytes, const DecodeOptions& options = {});
Result<Image> DecodePng(std::span<const uint8_t> bytes, const DecodeOptions& options = {});
Result<Image> DecodeWebp(std::span<const uint8_t> bytes, const DecodeOptions& options = {});

// Reads `path` (core ReadFile) and decodes it; error messages start with the path.
Result<Image> DecodeImageFile(const std::filesystem::path& path, const DecodeOptions& options = {});

}  // namespace kamado::image
