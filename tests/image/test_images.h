// Encoders and fixtures shared by the image tests: JPEG (TurboJPEG, and
// libjpeg for restart markers), PNG (libspng), WebP (libwebp), EXIF segments.
#pragma once

#include <gtest/gtest.h>
#include <jpeglib.h>
#include <spng.h>
#include <turbojpeg.h>
#include <webp/encode.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "image/image.h"

namespace kamado::image::testimg {

using Bytes = std::vector<uint8_t>;

// A smooth RGB picture (gradients and a slow wave): what JPEG is meant for.
inline Bytes SmoothRgb(int w, int h, uint32_t seed) {
  Bytes out(size_t(w) * h * 3);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &out[(size_t(y) * w + x) * 3];
      p[0] = static_cast<uint8_t>(std::min(255, 20 + 2 * (x % 110)));
      p[1] = static_cast<uint8_t>(std::max(0, 230 - 2 * (y % 110)));
      p[2] = static_cast<uint8_t>(128 + 40 * std::sin((x + seed) / 9.0) * std::cos(y / 11.0));
    }
  }
  return out;
}

inline Bytes EncodeJpeg(const uint8_t* pixels, int w, int h, int pixel_format, int subsamp,
                        int quality = 100, int flags = TJFLAG_ACCURATEDCT) {
  tjhandle handle = tjInitCompress();
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  const int rc =
      tjCompress2(handle, pixels, w, 0, h, pixel_format, &buf, &size, subsamp, quality, flags);
  EXPECT_EQ(rc, 0) << tjGetErrorStr2(handle);
  Bytes out(buf, buf + size);
  tjFree(buf);
  tjDestroy(handle);
  return out;
}

inline Bytes EncodeJpeg(const Bytes& pixels, int w, int h, int pixel_format = TJPF_RGB,
                        int subsamp = TJSAMP_444, int quality = 100,
                        int flags = TJFLAG_ACCURATEDCT) {
  return EncodeJpeg(pixels.data(), w, h, pixel_format, subsamp, quality, flags);
}

// Baseline RGB JPEG with a restart marker after every MCU row (libjpeg API).
inline Bytes EncodeJpegWithRestarts(const Bytes& rgb, int w, int h) {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr jerr;
  cinfo.err = jpeg_std_error(&jerr);
  jpeg_create_compress(&cinfo);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buf, &size);
  cinfo.image_width = w;
  cinfo.image_height = h;
  cinfo.input_components = 3;
  cinfo.in_color_space = JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, 95, TRUE);
  cinfo.restart_in_rows = 1;
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(&rgb[size_t(cinfo.next_scanline) * w * 3]);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  Bytes out(buf, buf + size);
  std::free(buf);
  return out;
}

// The APP1 segment of a minimal EXIF block whose IFD0 holds one tag,
// Orientation = `orientation`, in big-endian ("MM") or little-endian ("II") order.
inline Bytes ExifApp1(int orientation, bool big_endian = true) {
  auto u16 = [&](Bytes& b, uint16_t v) {
    if (big_endian) b.insert(b.end(), {uint8_t(v >> 8), uint8_t(v)});
    else b.insert(b.end(), {uint8_t(v), uint8_t(v >> 8)});
  };
  auto u32 = [&](Bytes& b, uint32_t v) {
    if (big_endian) u16(b, uint16_t(v >> 16)), u16(b, uint16_t(v));
    else u16(b, uint16_t(v)), u16(b, uint16_t(v >> 16));
  };
  Bytes tiff;
  tiff.insert(tiff.end(), big_endian ? std::initializer_list<uint8_t>{'M', 'M'}
                                     : std::initializer_list<uint8_t>{'I', 'I'});
  u16(tiff, 42);
  u32(tiff, 8);           // IFD0 offset
  u16(tiff, 1);           // one entry
  u16(tiff, 0x0112);      // Orientation
  u16(tiff, 3);           // SHORT
  u32(tiff, 1);           // count
  u16(tiff, uint16_t(orientation));
  u16(tiff, 0);           // value padding
  u32(tiff, 0);           // no next IFD
  Bytes payload = {'E', 'x', 'i', 'f', 0, 0};
  payload.insert(payload.end(), tiff.begin(), tiff.end());
  const size_t len = payload.size() + 2;
  Bytes seg = {0xFF, 0xE1, uint8_t(len >> 8), uint8_t(len)};
  seg.insert(seg.end(), payload.begin(), payload.end());
  return seg;
}

// `jpeg` with an EXIF APP1 segment inserted right after SOI.
inline Bytes WithExif(const Bytes& jpeg, int orientation, bool big_endian = true) {
  const Bytes seg = ExifApp1(orientation, big_endian);
  Bytes out(jpeg.begin(), jpeg.begin() + 2);
  out.insert(out.end(), seg.begin(), seg.end());
  out.insert(out.end(), jpeg.begin() + 2, jpeg.end());
  return out;
}

