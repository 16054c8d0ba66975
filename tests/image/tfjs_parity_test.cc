// Parity with the TF.js reference preprocessing (tests/reference/make_reference.js):
// build/reference/<model>/<sha256 of the PNG file>.f32 holds the tensor TF.js
// made from data/images/<name>.png, raw little-endian float32 NHWC [1, S, S, 3].
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "core/file_util.h"
#include "image/decode.h"
#include "image/preprocess.h"
#include "testutil/sha256.h"
#include "testutil/test_data.h"

namespace kamado::image {
namespace {

namespace fs = std::filesystem;

const fs::path kImages = "data/images";
const fs::path kReference = "build/reference";

std::vector<fs::path> Sorted(const fs::path& dir, bool want_dirs, const std::string& ext) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (want_dirs ? entry.is_directory()
                  : (entry.is_regular_file() && entry.path().extension() == ext)) {
      out.push_back(entry.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(TfjsParity, PreprocessedPngsMatchTfjsExactly) {
  const auto pngs = Sorted(kImages, false, ".png");
  const auto models = Sorted(kReference, true, "");
  KAMADO_REQUIRE_DATA(kImages);
  KAMADO_REQUIRE_DATA(kReference);
  ASSERT_FALSE(pngs.empty()) << "no " << kImages << "/*.png";
  ASSERT_GE(models.size(), 2u) << "expected both default models in " << kReference;

  int compared = 0;
  for (const fs::path& model : models) {
    double model_max = 0;
    int model_files = 0;
    size_t model_values = 0, model_exact = 0;
    for (const fs::path& png : pngs) {
      auto bytes = ReadFile(png);
      ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
      const std::span<const uint8_t> data(reinterpret_cast<const uint8_t*>(bytes->data()),
                                          bytes->size());
      const fs::path ref_path = model / (testing::Sha256Hex(data) + ".f32");
      if (!fs::exists(ref_path)) continue;
      SCOPED_TRACE(png.string() + " vs " + ref_path.string());

      auto ref_bytes = ReadFile(ref_path);
      ASSERT_TRUE(ref_bytes.ok()) << ref_bytes.status().ToString();
      ASSERT_EQ(ref_bytes->size() % (3 * sizeof(float)), 0u);
      const size_t n = ref_bytes->size() / sizeof(float);
      const int side = static_cast<int>(std::lround(std::sqrt(double(n / 3))));
      ASSERT_EQ(size_t(side) * side * 3, n) << "reference is not a square [1,S,S,3] tensor";
      std::vector<float> ref(n);
      std::memcpy(ref.data(), ref_bytes->data(), ref_bytes->size());  // host is little-endian

      auto image = DecodeImage(data);
      ASSERT_TRUE(image.ok()) << image.status().ToString();
      auto tensor = Preprocess(*image, {.height = side, .width = side});
      ASSERT_TRUE(tensor.ok()) << tensor.status().ToString();
      ASSERT_EQ(tensor->shape(), (Shape{1, side, side, 3}));

      double max_diff = 0;
      size_t exact = 0, worst = 0;
      for (size_t i = 0; i < n; ++i) {
        const double d = std::abs(double((*tensor)[int64_t(i)]) - double(ref[i]));
        if (d > max_diff) max_diff = d, worst = i;
        exact += (*tensor)[int64_t(i)] == ref[i];
      }
      EXPECT_LE(max_diff, 1e-6) << "worst at index " << worst << ": kamado "
                                << (*tensor)[int64_t(worst)] << ", tfjs " << ref[worst];
      std::cout << "[ parity ] " << model.filename().string() << " " << png.filename().string()
                << " (" << image->width << "x" << image->height << " -> " << side << "x" << side
                << "): max |diff| " << max_diff << ", " << exact << "/" << n
                << " values bit-identical\n";
      model_max = std::max(model_max, max_diff);
      model_values += n;
      model_exact += exact;
      ++model_files;
      ++compared;
    }
    std::cout << "[ parity ] " << model.filename().string() << ": " << model_files
              << " images, max |diff| " << model_max << ", " << model_exact << "/" << model_values
              << " values bit-identical\n";
    RecordProperty(model.filename().string() + "_max_abs_diff", std::to_string(model_max));
  }
  EXPECT_GE(compared, 12) << "too few reference tensors in " << kReference
                          << "/<model>/ match the SHA-256 of " << kImages << "/*.png";
}

}  // namespace
}  // namespace kamado::image
