#include "image/decode.h"
#include "image/test_images.h"

#include <gtest/gtest.h>
#include <spng.h>
#include <turbojpeg.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace kamado::image {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

using testimg::EncodeJpeg;
using testimg::EncodePng;
using testimg::PngSpec;
using testimg::SmoothRgb;

void ExpectPixelsNear(const Image& image, const Bytes& expected, int tolerance) {
  ASSERT_EQ(image.rgb.size(), expected.size());
  int worst = 0;
  size_t worst_at = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    const int d = std::abs(int(image.rgb[i]) - int(expected[i]));
    if (d > worst) worst = d, worst_at = i;
  }
  EXPECT_LE(worst, tolerance) << "at byte " << worst_at << " (pixel " << worst_at / 3
                              << ", channel " << worst_at % 3 << ")";
}

Result<Image> Decode(const Bytes& bytes, const DecodeOptions& options = {}) {
  return DecodeImage(std::span<const uint8_t>(bytes), options);
}

// ---- round trips ----------------------------------------------------------

TEST(DecodePng, Rgb8RoundTripIsExact) {
  const Bytes rgb = RandomBytes(37 * 23 * 3, 1);
  const Bytes png = EncodePng({.width = 37, .height = 23}, rgb.data(), rgb.size());
  auto image = Decode(png);
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_EQ(image->width, 37);
  EXPECT_EQ(image->height, 23);
  ExpectPixelsNear(*image, rgb, 0);
}

TEST(DecodePng, Rgba8DropsAlphaWithoutCompositing) {
  const Bytes rgba = RandomBytes(19 * 11 * 4, 2);
  const Bytes png =
      EncodePng({.width = 19, .height = 11, .color_type = 6}, rgba.data(), rgba.size());
  Bytes rgb;
  for (size_t i = 0; i < rgba.size(); i += 4) rgb.insert(rgb.end(), &rgba[i], &rgba[i + 3]);
  auto image = Decode(png);
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  ExpectPixelsNear(*image, rgb, 0);
}

TEST(DecodePng, Gray8ExpandsToEqualChannels) {
  const Bytes gray = RandomBytes(16 * 9, 3);
  const Bytes png =
      EncodePng({.width = 16, .height = 9, .color_type = 0}, gray.data(), gray.size());
  Bytes rgb;
  for (uint8_t g : gray) rgb.insert(rgb.end(), {g, g, g});
  auto image = Decode(png);
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  ExpectPixelsNear(*image, rgb, 0);
}

TEST(DecodePng, Rgb16RoundsLikePngjs) {
  const int w = 64, h = 5;
  std::vector<uint16_t> raw(size_t(w) * h * 3);
  std::mt19937 rng(4);
  for (auto& v : raw) v = static_cast<uint16_t>(rng());
  raw[0] = 0xFF00;  // pngjs: round(65280 / 257) = 254; a plain v >> 8 would give 255.
  raw[1] = 0xFFFF;
  raw[2] = 0x0080;  // 128 / 257 = 0.498 -> 0
  const Bytes png = EncodePng({.width = w, .height = h, .bit_depth = 16}, raw.data(),
                              raw.size() * sizeof(uint16_t));
  Bytes expected(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    expected[i] = static_cast<uint8_t>(std::floor(raw[i] * 255.0 / 65535.0 + 0.5));
  }
  EXPECT_EQ(expected[0], 254);
  auto image = Decode(png);
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  ExpectPixelsNear(*image, expected, 0);
}

TEST(DecodePng, PaletteExpandsToRgb) {
  spng_plte plte{};
  plte.n_entries = 4;
  const uint8_t colours[4][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {12, 34, 56}};
  for (int i = 0; i < 4; ++i) plte.entries[i] = {colours[i][0], colours[i][1], colours[i][2], 255};
  const int w = 10, h = 7;
  Bytes indices(size_t(w) * h), rgb;
  for (size_t i = 0; i < indices.size(); ++i) {
    indices[i] = static_cast<uint8_t>((i * 7) % 4);
    rgb.insert(rgb.end(), colours[indices[i]], colours[indices[i]] + 3);
  }
  const Bytes png = EncodePng({.width = w, .height = h, .color_type = 3, .plte = &plte},
                              indices.data(), indices.size());
  auto image = Decode(png);
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  ExpectPixelsNear(*image, rgb, 0);
}

TEST(DecodePng, InterlacedMatchesNonInterlaced) {
  const Bytes rgb = RandomBytes(33 * 17 * 3, 5);
  int err = 0;
  const Bytes png =
      EncodePng({.width = 33, .height = 17, .interlaced = true}, rgb.data(), rgb.size(), &err);
  if (err != 0) GTEST_SKIP() << "libspng cannot encode Adam7: " << spng_strerror(err);
  auto image = Decode(png);
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  ExpectPixelsNear(*image, rgb, 0);
}

