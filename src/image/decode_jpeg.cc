// JPEG decoding with TurboJPEG (libjpeg-turbo's simple API).
#include <turbojpeg.h>

#include <memory>
#include <string>

#include "image/decode.h"
#include "image/decode_internal.h"

namespace kamado {
namespace {

struct TjHandleDeleter {
  void operator()(void* handle) const { tjDestroy(handle); }
};
using TjHandle = std::unique_ptr<void, TjHandleDeleter>;

std::string TjError(tjhandle handle) { return tjGetErrorStr2(handle); }

std::string_view ColorspaceName(int colorspace) {
  switch (colorspace) {
    case TJCS_RGB:
      return "RGB";
    case TJCS_YCbCr:
      return "YCbCr";
    case TJCS_GRAY:
      return "grayscale";
    case TJCS_CMYK:
      return "CMYK";
    case TJCS_YCCK:
      return "YCCK";
  }
  return "unknown";
}

}  // namespace

Result<Image> DecodeJpeg(std::span<const uint8_t> bytes, const DecodeOptions& options) {
  if (bytes.empty()) return InvalidArgument("empty JPEG data (0 bytes)");
  TjHandle handle(tjInitDecompress());
  if (!handle) return Internal("cannot create a TurboJPEG decompressor");

  int width = 0, height = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(handle.get(), bytes.data(), bytes.size(), &width, &height, &subsamp,
                          &colorspace) != 0) {
    return InvalidArgument("invalid JPEG header: " + TjError(handle.get()));
  }
  // libjpeg-turbo cannot convert CMYK/YCCK to RGB.
  if (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK) {
    return Unsupported("unsupported JPEG colour space " + std::string(ColorspaceName(colorspace)) +
                       " (only grayscale, YCbCr and RGB JPEGs are decoded)");
  }
  RETURN_IF_ERROR(image_internal::CheckImageSize("JPEG", static_cast<uint64_t>(width),
                                                 static_cast<uint64_t>(height), options));

  Image image;
  image.width = width;
  image.height = height;
  image.rgb.resize(static_cast<size_t>(width) * static_cast<size_t>(height) * 3);
  // TJFLAG_LIMITSCANS refuses progressive JPEGs with > 500 scans (a CPU-exhaustion
  // attack); TJFLAG_STOPONWARNING makes warnings fail fast when they are not accepted.
  int flags = TJFLAG_LIMITSCANS;
  if (!options.jpeg_allow_warnings) flags |= TJFLAG_STOPONWARNING;
  if (tjDecompress2(handle.get(), bytes.data(), bytes.size(), image.rgb.data(), width,
                    /*pitch=*/width * 3, height, TJPF_RGB, flags) != 0) {
    const bool warning = tjGetErrorCode(handle.get()) == TJERR_WARNING;
    if (!warning || !options.jpeg_allow_warnings) {
      return InvalidArgument(std::string(warning ? "corrupt" : "invalid") +
                             " JPEG data: " + TjError(handle.get()));
    }
  }
  return image;
}

}  // namespace kamado
