// Formats beyond the basics: progressive / subsampled / restart-marker / CMYK
// JPEGs, EXIF orientation, reduced-size decoding, WebP, alpha compositing and
// the size limits.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "image/decode.h"
#include "image/decode_internal.h"
#include "tests/image/test_images.h"

namespace kamado::image {
namespace {

using testimg::Bytes;

Result<Image> Decode(const Bytes& bytes, const DecodeOptions& options = {}) {
  return DecodeImage(std::span<const uint8_t>(bytes), options);
}

Image MustDecode(const Bytes& bytes, const DecodeOptions& options = {}) {
  auto r = Decode(bytes, options);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : Image{};
}

void ExpectError(const Result<Image>& r, StatusCode code, const std::string& needle) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), code) << r.status().ToString();
  EXPECT_NE(r.status().message().find(needle), std::string::npos)
      << "message '" << r.status().message() << "' lacks '" << needle << "'";
}

TEST(DecodeJpegFormats, ProgressiveMatchesBaseline) {
  const Bytes rgb = testimg::SmoothRgb(64, 48, 1);
  const Image base = MustDecode(testimg::EncodeJpeg(rgb, 64, 48));
  const Image prog = MustDecode(testimg::EncodeJpeg(
      rgb, 64, 48, TJPF_RGB, TJSAMP_444, 100, TJFLAG_ACCURATEDCT | TJFLAG_PROGRESSIVE));
  EXPECT_LE(testimg::MaxAbsDiff(base.rgb, prog.rgb), 1);
  EXPECT_LE(testimg::MaxAbsDiff(prog.rgb, rgb), 3);
}

TEST(DecodeJpegFormats, ChromaSubsampling) {
  const Bytes rgb = testimg::SmoothRgb(64, 48, 2);
  for (int samp : {TJSAMP_444, TJSAMP_422, TJSAMP_420, TJSAMP_440, TJSAMP_411}) {
    SCOPED_TRACE(samp);
    const Image image = MustDecode(testimg::EncodeJpeg(rgb, 64, 48, TJPF_RGB, samp));
    EXPECT_EQ(image.width, 64);
    EXPECT_LE(testimg::MeanAbsDiff(image.rgb, rgb), 2.0);
  }
}

TEST(DecodeJpegFormats, RestartMarkers) {
  const Bytes rgb = testimg::SmoothRgb(64, 48, 3);
  const Bytes jpeg = testimg::EncodeJpegWithRestarts(rgb, 64, 48);
  bool has_rst = false;
  for (size_t i = 0; i + 1 < jpeg.size(); ++i) has_rst |= jpeg[i] == 0xFF && jpeg[i + 1] == 0xD0;
  ASSERT_TRUE(has_rst) << "encoder wrote no RST0 marker";
  const Image image = MustDecode(jpeg);
  EXPECT_LE(testimg::MeanAbsDiff(image.rgb, rgb), 2.0);
}

// Adobe CMYK (TurboJPEG writes YCCK with an APP14 "Adobe" marker, inverted
// values): R = C·K/255. Build the CMYK so that it converts back to `rgb`.
TEST(DecodeJpegFormats, AdobeCmykAndYcckConvertToRgb) {
  const int w = 32, h = 24;
  const Bytes rgb = testimg::SmoothRgb(w, h, 4);
  Bytes cmyk(size_t(w) * h * 4);
  for (size_t i = 0; i < size_t(w) * h; ++i) {
    const uint8_t* p = &rgb[i * 3];
    const int k = std::max({p[0], p[1], p[2], uint8_t(1)});
    for (int c = 0; c < 3; ++c) cmyk[i * 4 + c] = uint8_t(std::lround(p[c] * 255.0 / k));
    cmyk[i * 4 + 3] = uint8_t(k);
  }
  const Bytes jpeg = testimg::EncodeJpeg(cmyk, w, h, TJPF_CMYK, TJSAMP_444);
  ASSERT_TRUE(internal::ReadJpegMarkers(jpeg).adobe);
  const Image image = MustDecode(jpeg);
  ASSERT_EQ(image.width, w);
  EXPECT_LE(testimg::MaxAbsDiff(image.rgb, rgb), 8);
  EXPECT_LE(testimg::MeanAbsDiff(image.rgb, rgb), 2.0);
}

