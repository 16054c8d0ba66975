// JPEG decoding with TurboJPEG (libjpeg-turbo's simple API).
#include <turbojpeg.h>

#include <memory>
#include <string>
#include <vector>

#include "image/decode.h"
#include "image/decode_internal.h"

namespace kamado::image {
namespace {

struct TjHandleDeleter {
  void operator()(void* handle) const { tjDestroy(handle); }
};
using TjHandle = std::unique_ptr<void, TjHandleDeleter>;

std::string TjError(tjhandle handle) { return tjGetErrorStr2(handle); }

// CMYK -> RGB without a colour profile. Adobe files store inverted values
// (255 − ink), so R = C'·K'/255; plain CMYK: R = (255 − C)(255 − K)/255.
void CmykToRgb(const std::vector<uint8_t>& cmyk, bool inverted, uint8_t* rgb, size_t n_pixels) {
  for (size_t i = 0; i < n_pixels; ++i) {
    const uint8_t* s = &cmyk[i * 4];
    uint32_t c = s[0], m = s[1], y = s[2], k = s[3];
    if (!inverted) c = 255 - c, m = 255 - m, y = 255 - y, k = 255 - k;
    rgb[i * 3 + 0] = static_cast<uint8_t>((c * k + 127) / 255);
    rgb[i * 3 + 1] = static_cast<uint8_t>((m * k + 127) / 255);
    rgb[i * 3 + 2] = static_cast<uint8_t>((y * k + 127) / 255);
  }
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
  // libjpeg-turbo 2.1 reports success with a 0x0 size when the data ends
  // before the frame header.
  if (width <= 0 || height <= 0) {
    return InvalidArgument("invalid JPEG header: no frame size (truncated before SOF, or " +
                           std::to_string(width) + "x" + std::to_string(height) + ")");
  }
  RETURN_IF_ERROR(internal::CheckImageSize("JPEG", static_cast<uint64_t>(width),
                                                 static_cast<uint64_t>(height), options,
                                              /*bytes_per_pixel=*/6));
  const internal::JpegMarkers markers = internal::ReadJpegMarkers(bytes);
  const int orientation = options.apply_exif_orientation ? markers.orientation : 1;

  // The minimum size is given upright; orientations 5-8 swap the stored axes.
  int min_w = options.min_width, min_h = options.min_height;
  if (orientation >= 5) std::swap(min_w, min_h);
  const int n = internal::ScaleEighths(width, height, min_w, min_h);
  const tjscalingfactor factor{n, 8};
  const int out_w = TJSCALED(width, factor), out_h = TJSCALED(height, factor);

  const bool cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
  const size_t n_pixels = size_t(out_w) * size_t(out_h);
  Image image;
  image.width = out_w;
  image.height = out_h;
  image.rgb.resize(n_pixels * 3);
  std::vector<uint8_t> cmyk_buf;
  if (cmyk) cmyk_buf.resize(n_pixels * 4);
  // TJFLAG_LIMITSCANS refuses progressive JPEGs with > 500 scans (a CPU-exhaustion
  // attack); TJFLAG_STOPONWARNING makes warnings fail fast when they are not accepted.
  int flags = TJFLAG_LIMITSCANS;
  if (!options.jpeg_allow_warnings) flags |= TJFLAG_STOPONWARNING;
  uint8_t* dst = cmyk ? cmyk_buf.data() : image.rgb.data();
  const int pitch = out_w * (cmyk ? 4 : 3);
  if (tjDecompress2(handle.get(), bytes.data(), bytes.size(), dst, out_w, pitch, out_h,
                    cmyk ? TJPF_CMYK : TJPF_RGB, flags) != 0) {
    const bool warning = tjGetErrorCode(handle.get()) == TJERR_WARNING;
    if (!warning || !options.jpeg_allow_warnings) {
      return InvalidArgument(std::string(warning ? "corrupt" : "invalid") +
                             " JPEG data: " + TjError(handle.get()));
    }
  }
  if (cmyk) CmykToRgb(cmyk_buf, markers.adobe, image.rgb.data(), n_pixels);
  internal::ApplyOrientation(image, orientation);
  return image;
}

}  // namespace kamado::image
