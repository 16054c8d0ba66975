#include "image/decode.h"

#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>

#include "core/file_util.h"
#include "image/decode_internal.h"

namespace kamado::image {
namespace {

bool StartsWith(std::span<const uint8_t> bytes, size_t offset, std::string_view magic) {
  return bytes.size() >= offset + magic.size() &&
         std::memcmp(bytes.data() + offset, magic.data(), magic.size()) == 0;
}

// ISO-BMFF files (HEIF family) start with a box "....ftyp<major brand>".
ImageFormat SniffIsoBmff(std::span<const uint8_t> bytes) {
  if (!StartsWith(bytes, 4, "ftyp") || bytes.size() < 12) return ImageFormat::kUnknown;
  const std::string_view brand(reinterpret_cast<const char*>(bytes.data() + 8), 4);
  if (brand == "avif" || brand == "avis") return ImageFormat::kAvif;
  if (brand == "heic" || brand == "heix" || brand == "hevc" || brand == "hevx" || brand == "heim" ||
      brand == "heis" || brand == "mif1" || brand == "msf1") {
    return ImageFormat::kHeic;
  }
  return ImageFormat::kUnknown;
}

std::string HexPrefix(std::span<const uint8_t> bytes) {
  std::string out;
  char buf[4];
  for (size_t i = 0; i < bytes.size() && i < 8; ++i) {
    std::snprintf(buf, sizeof buf, i ? " %02X" : "%02X", bytes[i]);
    out += buf;
  }
  return out;
}

}  // namespace

namespace internal {

Status CheckImageSize(std::string_view format, uint64_t width, uint64_t height,
                      const DecodeOptions& options, uint32_t bytes_per_pixel) {
  const std::string size = std::to_string(width) + "x" + std::to_string(height);
  if (width == 0 || height == 0) {
    return InvalidArgument(std::string(format) + " image has an empty size " + size);
  }
  if (width > options.max_dimension || height > options.max_dimension) {
    return InvalidArgument(std::string(format) + " image is " + size + ", over the limit of " +
                           std::to_string(options.max_dimension) +
                           " pixels per side (max_dimension)");
  }
  // Both sides are <= max_dimension <= 2^32 - 1, so the product cannot overflow.
  if (width * height > options.max_pixels) {
    return InvalidArgument(std::string(format) + " image is " + size + " = " +
                           std::to_string(width * height) + " pixels, over the limit of " +
                           std::to_string(options.max_pixels) + " pixels (max_pixels)");
  }
  // Compared by division: width x height x bytes_per_pixel may not fit 64 bits.
  if (bytes_per_pixel == 0) bytes_per_pixel = 1;
  if (width * height > options.max_decode_bytes / bytes_per_pixel) {
    return InvalidArgument(std::string(format) + " image is " + size + " and needs " +
                           std::to_string(bytes_per_pixel) + " bytes per pixel to decode, over the limit of " +
                           std::to_string(options.max_decode_bytes) + " bytes (max_decode_bytes)");
  }
  if (options.reserve) return options.reserve(width * height * bytes_per_pixel);
  return Status::Ok();
}

int ScaleEighths(int width, int height, int min_width, int min_height) {
  for (int n = 1; n < 8; ++n) {
    // TJSCALED: ceil(dim · n / 8).
    const int64_t w = (int64_t{width} * n + 7) / 8, h = (int64_t{height} * n + 7) / 8;
    if (w >= min_width && h >= min_height && (min_width > 0 || min_height > 0)) return n;
  }
  return 8;
}

void ReduceAlpha(uint8_t* rgba, size_t n_pixels, const DecodeOptions& options, bool keyed_black) {
  const bool composite = options.alpha == AlphaMode::kComposite;
  const uint32_t bg[3] = {options.background[0], options.background[1], options.background[2]};
  // Forwards is safe in place: the write position never passes the read position.
  for (size_t i = 0; i < n_pixels; ++i) {
    const uint8_t* src = rgba + i * 4;
    uint8_t* dst = rgba + i * 3;
    const uint32_t a = src[3];
    const uint8_t r = src[0], g = src[1], b = src[2];
    if (composite) {
      dst[0] = static_cast<uint8_t>((r * a + bg[0] * (255 - a) + 127) / 255);
      dst[1] = static_cast<uint8_t>((g * a + bg[1] * (255 - a) + 127) / 255);
      dst[2] = static_cast<uint8_t>((b * a + bg[2] * (255 - a) + 127) / 255);
    } else {
      const bool keyed = keyed_black && a == 0;
      dst[0] = keyed ? 0 : r;
      dst[1] = keyed ? 0 : g;
      dst[2] = keyed ? 0 : b;
    }
  }
}

}  // namespace internal

ImageFormat SniffImageFormat(std::span<const uint8_t> bytes) {
  if (StartsWith(bytes, 0, "\xFF\xD8\xFF")) return ImageFormat::kJpeg;
  if (StartsWith(bytes, 0, "\x89PNG\r\n\x1A\n")) return ImageFormat::kPng;
  if (StartsWith(bytes, 0, "GIF87a") || StartsWith(bytes, 0, "GIF89a")) return ImageFormat::kGif;
  if (StartsWith(bytes, 0, "BM")) return ImageFormat::kBmp;
  if (StartsWith(bytes, 0, std::string_view("II*\0", 4)) ||
      StartsWith(bytes, 0, std::string_view("MM\0*", 4))) {
    return ImageFormat::kTiff;
  }
  if (StartsWith(bytes, 0, "RIFF") && StartsWith(bytes, 8, "WEBP")) return ImageFormat::kWebp;
  return SniffIsoBmff(bytes);
}

std::string_view ImageFormatName(ImageFormat format) {
  switch (format) {
    case ImageFormat::kJpeg:
      return "JPEG";
    case ImageFormat::kPng:
      return "PNG";
    case ImageFormat::kGif:
      return "GIF";
    case ImageFormat::kBmp:
      return "BMP";
    case ImageFormat::kTiff:
      return "TIFF";
    case ImageFormat::kWebp:
      return "WebP";
    case ImageFormat::kHeic:
      return "HEIC";
    case ImageFormat::kAvif:
      return "AVIF";
    case ImageFormat::kUnknown:
      break;
  }
  return "unknown";
}

namespace {
std::atomic<uint64_t> decode_calls{0};
}  // namespace

uint64_t DecodeImageCalls() { return decode_calls.load(std::memory_order_relaxed); }

Result<Image> DecodeImage(std::span<const uint8_t> bytes, const DecodeOptions& options) {
  decode_calls.fetch_add(1, std::memory_order_relaxed);
  if (bytes.empty()) return InvalidArgument("empty image data (0 bytes)");
  if (bytes.size() > options.max_input_bytes) {
    return InvalidArgument("image data is " + std::to_string(bytes.size()) +
                           " bytes, over the limit of " + std::to_string(options.max_input_bytes) +
                           " bytes (max_input_bytes)");
  }
  const ImageFormat format = SniffImageFormat(bytes);
  switch (format) {
    case ImageFormat::kJpeg:
      return DecodeJpeg(bytes, options);
    case ImageFormat::kPng:
      return DecodePng(bytes, options);
    case ImageFormat::kWebp:
      return DecodeWebp(bytes, options);
    case ImageFormat::kUnknown:
      return InvalidArgument("unrecognised image format (" + std::to_string(bytes.size()) +
                             " bytes starting " + HexPrefix(bytes) + "); expected JPEG, PNG or WebP");
    default:
      return Unsupported("unsupported image format " + std::string(ImageFormatName(format)) +
                         " (only JPEG, PNG and WebP are decoded)");
  }
}

Result<Image> DecodeImageFile(const std::filesystem::path& path, const DecodeOptions& options) {
  // Refuse an oversized file before reading it into memory.
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (!ec && size > options.max_input_bytes) {
    return InvalidArgument(path.string() + ": file is " + std::to_string(size) +
                           " bytes, over the limit of " + std::to_string(options.max_input_bytes) +
                           " bytes (max_input_bytes)");
  }
  ASSIGN_OR_RETURN(const std::string data, ReadFile(path));
  Result<Image> image =
      DecodeImage({reinterpret_cast<const uint8_t*>(data.data()), data.size()}, options);
  if (!image.ok()) return image.status().WithPrefix(path.string());
  return image;
}

}  // namespace kamado::image