// pngjs writes (0, 0, 0, 0) for pixels equal to a tRNS colour key.
TEST(DecodePng, ColourKeyedPixelsBecomeBlackLikePngjs) {
  const Bytes gray = {10, 200, 10, 77};
  spng_trns trns{};
  trns.gray = 10;
  const Bytes png = EncodePng({.width = 2, .height = 2, .color_type = 0, .trns = &trns},
                              gray.data(), gray.size());
  auto image = Decode(png);
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  ExpectPixelsNear(*image, {0, 0, 0, 200, 200, 200, 0, 0, 0, 77, 77, 77}, 0);
}

TEST(DecodeJpeg, Rgb444Quality100IsWithin3) {
  const int w = 48, h = 40;
  const Bytes rgb = SmoothRgb(w, h, 6);
  const Bytes jpeg = EncodeJpeg(rgb, w, h, TJPF_RGB, TJSAMP_444);
  auto image = Decode(jpeg);
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_EQ(image->width, w);
  EXPECT_EQ(image->height, h);
  ExpectPixelsNear(*image, rgb, 3);
}

TEST(DecodeJpeg, GrayscaleExpandsToEqualChannels) {
  const int w = 24, h = 16;
  Bytes gray(size_t(w) * h);
  for (size_t i = 0; i < gray.size(); ++i) gray[i] = static_cast<uint8_t>(i % w * 10);
  const Bytes jpeg = EncodeJpeg(gray, w, h, TJPF_GRAY, TJSAMP_GRAY);
  auto image = Decode(jpeg);
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  Bytes rgb;
  for (uint8_t g : gray) rgb.insert(rgb.end(), {g, g, g});
  ExpectPixelsNear(*image, rgb, 3);
  for (size_t i = 0; i < image->rgb.size(); i += 3) {
    ASSERT_EQ(image->rgb[i], image->rgb[i + 1]);
    ASSERT_EQ(image->rgb[i], image->rgb[i + 2]);
  }
}

// ---- bad input ------------------------------------------------------------

void ExpectError(const Result<Image>& r, StatusCode code, const std::string& needle) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), code) << r.status().ToString();
  EXPECT_NE(r.status().message().find(needle), std::string::npos)
      << "message '" << r.status().message() << "' lacks '" << needle << "'";
}

TEST(DecodeErrors, Empty) { ExpectError(Decode({}), StatusCode::kInvalidArgument, "empty"); }

TEST(DecodeErrors, OneByte) {
  ExpectError(Decode({0xFF}), StatusCode::kInvalidArgument, "unrecognised image format");
}

TEST(DecodeErrors, UnknownBytesAreShownInHex) {
  ExpectError(Decode({'<', 'h', 't', 'm', 'l'}), StatusCode::kInvalidArgument, "3C 68 74 6D 6C");
}