TEST(DecodeJpegFormats, AllEightExifOrientationsGiveTheUprightPicture) {
  const int w = 48, h = 32;  // multiples of 8: rotated blocks stay blocks
  const Image upright{w, h, testimg::SmoothRgb(w, h, 5)};
  const Image want = MustDecode(testimg::EncodeJpeg(upright.rgb, w, h));
  for (int o = 1; o <= 8; ++o) {
    for (bool big_endian : {true, false}) {
      SCOPED_TRACE("orientation " + std::to_string(o) + (big_endian ? " MM" : " II"));
      const Image stored = testimg::StoredFor(upright, o);
      const Bytes jpeg = testimg::WithExif(
          testimg::EncodeJpeg(stored.rgb, stored.width, stored.height), o, big_endian);
      EXPECT_EQ(internal::ReadJpegMarkers(jpeg).orientation, o);
      const Image got = MustDecode(jpeg);
      ASSERT_EQ(got.width, w);
      ASSERT_EQ(got.height, h);
      EXPECT_LE(testimg::MaxAbsDiff(got.rgb, want.rgb), 4);  // a wrong orientation gives ~100+
      // Opting out returns the stored picture.
      DecodeOptions as_stored;
      as_stored.apply_exif_orientation = false;
      const Image raw = MustDecode(jpeg, as_stored);
      EXPECT_EQ(raw.width, stored.width);
    }
  }
}

TEST(DecodeJpegFormats, OrientationByHand) {
  // Stored 3x2: a b c / d e f. Orientation 6 (rotate 90° clockwise) shows
  // d a / e b / f c; orientation 8 shows c f / b e / a d.
  Image img{3, 2, {}};
  for (uint8_t v : {1, 2, 3, 4, 5, 6}) img.rgb.insert(img.rgb.end(), {v, v, v});
  Image six = img, eight = img;
  internal::ApplyOrientation(six, 6);
  internal::ApplyOrientation(eight, 8);
  ASSERT_EQ(six.width, 2);
  ASSERT_EQ(six.height, 3);
  const uint8_t want6[] = {4, 1, 5, 2, 6, 3}, want8[] = {3, 6, 2, 5, 1, 4};
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(six.rgb[i * 3], want6[i]) << i;
    EXPECT_EQ(eight.rgb[i * 3], want8[i]) << i;
  }
}

TEST(DecodeJpegFormats, GarbageExifIsIgnored) {
  const Bytes rgb = testimg::SmoothRgb(16, 16, 6);
  Bytes jpeg = testimg::WithExif(testimg::EncodeJpeg(rgb, 16, 16), 6);
  jpeg[4 + 2 + 6 + 1] = 'X';  // break the TIFF byte-order mark
  const Image image = MustDecode(jpeg);
  EXPECT_EQ(image.width, 16);
  Bytes bad_value = testimg::WithExif(testimg::EncodeJpeg(rgb, 16, 16), 9);
  EXPECT_EQ(internal::ReadJpegMarkers(bad_value).orientation, 1);
}

TEST(ScaledDecode, PicksTheSmallestEighthStillCoveringTheMinimum) {
  using internal::ScaleEighths;
  EXPECT_EQ(ScaleEighths(4000, 3000, 299, 299), 1);  // 500x375
  EXPECT_EQ(ScaleEighths(1920, 1080, 299, 299), 3);  // 720x405 (1/4 gives 480x270)
  EXPECT_EQ(ScaleEighths(800, 600, 299, 299), 4);    // 400x300
  EXPECT_EQ(ScaleEighths(300, 300, 299, 299), 8);
  EXPECT_EQ(ScaleEighths(100, 100, 299, 299), 8);    // never upscale
  EXPECT_EQ(ScaleEighths(4000, 3000, 0, 0), 8);      // off
}

