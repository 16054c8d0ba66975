#include "image/preprocess.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

namespace kamado::image {
namespace {



Image MakeImage(int w, int h, std::vector<uint8_t> rgb) { return Image{w, h, std::move(rgb)}; }

Image RandomImage(int w, int h, std::mt19937& rng) {
  Image image{w, h, std::vector<uint8_t>(size_t(w) * h * 3)};
  for (auto& b : image.rgb) b = static_cast<uint8_t>(rng());
  return image;
}

// The oracle: TF.js's CPU kernels written out plainly, one output value at a
// time, with a full float32 normalised image as TF.js has.
std::vector<float> ReferencePreprocess(const Image& image, const PreprocessOptions& o) {
  const int ih = image.height, iw = image.width, oh = o.height, ow = o.width;
  std::vector<float> normalized(image.rgb.size());
  for (size_t i = 0; i < image.rgb.size(); ++i) {
    normalized[i] = static_cast<float>(double(image.rgb[i]) * o.scale);
  }
  auto at = [&](int y, int x, int c) { return double(normalized[(size_t(y) * iw + x) * 3 + c]); };
  const bool half = o.resize == Resize::kBilinearHalfPixel;
  const bool same = ih == oh && iw == ow;
  const double row_ratio = (!half && oh > 1) ? double(ih - 1) / double(oh - 1) : double(ih) / oh;
  const double col_ratio = (!half && ow > 1) ? double(iw - 1) / double(ow - 1) : double(iw) / ow;
  std::vector<float> out(size_t(oh) * ow * 3);
  for (int y = 0; y < oh; ++y) {
    for (int x = 0; x < ow; ++x) {
      for (int c = 0; c < 3; ++c) {
        float v;
        if (same) {
          v = normalized[(size_t(y) * iw + x) * 3 + c];
        } else {
          const double sy = half ? row_ratio * (y + 0.5) - 0.5 : row_ratio * y;
          const double sx = half ? col_ratio * (x + 0.5) - 0.5 : col_ratio * x;
          const int y0 = std::max(0, int(std::floor(sy)));
          const int y1 = std::min(ih - 1, int(std::ceil(sy)));
          const int x0 = std::max(0, int(std::floor(sx)));
          const int x1 = std::min(iw - 1, int(std::ceil(sx)));
          const double fy = sy - y0, fx = sx - x0;
          const double top = at(y0, x0, c) + (at(y0, x1, c) - at(y0, x0, c)) * fx;
          const double bottom = at(y1, x0, c) + (at(y1, x1, c) - at(y1, x0, c)) * fx;
          v = static_cast<float>(top + (bottom - top) * fy);
        }
        const size_t idx = o.layout == Layout::kNCHW ? (size_t(c) * oh + y) * ow + x
                                                         : (size_t(y) * ow + x) * 3 + c;
        out[idx] = (v - o.mean[c]) / o.std[c];
      }
    }
  }
  return out;
}

// Bitwise equality (so -0.0 vs 0.0 or NaN would show up), with a useful message.
void ExpectBitwiseEqual(std::span<const float> got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    if (std::memcmp(&got[i], &want[i], sizeof(float)) != 0) {
      FAIL() << "index " << i << ": got " << got[i] << ", want " << want[i];
    }
  }
}

TEST(Preprocess, NormalisationIsCorrectlyRoundedDivisionBy255) {
  // TF.js computes float32(p / 255); the default scale multiplies by 1/255.0.
  Image image{256, 1, {}};
  for (int p = 0; p < 256; ++p)
    image.rgb.insert(image.rgb.end(), {uint8_t(p), uint8_t(p), uint8_t(p)});
  auto t = Preprocess(image, {.height = 1, .width = 256});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  for (int p = 0; p < 256; ++p) {
    ASSERT_EQ((*t)[p * 3], static_cast<float>(p / 255.0)) << "p = " << p;
  }
}

TEST(Preprocess, AlignCorners2x2To3x3ByHand) {
  // Channel 0 = [[0, 10], [20, 30]], channel 1 = 2 * channel 0, channel 2 = 255.
  const Image image = MakeImage(2, 2, {0, 0, 255, 10, 20, 255, 20, 40, 255, 30, 60, 255});
  auto t = Preprocess(image, {.height = 3, .width = 3, .scale = 1.0});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->shape(), (Shape{1, 3, 3, 3}));
  const float want[9] = {0, 5, 10, 10, 15, 20, 20, 25, 30};
  for (int i = 0; i < 9; ++i) {
    EXPECT_EQ((*t)[i * 3 + 0], want[i]) << i;
    EXPECT_EQ((*t)[i * 3 + 1], 2 * want[i]) << i;
    EXPECT_EQ((*t)[i * 3 + 2], 255.0f) << i;
  }
}

