// Decode-to-tensor time for a 12 MP (4000x3000) and a 1080p JPEG, full-size vs
// DCT-scaled decode, into a 299x299 (InceptionV3) and a 224x224 (MobileNetV2)
// tensor. The JPEGs are generated here with TurboJPEG (q90, 4:2:0) from a
// synthetic photo-like picture (smooth gradients, edges and noise), so the run
// needs no data. Single thread; pin with `taskset -c 0`.
#include <benchmark/benchmark.h>
#include <turbojpeg.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "image/decode.h"
#include "image/preprocess.h"

namespace {

using Bytes = std::vector<uint8_t>;

Bytes MakeJpeg(int w, int h) {
  Bytes rgb(size_t(w) * h * 3);
  std::mt19937 rng(42);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &rgb[(size_t(y) * w + x) * 3];
      const double u = double(x) / w, v = double(y) / h;
      const int noise = int(rng() % 17) - 8;
      const bool disc = (u - 0.5) * (u - 0.5) + (v - 0.5) * (v - 0.5) < 0.06;
      p[0] = uint8_t(std::clamp(int(255 * u) + noise + (disc ? 60 : 0), 0, 255));
      p[1] = uint8_t(std::clamp(int(120 + 100 * std::sin(12 * u) * std::cos(9 * v)) + noise, 0, 255));
      p[2] = uint8_t(std::clamp(int(255 * v) + noise - (disc ? 60 : 0), 0, 255));
    }
  }
  tjhandle handle = tjInitCompress();
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  tjCompress2(handle, rgb.data(), w, 0, h, TJPF_RGB, &buf, &size, TJSAMP_420, 90, 0);
  Bytes out(buf, buf + size);
  tjFree(buf);
  tjDestroy(handle);
  return out;
}

const Bytes& Jpeg(int w, int h) {
  static const Bytes k12mp = MakeJpeg(4000, 3000);
  static const Bytes k1080p = MakeJpeg(1920, 1080);
  return w == 4000 ? k12mp : k1080p;
}

// args: width, height, output side, scaled (0/1)
void BM_JpegToTensor(benchmark::State& state) {
  const Bytes& jpeg = Jpeg(int(state.range(0)), int(state.range(1)));
  const int side = int(state.range(2));
  kamado::image::DecodeOptions decode;
  if (state.range(3)) decode.min_width = decode.min_height = side;
  kamado::image::PreprocessOptions pre{.height = side, .width = side};
  std::vector<float> dst(size_t(side) * side * 3);
  int decoded_w = 0, decoded_h = 0;
  for (auto _ : state) {
    auto image = kamado::image::DecodeImage(jpeg, decode);
    if (!image.ok()) {
      state.SkipWithError(image.status().ToString().c_str());
      return;
    }
    decoded_w = image->width, decoded_h = image->height;
    if (!kamado::image::PreprocessInto(*image, pre, dst.data()).ok()) state.SkipWithError("preprocess");
    benchmark::DoNotOptimize(dst.data());
  }
  state.counters["decoded_w"] = decoded_w;
  state.counters["decoded_h"] = decoded_h;
  state.counters["jpeg_kB"] = double(jpeg.size()) / 1024;
}

void Args(benchmark::internal::Benchmark* b) {
  for (int side : {299, 224})
    for (int scaled : {0, 1}) {
      b->Args({4000, 3000, side, scaled});
      b->Args({1920, 1080, side, scaled});
    }
  b->ArgNames({"w", "h", "side", "scaled"})->Unit(benchmark::kMillisecond)->UseRealTime();
}
BENCHMARK(BM_JpegToTensor)->Apply(Args);

}  // namespace

BENCHMARK_MAIN();