TEST(ScaledDecode, JpegIsDecodedSmallButNotBelowTheMinimum) {
  const int w = 800, h = 600;
  const Bytes rgb = testimg::SmoothRgb(w, h, 7);
  const Bytes jpeg = testimg::EncodeJpeg(rgb, w, h, TJPF_RGB, TJSAMP_420, 90);
  DecodeOptions scaled;
  scaled.min_width = scaled.min_height = 299;
  const Image small = MustDecode(jpeg, scaled);
  EXPECT_EQ(small.width, 400);
  EXPECT_EQ(small.height, 300);
  // Close to a 2x box filter of the full decode.
  const Image full = MustDecode(jpeg);
  Bytes boxed(small.rgb.size());
  for (int y = 0; y < 300; ++y)
    for (int x = 0; x < 400; ++x)
      for (int c = 0; c < 3; ++c) {
        int s = 0;
        for (int dy = 0; dy < 2; ++dy)
          for (int dx = 0; dx < 2; ++dx) s += full.rgb[((2 * y + dy) * size_t(w) + 2 * x + dx) * 3 + c];
        boxed[(size_t(y) * 400 + x) * 3 + c] = uint8_t((s + 2) / 4);
      }
  EXPECT_LE(testimg::MeanAbsDiff(small.rgb, boxed), 2.0);
}

TEST(ScaledDecode, MinimumIsInTheUprightOrientation) {
  // Stored 800x400 with orientation 6 is upright 400x800; ask for >= 100x300.
  const Bytes rgb = testimg::SmoothRgb(800, 400, 8);
  const Bytes jpeg = testimg::WithExif(testimg::EncodeJpeg(rgb, 800, 400), 6);
  DecodeOptions scaled;
  scaled.min_width = 100;
  scaled.min_height = 300;
  const Image image = MustDecode(jpeg, scaled);
  EXPECT_EQ(image.width, 150);   // stored height 400 · 3/8
  EXPECT_EQ(image.height, 300);  // stored width 800 · 3/8
}

TEST(DecodeWebp, LosslessRgbIsExact) {
  const Bytes rgb = testimg::SmoothRgb(37, 21, 9);
  const Image image = MustDecode(testimg::EncodeWebp(rgb, 37, 21, 3, -1));
  EXPECT_EQ(image.width, 37);
  EXPECT_EQ(image.height, 21);
  EXPECT_EQ(testimg::MaxAbsDiff(image.rgb, rgb), 0);
}

TEST(DecodeWebp, LossyIsClose) {
  const Bytes rgb = testimg::SmoothRgb(64, 64, 10);
  const Image image = MustDecode(testimg::EncodeWebp(rgb, 64, 64, 3, 95));
  EXPECT_LE(testimg::MeanAbsDiff(image.rgb, rgb), 3.0);
}

Bytes RgbaFixture(int w, int h) {
  Bytes rgba(size_t(w) * h * 4);
  for (size_t i = 0; i < size_t(w) * h; ++i) {
    rgba[i * 4 + 0] = uint8_t(i * 7), rgba[i * 4 + 1] = uint8_t(i * 13);
    rgba[i * 4 + 2] = uint8_t(i * 29), rgba[i * 4 + 3] = uint8_t(1 + i % 255);  // never 0
  }
  return rgba;
}

Bytes Composited(const Bytes& rgba, std::array<int, 3> bg) {
  Bytes out;
  for (size_t i = 0; i < rgba.size(); i += 4) {
    const int a = rgba[i + 3];
    for (int c = 0; c < 3; ++c) out.push_back(uint8_t((rgba[i + c] * a + bg[c] * (255 - a) + 127) / 255));
  }
  return out;
}

Bytes Dropped(const Bytes& rgba) {
  Bytes out;
  for (size_t i = 0; i < rgba.size(); i += 4) out.insert(out.end(), &rgba[i], &rgba[i + 3]);
  return out;
}

TEST(Alpha, WebpLosslessRgbaDropsOrComposites) {
  const Bytes rgba = RgbaFixture(40, 30);
  const Bytes webp = testimg::EncodeWebp(rgba, 40, 30, 4, -1);
  EXPECT_EQ(testimg::MaxAbsDiff(MustDecode(webp).rgb, Dropped(rgba)), 0);
  DecodeOptions composite;
  composite.alpha = AlphaMode::kComposite;
  composite.background = {10, 200, 30};
  EXPECT_EQ(testimg::MaxAbsDiff(MustDecode(webp, composite).rgb, Composited(rgba, {10, 200, 30})), 0);
}