TEST(Preprocess, HalfPixel2To4ByHand) {
  // src = 0.5 * (i + 0.5) - 0.5 = -0.25, 0.25, 0.75, 1.25 -> 0, 2.5, 7.5, 10 (edges clamp).
  const Image image = MakeImage(2, 1, {0, 0, 0, 10, 10, 10});
  auto t = Preprocess(
      image, {.height = 1, .width = 4, .scale = 1.0, .resize = Resize::kBilinearHalfPixel});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  const float want[4] = {0, 2.5f, 7.5f, 10};
  for (int i = 0; i < 4; ++i) EXPECT_EQ((*t)[i * 3], want[i]) << i;
}

TEST(Preprocess, SameSizeIsJustNormalisation) {
  std::mt19937 rng(1);
  const Image image = RandomImage(7, 5, rng);
  for (Resize resize : {Resize::kBilinearAlignCorners, Resize::kBilinearHalfPixel}) {
    auto t = Preprocess(image, {.height = 5, .width = 7, .resize = resize});
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    for (size_t i = 0; i < image.rgb.size(); ++i) {
      ASSERT_EQ((*t)[int64_t(i)], static_cast<float>(image.rgb[i] / 255.0)) << i;
    }
  }
}

TEST(Preprocess, MatchesPlainReferenceOnRandomSizes) {
  std::mt19937 rng(2);
  for (int trial = 0; trial < 200; ++trial) {
    const int iw = 1 + int(rng() % 40), ih = 1 + int(rng() % 40);
    const Image image = RandomImage(iw, ih, rng);
    PreprocessOptions o;
    o.width = 1 + int(rng() % 50);
    o.height = 1 + int(rng() % 50);
    if (trial % 7 == 0) o.width = iw;  // same size on one axis only
    o.resize = trial % 2 ? Resize::kBilinearHalfPixel : Resize::kBilinearAlignCorners;
    o.layout = trial % 3 ? Layout::kNHWC : Layout::kNCHW;
    if (trial % 4 == 1) {
      o.scale = 2.0 / 255.0;
      o.mean = {0.485f, 0.456f, 0.406f};
      o.std = {0.229f, 0.224f, 0.225f};
    }
    SCOPED_TRACE(::testing::Message()
                 << iw << "x" << ih << " -> " << o.width << "x" << o.height << " trial " << trial);
    auto t = Preprocess(image, o);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    const Shape want_shape = o.layout == Layout::kNCHW ? Shape{1, 3, o.height, o.width}
                                                           : Shape{1, o.height, o.width, 3};
    ASSERT_EQ(t->shape(), want_shape);
    ExpectBitwiseEqual(t->span(), ReferencePreprocess(image, o));
  }
}

TEST(Preprocess, NchwIsPlanarNhwc) {
  std::mt19937 rng(3);
  const Image image = RandomImage(31, 17, rng);
  PreprocessOptions o{.height = 12, .width = 9};
  auto nhwc = Preprocess(image, o);
  o.layout = Layout::kNCHW;
  auto nchw = Preprocess(image, o);
  ASSERT_TRUE(nhwc.ok() && nchw.ok());
  for (int y = 0; y < 12; ++y)
    for (int x = 0; x < 9; ++x)
      for (int c = 0; c < 3; ++c)
        ASSERT_EQ((*nhwc)[(y * 9 + x) * 3 + c], (*nchw)[(c * 12 + y) * 9 + x]);
}

TEST(Preprocess, PreprocessIntoWritesExactlyOneImage) {
  std::mt19937 rng(4);
  const Image image = RandomImage(10, 10, rng);
  const PreprocessOptions o{.height = 4, .width = 5};
  std::vector<float> buf(4 * 5 * 3 + 2, -7.0f);
  ASSERT_TRUE(PreprocessInto(image, o, buf.data() + 1).ok());
  EXPECT_EQ(buf.front(), -7.0f);
  EXPECT_EQ(buf.back(), -7.0f);
  auto t = Preprocess(image, o);
  ASSERT_TRUE(t.ok());
  for (int i = 0; i < 60; ++i) EXPECT_EQ(buf[i + 1], (*t)[i]);
}

TEST(Preprocess, RejectsBadInputNamingTheField) {
  std::mt19937 rng(5);
  const Image good = RandomImage(4, 4, rng);
  const PreprocessOptions ok{.height = 2, .width = 2};
  struct Case {
    Image image;
    PreprocessOptions options;
    std::string needle;
  };
  Image short_rgb = good;
  short_rgb.rgb.pop_back();
  PreprocessOptions zero_std = ok;
  zero_std.std[1] = 0;
  PreprocessOptions zero_size = ok;
  zero_size.width = 0;
  const Case cases[] = {
      {Image{}, ok, "empty size"},
      {short_rgb, ok, "image.rgb has 47 bytes, expected 48"},
      {good, zero_size, "output size"},
      {good, zero_std, "channel 1"},
  };
  for (const Case& c : cases) {
    auto t = Preprocess(c.image, c.options);
    ASSERT_FALSE(t.ok()) << c.needle;
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(t.status().message().find(c.needle), std::string::npos) << t.status().message();
  }
  EXPECT_FALSE(PreprocessInto(good, ok, nullptr).ok());
}

}  // namespace
}  // namespace kamado::image
