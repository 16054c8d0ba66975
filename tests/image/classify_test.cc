// `kamado infer` on the bad-input corpus (one clear line per file, non-zero
// exit, no crash) and on odd-but-valid files (each classifies like the same
// picture stored plainly). Needs models/mobilenet_v2 and data/images.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "core/file_util.h"
#include "image/decode.h"
#include "model/image_options.h"
#include "model/model_loader.h"
#include "runtime/session.h"
#include "testutil/test_data.h"
#include "tests/image/test_images.h"

namespace kamado::image {
namespace {

namespace fs = std::filesystem;
using testimg::Bytes;

const fs::path kModel = "models/mobilenet_v2";
const fs::path kCat = "data/images/chelsea.png";

struct RunResult {
  int exit_code = -1;  // -1: killed by a signal
  std::string out, err;
};

std::string Slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

RunResult RunKamado(const std::vector<std::string>& args, const fs::path& dir) {
  std::string cmd = std::string(KAMADO_BINARY) + " infer --threads 1";
  for (const std::string& a : args) cmd += " '" + a + "'";
  cmd += " >" + (dir / "stdout").string() + " 2>" + (dir / "stderr").string();
  const int status = std::system(cmd.c_str());
  RunResult r;
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  r.out = Slurp(dir / "stdout");
  r.err = Slurp(dir / "stderr");
  return r;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

void Write(const fs::path& p, const Bytes& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

class ClassifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KAMADO_REQUIRE_DATA(kModel / "kamado.yaml");
    KAMADO_REQUIRE_DATA(kCat);
    dir_ = fs::temp_directory_path() / ("kamado_classify_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path dir_;
};

TEST_F(ClassifyTest, EveryBadFileGetsOneLineNamingItAndANonZeroExit) {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator("tests/data/bad")) {
    if (e.path().filename() != "MANIFEST.tsv") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 25u);
  std::vector<std::string> args = {"--model", kModel.string()};
  args.insert(args.end(), files.begin(), files.end());
  const RunResult r = RunKamado(args, dir_);
  EXPECT_EQ(r.exit_code, 1) << "crashed or wrong exit; stderr:\n" << r.err;
  EXPECT_EQ(r.out, "") << "a bad file was classified";
  const auto lines = Lines(r.err);
  ASSERT_EQ(lines.size(), files.size()) << r.err;
  for (size_t i = 0; i < files.size(); ++i) {
    // "kamado infer: <CODE>: <file>: <reason>"
    EXPECT_EQ(lines[i].rfind("kamado infer: ", 0), 0u) << lines[i];
    EXPECT_NE(lines[i].find(" " + files[i] + ": "), std::string::npos) << lines[i];
  }
  // One at a time, too: each alone exits 1 with exactly one line.
  for (size_t i = 0; i < files.size(); i += 7) {
    const RunResult one = RunKamado({"--model", kModel.string(), files[i]}, dir_);
    EXPECT_EQ(one.exit_code, 1) << files[i];
    EXPECT_EQ(Lines(one.err).size(), 1u) << one.err;
  }
}

// Picture variants: each odd file and the plain file with the same picture.
TEST_F(ClassifyTest, OddButValidFilesClassifyLikeThePlainPicture) {
  auto cat = DecodeImageFile(kCat);
  ASSERT_TRUE(cat.ok()) << cat.status().ToString();
  // Crop to multiples of 8 so that rotated JPEG blocks stay aligned.
  const int w = cat->width / 8 * 8, h = cat->height / 8 * 8;
  Image img{w, h, Bytes(size_t(w) * h * 3)};
  for (int y = 0; y < h; ++y) {
    std::copy_n(&cat->rgb[size_t(y) * cat->width * 3], size_t(w) * 3, &img.rgb[size_t(y) * w * 3]);
  }
  const size_t n = size_t(w) * h;
  auto png_rgb = [&](const Bytes& rgb) {
    return testimg::EncodePng({.width = uint32_t(w), .height = uint32_t(h)}, rgb.data(), rgb.size());
  };
  std::map<std::string, Bytes> files;  // name -> bytes
  std::vector<std::pair<std::string, std::string>> pairs;  // odd file, plain twin
  std::map<std::string, double> tolerance;                // max |Δp| per odd file

  files["plain.png"] = png_rgb(img.rgb);
  files["plain_q95.jpg"] = testimg::EncodeJpeg(img.rgb, w, h, TJPF_RGB, TJSAMP_444, 95);
  // 16-bit: v·257 rounds back to v exactly (pngjs rule), so identical.
  std::vector<uint16_t> rgb16(img.rgb.begin(), img.rgb.end());
  for (auto& v : rgb16) v = uint16_t(v * 257);
  files["rgb16.png"] = testimg::EncodePng({.width = uint32_t(w), .height = uint32_t(h), .bit_depth = 16},
                                          rgb16.data(), rgb16.size() * 2);
  pairs.push_back({"rgb16.png", "plain.png"}), tolerance["rgb16.png"] = 0;
  Bytes rgba;
  for (size_t i = 0; i < n; ++i) rgba.insert(rgba.end(), {img.rgb[i * 3], img.rgb[i * 3 + 1], img.rgb[i * 3 + 2], 255});
  files["rgba.png"] = testimg::EncodePng({.width = uint32_t(w), .height = uint32_t(h), .color_type = 6},
                                         rgba.data(), rgba.size());
  pairs.push_back({"rgba.png", "plain.png"}), tolerance["rgba.png"] = 0;
  // Palette: the picture posterised to a 8x8x4 colour cube, as palette and as RGB.
  spng_plte plte{};
  plte.n_entries = 256;
  for (int i = 0; i < 256; ++i) {
    plte.entries[i] = {uint8_t((i >> 5) * 255 / 7), uint8_t(((i >> 2) & 7) * 255 / 7),
                       uint8_t((i & 3) * 255 / 3), 255};
  }
  Bytes indices(n), posterised(n * 3);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = &img.rgb[i * 3];
    const int idx = ((p[0] * 7 + 127) / 255) << 5 | ((p[1] * 7 + 127) / 255) << 2 | ((p[2] * 3 + 127) / 255);
    indices[i] = uint8_t(idx);
    posterised[i * 3] = plte.entries[idx].red, posterised[i * 3 + 1] = plte.entries[idx].green,
    posterised[i * 3 + 2] = plte.entries[idx].blue;
  }
  files["palette.png"] = testimg::EncodePng(
      {.width = uint32_t(w), .height = uint32_t(h), .color_type = 3, .plte = &plte}, indices.data(), n);
  files["posterised.png"] = png_rgb(posterised);
  pairs.push_back({"palette.png", "posterised.png"}), tolerance["palette.png"] = 0;
  // Gray JPEG vs the gray picture as PNG.
  Bytes gray(n), gray_rgb(n * 3);
  for (size_t i = 0; i < n; ++i) {
    gray[i] = uint8_t((img.rgb[i * 3] * 77 + img.rgb[i * 3 + 1] * 150 + img.rgb[i * 3 + 2] * 29) >> 8);
    std::fill_n(&gray_rgb[i * 3], 3, gray[i]);
  }
  files["gray.jpg"] = testimg::EncodeJpeg(gray, w, h, TJPF_GRAY, TJSAMP_GRAY, 95);
  files["gray.png"] = png_rgb(gray_rgb);
  pairs.push_back({"gray.jpg", "gray.png"}), tolerance["gray.jpg"] = 0.05;
  files["progressive.jpg"] = testimg::EncodeJpeg(img.rgb, w, h, TJPF_RGB, TJSAMP_420, 95,
                                                 TJFLAG_ACCURATEDCT | TJFLAG_PROGRESSIVE);
  pairs.push_back({"progressive.jpg", "plain.png"}), tolerance["progressive.jpg"] = 0.05;
  Bytes cmyk(n * 4);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = &img.rgb[i * 3];
    const int k = std::max({p[0], p[1], p[2], uint8_t(1)});
    for (int c = 0; c < 3; ++c) cmyk[i * 4 + c] = uint8_t(std::lround(p[c] * 255.0 / k));
    cmyk[i * 4 + 3] = uint8_t(k);
  }
  files["cmyk_adobe.jpg"] = testimg::EncodeJpeg(cmyk, w, h, TJPF_CMYK, TJSAMP_444, 95);
  pairs.push_back({"cmyk_adobe.jpg", "plain.png"}), tolerance["cmyk_adobe.jpg"] = 0.05;
  // EXIF: the rotated pixels stored with the orientation that undoes it.
  for (int o : {3, 6, 8}) {
    const Image stored = testimg::StoredFor(img, o);
    const std::string name = "exif" + std::to_string(o) + ".jpg";
    files[name] = testimg::WithExif(
        testimg::EncodeJpeg(stored.rgb, stored.width, stored.height, TJPF_RGB, TJSAMP_444, 95), o);
    pairs.push_back({name, "plain_q95.jpg"}), tolerance[name] = 0.02;
  }
  // 6 MP: the picture enlarged (nearest) to 3000x2000.
  const int bw = 3000, bh = 2000;
  Bytes big(size_t(bw) * bh * 3);
  for (int y = 0; y < bh; ++y)
    for (int x = 0; x < bw; ++x)
      std::copy_n(&img.rgb[(size_t(y * h / bh) * w + x * w / bw) * 3], 3, &big[(size_t(y) * bw + x) * 3]);
  files["6mp.jpg"] = testimg::EncodeJpeg(big, bw, bh, TJPF_RGB, TJSAMP_420, 90);
  pairs.push_back({"6mp.jpg", "plain.png"}), tolerance["6mp.jpg"] = 0.15;
  const Bytes one_px = {200, 30, 40};
  files["1x1.png"] = testimg::EncodePng({.width = 1, .height = 1}, one_px.data(), 3);
  files["1x1.jpg"] = testimg::EncodeJpeg(one_px, 1, 1);
  files["lossless.webp"] = testimg::EncodeWebp(img.rgb, w, h, 3, -1);
  // (448 px wide: decoded at 4/8 for the 224 model, so not bit-identical to the PNG)
  pairs.push_back({"lossless.webp", "plain.png"}), tolerance["lossless.webp"] = 0.05;
  files["rgba.webp"] = testimg::EncodeWebp(rgba, w, h, 4, 90);
  pairs.push_back({"rgba.webp", "plain.png"}), tolerance["rgba.webp"] = 0.1;