TEST(DecodeErrors, RecognisedButUnsupportedFormats) {
  const std::pair<Bytes, std::string> cases[] = {
      {{'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0}, "GIF"},
      {{'B', 'M', 0x36, 0, 0, 0}, "BMP"},
      {{'I', 'I', '*', 0, 8, 0, 0, 0}, "TIFF"},
      {{'M', 'M', 0, '*', 0, 0, 0, 8}, "TIFF"},
      {{0, 0, 0, 0x18, 'f', 't', 'y', 'p', 'h', 'e', 'i', 'c', 0, 0, 0, 0}, "HEIC"},
      {{0, 0, 0, 0x1C, 'f', 't', 'y', 'p', 'a', 'v', 'i', 'f', 0, 0, 0, 0}, "AVIF"},
  };
  for (const auto& [bytes, name] : cases) {
    SCOPED_TRACE(name);
    ExpectError(Decode(bytes), StatusCode::kUnsupported, "unsupported image format " + name);
  }
}

TEST(DecodeErrors, AnimatedWebpIsUnsupported) {
  // RIFF/WEBP with a VP8X header whose animation flag (bit 1) is set.
  Bytes webp = {'R', 'I', 'F', 'F', 22, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', 'X',
                10,  0,   0,   0,   0x02, 0, 0, 0, 9, 0, 0, 9, 0, 0};
  ExpectError(Decode(webp), StatusCode::kUnsupported, "animated WebP");
}

TEST(DecodeErrors, MagicOnly) {
  ExpectError(Decode({0xFF, 0xD8, 0xFF}), StatusCode::kInvalidArgument, "JPEG");
  ExpectError(Decode({0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}), StatusCode::kInvalidArgument,
              "PNG");
}

TEST(DecodeErrors, TruncatedPng) {
  const Bytes rgb = RandomBytes(40 * 40 * 3, 7);
  const Bytes png = EncodePng({.width = 40, .height = 40}, rgb.data(), rgb.size());
  // Cuts inside the IHDR, the first IDAT header and the compressed image data. (A PNG
  // cut after its last IDAT, missing only IEND, still decodes, as in browsers.)
  for (size_t keep : {size_t{20}, size_t{33}, png.size() / 2, png.size() - 40}) {
    SCOPED_TRACE(keep);
    ExpectError(Decode(Bytes(png.begin(), png.begin() + keep)), StatusCode::kInvalidArgument,
                "invalid PNG data");
  }
}

TEST(DecodeErrors, TruncatedJpeg) {
  const Bytes rgb = SmoothRgb(64, 64, 8);
  const Bytes jpeg = EncodeJpeg(rgb, 64, 64, TJPF_RGB, TJSAMP_444);
  for (size_t keep : {size_t{10}, jpeg.size() / 2, jpeg.size() - 2}) {
    SCOPED_TRACE(keep);
    ExpectError(Decode(Bytes(jpeg.begin(), jpeg.begin() + keep)), StatusCode::kInvalidArgument,
                "JPEG");
  }
  // With warnings allowed, libjpeg pads the missing part and the decode succeeds.
  DecodeOptions lenient;
  lenient.jpeg_allow_warnings = true;
  EXPECT_TRUE(Decode(Bytes(jpeg.begin(), jpeg.begin() + jpeg.size() / 2), lenient).ok());
}

uint32_t Crc32(const uint8_t* data, size_t n) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    crc ^= data[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

void PutBe32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24), p[1] = uint8_t(v >> 16), p[2] = uint8_t(v >> 8), p[3] = uint8_t(v);
}

TEST(DecodeErrors, HugePngIsRefusedFromTheHeader) {
  const Bytes rgb = RandomBytes(3, 9);
  Bytes png = EncodePng({.width = 1, .height = 1}, rgb.data(), rgb.size());
  // Signature (8) | IHDR length (4) | "IHDR" (4) | width (4) | height (4) | ... | CRC.
  ASSERT_EQ(std::memcmp(&png[12], "IHDR", 4), 0);
  PutBe32(&png[16], 60000);
  PutBe32(&png[20], 60000);
  PutBe32(&png[29], Crc32(&png[12], 17));
  auto r = Decode(png);
  ExpectError(r, StatusCode::kInvalidArgument, "over the limit of 100000000 pixels (max_pixels)");
  EXPECT_NE(r.status().message().find("60000x60000"), std::string::npos);

  PutBe32(&png[16], 70000);
  PutBe32(&png[20], 1);
  PutBe32(&png[29], Crc32(&png[12], 17));
  ExpectError(Decode(png), StatusCode::kInvalidArgument, "max_dimension");
}

TEST(DecodeErrors, JpegOverPixelLimit) {
  const Bytes jpeg = EncodeJpeg(SmoothRgb(32, 32, 10), 32, 32, TJPF_RGB, TJSAMP_444);
  DecodeOptions options;
  options.max_pixels = 1000;
  ExpectError(Decode(jpeg, options), StatusCode::kInvalidArgument,
              "32x32 = 1024 pixels, over the limit of 1000 pixels (max_pixels)");
}

// Random corruption must give an error or an image, never a crash.
TEST(DecodeErrors, CorruptedBytesNeverCrash) {
  const Bytes rgb = SmoothRgb(32, 32, 11);
  const Bytes inputs[] = {
      EncodePng({.width = 32, .height = 32}, rgb.data(), rgb.size()),
      EncodeJpeg(rgb, 32, 32, TJPF_RGB, TJSAMP_420),
  };
  std::mt19937 rng(12);
  for (const Bytes& original : inputs) {
    for (int trial = 0; trial < 300; ++trial) {
      Bytes bytes = original;
      const int flips = 1 + int(rng() % 8);
      for (int f = 0; f < flips; ++f) bytes[3 + rng() % (bytes.size() - 3)] = uint8_t(rng());
      auto r = Decode(bytes);
      if (r.ok()) {
        EXPECT_EQ(r->rgb.size(), size_t(r->width) * r->height * 3);
      }
    }
  }
}

// ---- files ----------------------------------------------------------------

TEST(DecodeImageFile, MissingFileIsNotFound) {
  auto r = DecodeImageFile("no/such/image.png");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("no/such/image.png"), std::string::npos);
}

TEST(DecodeImageFile, ErrorsArePrefixedWithThePath) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("kamado_decode_test_" + std::to_string(::getpid()) + ".gif");
  {
    std::ofstream out(path, std::ios::binary);
    out << "GIF89a\x01\x00\x01\x00";
  }
  auto r = DecodeImageFile(path);
  std::filesystem::remove(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_EQ(r.status().message().rfind(path.string() + ": unsupported image format GIF", 0), 0u)
      << r.status().message();
}

TEST(DecodeImageFile, RoundTripThroughAFile) {
  const Bytes rgb = RandomBytes(5 * 4 * 3, 13);
  const Bytes png = EncodePng({.width = 5, .height = 4}, rgb.data(), rgb.size());
  const auto path = std::filesystem::temp_directory_path() /
                    ("kamado_decode_test_" + std::to_string(::getpid()) + ".png");
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(png.data()), std::streamsize(png.size()));
  }
  auto image = DecodeImageFile(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  ExpectPixelsNear(*image, rgb, 0);
}

}  // namespace
}  // namespace kamado::image