// The stored picture that EXIF `orientation` turns into `upright`: the
// inverse of the transform the decoder applies (EXIF 2.3 definitions).
inline Image StoredFor(const Image& upright, int orientation) {
  const bool swap = orientation >= 5;
  const int w = swap ? upright.height : upright.width;  // stored size
  const int h = swap ? upright.width : upright.height;
  Image stored{w, h, Bytes(upright.rgb.size())};
  for (int y = 0; y < upright.height; ++y) {
    for (int x = 0; x < upright.width; ++x) {
      int sx = x, sy = y;
      switch (orientation) {
        case 2: sx = w - 1 - x; break;
        case 3: sx = w - 1 - x; sy = h - 1 - y; break;
        case 4: sy = h - 1 - y; break;
        case 5: sx = y; sy = x; break;
        case 6: sx = y; sy = h - 1 - x; break;
        case 7: sx = w - 1 - y; sy = h - 1 - x; break;
        case 8: sx = w - 1 - y; sy = x; break;
      }
      std::copy_n(&upright.rgb[(size_t(y) * upright.width + x) * 3], 3,
                  &stored.rgb[(size_t(sy) * w + sx) * 3]);
    }
  }
  return stored;
}

struct PngSpec {
  uint32_t width = 0, height = 0;
  uint8_t bit_depth = 8;
  uint8_t color_type = 2;  // 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA
  bool interlaced = false;
  const spng_plte* plte = nullptr;
  const spng_trns* trns = nullptr;
};

// Encodes `raw` (PNG sample layout; 16-bit samples host-endian). With
// `error`, a libspng refusal is reported there (and an empty vector returned)
// instead of failing the test.
inline Bytes EncodePng(const PngSpec& spec, const void* raw, size_t raw_bytes,
                       int* error = nullptr) {
  spng_ctx* ctx = spng_ctx_new(SPNG_CTX_ENCODER);
  spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
  spng_ihdr ihdr{};
  ihdr.width = spec.width;
  ihdr.height = spec.height;
  ihdr.bit_depth = spec.bit_depth;
  ihdr.color_type = spec.color_type;
  ihdr.interlace_method = spec.interlaced ? SPNG_INTERLACE_ADAM7 : SPNG_INTERLACE_NONE;
  int err = spng_set_ihdr(ctx, &ihdr);
  if (!err && spec.plte) err = spng_set_plte(ctx, const_cast<spng_plte*>(spec.plte));
  if (!err && spec.trns) err = spng_set_trns(ctx, const_cast<spng_trns*>(spec.trns));
  if (!err) err = spng_encode_image(ctx, raw, raw_bytes, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
  Bytes out;
  if (!err) {
    size_t len = 0;
    void* buf = spng_get_png_buffer(ctx, &len, &err);
    if (buf) out.assign(static_cast<uint8_t*>(buf), static_cast<uint8_t*>(buf) + len);
    std::free(buf);
  }
  spng_ctx_free(ctx);
  if (error) {
    *error = err;
  } else {
    EXPECT_EQ(err, 0) << spng_strerror(err);
  }
  return out;
}

// WebP: quality < 0 means lossless. `channels` is 3 (RGB) or 4 (RGBA).
inline Bytes EncodeWebp(const Bytes& pixels, int w, int h, int channels, float quality) {
  uint8_t* out = nullptr;
  size_t size = 0;
  if (quality < 0) {
    size = channels == 4 ? WebPEncodeLosslessRGBA(pixels.data(), w, h, w * 4, &out)
                         : WebPEncodeLosslessRGB(pixels.data(), w, h, w * 3, &out);
  } else {
    size = channels == 4 ? WebPEncodeRGBA(pixels.data(), w, h, w * 4, quality, &out)
                         : WebPEncodeRGB(pixels.data(), w, h, w * 3, quality, &out);
  }
  EXPECT_GT(size, 0u) << "WebP encoding failed";
  Bytes bytes(out, out + size);
  WebPFree(out);
  return bytes;
}

// Largest |a - b| over all bytes (sizes must match).
inline int MaxAbsDiff(const Bytes& a, const Bytes& b) {
  EXPECT_EQ(a.size(), b.size());
  int worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    worst = std::max(worst, std::abs(int(a[i]) - int(b[i])));
  }
  return worst;
}

inline double MeanAbsDiff(const Bytes& a, const Bytes& b) {
  double sum = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) sum += std::abs(int(a[i]) - int(b[i]));
  return a.empty() ? 0 : sum / double(a.size());
}

}  // namespace kamado::image::testimg