  std::vector<std::string> args = {"--model", kModel.string(), "--json"};
  for (const auto& [name, bytes] : files) {
    Write(dir_ / name, bytes);
    args.push_back((dir_ / name).string());
  }
  const RunResult r = RunKamado(args, dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, std::vector<float>> probs;
  for (const std::string& line : Lines(r.out)) {
    const auto j = nlohmann::json::parse(line);
    probs[fs::path(j["image"].get<std::string>()).filename().string()] =
        j["probabilities"].get<std::vector<float>>();
  }
  ASSERT_EQ(probs.size(), files.size()) << r.out;
  auto argmax = [](const std::vector<float>& p) { return std::max_element(p.begin(), p.end()) - p.begin(); };
  for (const auto& [odd, plain] : pairs) {
    const auto& a = probs[odd];
    const auto& b = probs[plain];
    double max_diff = 0;
    for (size_t i = 0; i < a.size(); ++i) max_diff = std::max(max_diff, double(std::abs(a[i] - b[i])));
    std::cout << "[ classify ] " << odd << " vs " << plain << ": top-1 " << argmax(a) << " / "
              << argmax(b) << ", max |dp| " << max_diff << "\n";
    EXPECT_EQ(argmax(a), argmax(b)) << odd << " vs " << plain;
    EXPECT_LE(max_diff, tolerance[odd]) << odd << " vs " << plain;
  }

  // --exact-resize decodes at full size: the 6 MP file still classifies the same.
  const RunResult exact =
      RunKamado({"--model", kModel.string(), "--json", "--exact-resize", (dir_ / "6mp.jpg").string()}, dir_);
  ASSERT_EQ(exact.exit_code, 0) << exact.err;
  const auto j = nlohmann::json::parse(Lines(exact.out).at(0));
  EXPECT_EQ(argmax(j["probabilities"].get<std::vector<float>>()), argmax(probs["plain.png"]));
}

// The fast path's accuracy: DCT-scaled decode (the default) vs full-size
// decode, on the JPEG photos and the PNG photos re-encoded as JPEG (q90,
// 4:2:0), for both default models. Prints the numbers docs/IMAGE_PATH.md quotes.
TEST(ScaledDecodeAccuracy, TopOneAgreesAndProbabilitiesStayClose) {
  std::vector<std::pair<std::string, Bytes>> jpegs;
  KAMADO_REQUIRE_DATA(fs::path("data/images"));
  std::vector<fs::path> paths;
  for (const auto& e : fs::directory_iterator("data/images")) paths.push_back(e.path());
  std::sort(paths.begin(), paths.end());
  for (const fs::path& p : paths) {
    if (p.extension() == ".jpg") {
      auto data = ReadFile(p);
      ASSERT_TRUE(data.ok());
      jpegs.push_back({p.filename().string(), Bytes(data->begin(), data->end())});
    } else if (p.extension() == ".png") {
      auto image = DecodeImageFile(p);
      ASSERT_TRUE(image.ok()) << image.status().ToString();
      jpegs.push_back({p.filename().string() + "->q90.jpg",
                       testimg::EncodeJpeg(image->rgb, image->width, image->height, TJPF_RGB,
                                           TJSAMP_420, 90, 0)});
    }
  }
  ASSERT_GE(jpegs.size(), 10u);
  for (const std::string model : {"mobilenet_v2", "inception_v3"}) {
    KAMADO_REQUIRE_DATA(fs::path("models") / model / "kamado.yaml");
    auto loaded = model::LoadModel(fs::path("models") / model);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    runtime::Session session(loaded->compiled);
    const PreprocessOptions pre = model::PreprocessOptionsFor(loaded->config);
    auto run = [&](const Bytes& bytes, const DecodeOptions& decode, int* w) {
      auto image = DecodeImage(bytes, decode);
      EXPECT_TRUE(image.ok()) << image.status().ToString();
      *w = image->width;
      auto tensor = Preprocess(*image, pre);
      auto out = session.Run({*tensor});
      EXPECT_TRUE(out.ok()) << out.status().ToString();
      return std::vector<float>(out->front().data(), out->front().data() + out->front().size());
    };
    double worst = 0;
    int agree = 0, scaled_count = 0;
    for (const auto& [name, bytes] : jpegs) {
      int full_w = 0, fast_w = 0;
      const auto full = run(bytes, model::DecodeOptionsFor(loaded->config, /*exact_resize=*/true), &full_w);
      const auto fast = run(bytes, model::DecodeOptionsFor(loaded->config), &fast_w);
      double d = 0;
      for (size_t i = 0; i < full.size(); ++i) d = std::max(d, double(std::abs(full[i] - fast[i])));
      const auto top = [](const std::vector<float>& p) { return std::max_element(p.begin(), p.end()) - p.begin(); };
      agree += top(full) == top(fast);
      scaled_count += fast_w < full_w;
      worst = std::max(worst, d);
      std::cout << "[ accuracy ] " << model << " " << name << ": width " << full_w << " -> "
                << fast_w << ", max |dp| " << d << ", top-1 " << (top(full) == top(fast) ? "same" : "DIFFERENT")
                << "\n";
    }
    std::cout << "[ accuracy ] " << model << ": " << jpegs.size() << " JPEGs (" << scaled_count
              << " decoded scaled), top-1 agreement " << agree << "/" << jpegs.size()
              << ", max |dp| " << worst << "\n";
    EXPECT_EQ(agree, int(jpegs.size())) << model;
    // |Δp| can be large on single images (camera.png: 0.45 with MobileNetV2):
    // the full-size path's 2x2-tap bilinear downscale aliases, the DCT-scaled
    // one does not. The bound only catches gross breakage.
    EXPECT_LE(worst, 0.5) << model;
  }
}

}  // namespace
}  // namespace kamado::image
