// Image decoding: JPEG (TurboJPEG) and PNG (libspng) to interleaved RGB8.
//
// The format is chosen from the magic bytes only, never from a file name or a
// MIME type. Every function here is thread-safe (each call uses its own
// decoder state) and never throws. Errors:
//   InvalidArgument  empty, unrecognised, truncated or corrupt data; an image
//                    over a DecodeOptions limit (the message names the limit);
//   Unsupported      a recognised format kamado does not decode (GIF, BMP,
//                    TIFF, WebP, HEIC, AVIF) or an unsupported JPEG colour space;
//   NotFound         (DecodeImageFile) the file does not exist.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

#include "core/result.h"
#include "image/image.h"

namespace kamado {

struct DecodeOptions {
  // Refuse images with more pixels than this, checked from the header before
  // the pixel buffer is allocated.
  uint64_t max_pixels = 100'000'000;
  // Refuse images wider or taller than this.
  uint32_t max_dimension = 65535;
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
// JPEG: grayscale images are expanded to R = G = B. EXIF orientation is ignored.
Result<Image> DecodeImage(std::span<const uint8_t> bytes, const DecodeOptions& options = {});

// Format-specific entry points (no sniffing beyond what the library does).
Result<Image> DecodeJpeg(std::span<const uint8_t> bytes, const DecodeOptions& options = {});
Result<Image> DecodePng(std::span<const uint8_t> bytes, const DecodeOptions& options = {});

// Reads `path` (core ReadFile) and decodes it; error messages start with the path.
Result<Image> DecodeImageFile(const std::filesystem::path& path, const DecodeOptions& options = {});

}  // namespace kamado