TEST(Alpha, PngRgbaCompositesOnWhiteByDefaultBackground) {
  const Bytes rgba = RgbaFixture(20, 10);
  const Bytes png = testimg::EncodePng({.width = 20, .height = 10, .color_type = 6}, rgba.data(), rgba.size());
  DecodeOptions composite;
  composite.alpha = AlphaMode::kComposite;
  EXPECT_EQ(testimg::MaxAbsDiff(MustDecode(png, composite).rgb, Composited(rgba, {255, 255, 255})), 0);
  EXPECT_EQ(testimg::MaxAbsDiff(MustDecode(png).rgb, Dropped(rgba)), 0);  // default: drop
}

TEST(DecodeWebp, ScaledDecode) {
  const Bytes rgb = testimg::SmoothRgb(640, 480, 11);
  const Bytes webp = testimg::EncodeWebp(rgb, 640, 480, 3, 90);
  DecodeOptions scaled;
  scaled.min_width = scaled.min_height = 224;
  const Image image = MustDecode(webp, scaled);
  EXPECT_EQ(image.width, 320);   // 640 · 4/8 (3/8 gives 180 rows < 224)
  EXPECT_EQ(image.height, 240);
}

TEST(DecodeWebp, TruncatedAndCorrupt) {
  const Bytes webp = testimg::EncodeWebp(testimg::SmoothRgb(64, 64, 12), 64, 64, 3, 80);
  ExpectError(Decode(Bytes(webp.begin(), webp.begin() + webp.size() / 2)),
              StatusCode::kInvalidArgument, "WebP");
  ExpectError(Decode(Bytes(webp.begin(), webp.begin() + 16)), StatusCode::kInvalidArgument,
              "invalid WebP header");
}

TEST(Limits, MaxInputBytes) {
  const Bytes jpeg = testimg::EncodeJpeg(testimg::SmoothRgb(16, 16, 13), 16, 16);
  DecodeOptions options;
  options.max_input_bytes = 100;
  ExpectError(Decode(jpeg, options), StatusCode::kInvalidArgument,
              "over the limit of 100 bytes (max_input_bytes)");
  const auto path = std::filesystem::temp_directory_path() /
                    ("kamado_limits_" + std::to_string(::getpid()) + ".jpg");
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(jpeg.data()), std::streamsize(jpeg.size()));
  }
  auto r = DecodeImageFile(path, options);
  std::filesystem::remove(path);
  ExpectError(r, StatusCode::kInvalidArgument, "max_input_bytes");
  EXPECT_EQ(r.status().message().rfind(path.string(), 0), 0u);
}

TEST(Limits, MaxSideOnJpegAndWebp) {
  DecodeOptions options;
  options.max_dimension = 50;
  ExpectError(Decode(testimg::EncodeJpeg(testimg::SmoothRgb(64, 8, 14), 64, 8), options),
              StatusCode::kInvalidArgument, "64x8, over the limit of 50 pixels per side");
  ExpectError(Decode(testimg::EncodeWebp(testimg::SmoothRgb(8, 64, 15), 8, 64, 3, -1), options),
              StatusCode::kInvalidArgument, "8x64, over the limit of 50 pixels per side");
}

// A real decompression bomb: 4000x4000 1-bit zeros is a ~2 KB PNG that
// inflates to 48 MB of RGB. The pixel limit refuses it from the header.
TEST(Limits, PngBombRefusedByMaxPixels) {
  const int side = 4000;
  Bytes raw(size_t(side / 8) * side, 0);
  const Bytes png =
      testimg::EncodePng({.width = side, .height = side, .bit_depth = 1, .color_type = 0},
                         raw.data(), raw.size());
  EXPECT_LT(png.size(), 20000u);
  DecodeOptions options;
  options.max_pixels = 4'000'000;
  ExpectError(Decode(png, options), StatusCode::kInvalidArgument,
              "4000x4000 = 16000000 pixels, over the limit of 4000000 pixels (max_pixels)");
}

}  // namespace
}  // namespace kamado::image
