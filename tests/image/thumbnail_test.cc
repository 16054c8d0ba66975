// Thumbnails for the shadow report: the area average is exact on a known
// image, the aspect ratio is kept, nothing is enlarged, and a real photo
// comes back as a JPEG that decodes to at most the size asked for.
#include "image/thumbnail.h"

#include <gtest/gtest.h>

#include "core/file_util.h"
#include "image/decode.h"
#include "testutil/test_data.h"

namespace kamado::image {
namespace {

TEST(Thumbnail, DownscaleAveragesEverySourcePixelOnce) {
  Image img;
  img.width = 4;
  img.height = 2;
  // Left half 0/10/20, right half 200/210/220 (every channel distinct).
  for (int y = 0; y < 2; ++y) {
    for (int x = 0; x < 4; ++x) {
      const uint8_t base = x < 2 ? 0 : 200;
      img.rgb.insert(img.rgb.end(),
                     {base, static_cast<uint8_t>(base + 10), static_cast<uint8_t>(base + 20)});
    }
  }
  img.rgb[0] = 4;  // one odd pixel in the left block: (4 + 0 + 0 + 0) / 4 = 1
  const Image small = Downscale(img, 2);
  ASSERT_EQ(small.width, 2);
  ASSERT_EQ(small.height, 1);
  EXPECT_EQ(small.rgb, (std::vector<uint8_t>{1, 10, 20, 200, 210, 220}));
  const Image same = Downscale(img, 100);  // never enlarged
  EXPECT_EQ(same.width, 4);
  EXPECT_EQ(same.rgb, img.rgb);
}

TEST(Thumbnail, APhotoBecomesASmallJpegWithItsAspect) {
  const std::filesystem::path photo = "data/images/chelsea.png";  // 451 × 300
  KAMADO_REQUIRE_DATA(photo);
  auto bytes = ReadFile(photo);
  ASSERT_TRUE(bytes.ok());
  auto t = JpegThumbnail({reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()}, 96);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  auto decoded = DecodeImage({reinterpret_cast<const uint8_t*>(t->data()), t->size()});
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(SniffImageFormat({reinterpret_cast<const uint8_t*>(t->data()), t->size()}),
            ImageFormat::kJpeg);
  EXPECT_EQ(decoded->width, 96);
  EXPECT_EQ(decoded->height, 96 * 300 / 451);
  EXPECT_LT(t->size(), bytes->size() / 10);
  const std::string junk = "not an image";
  EXPECT_FALSE(JpegThumbnail({reinterpret_cast<const uint8_t*>(junk.data()), junk.size()}).ok());
}

}  // namespace
}  // namespace kamado::image
