// Winograd on vs off for one model, interleaved run by run in one process,
// so that a neighbour's load on a shared host hits both alike (alternating
// whole processes lets the host's noise decide; see docs/PERFORMANCE.md).
//
//   winograd_ab MODEL_DIR THREADS [BATCH=1] [ROUNDS=50] [WARMUP=5]
//
// Compiles the model twice (CompileOptions::winograd true and false), then
// each round runs both once on the same random input, alternating which
// goes first. Prints each side's p50 and the median and range of the
// per-round ratios on/off, and the largest |difference| of the outputs.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "model/model_loader.h"
#include "runtime/session.h"

namespace {

using namespace kamado;

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

std::shared_ptr<const runtime::CompiledModel> Load(const char* dir, int threads, bool winograd) {
  runtime::CompileOptions options;
  options.threads = threads;
  options.winograd = winograd;
  auto loaded = model::LoadModel(dir, options);
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", loaded.status().message().c_str());
    std::exit(1);
  }
  return loaded->compiled;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL_DIR THREADS [BATCH] [ROUNDS] [WARMUP]\n", argv[0]);
    return 2;
  }
  const int threads = std::atoi(argv[2]);
  const int64_t batch = argc > 3 ? std::atoll(argv[3]) : 1;
  const int rounds = argc > 4 ? std::atoi(argv[4]) : 50;
  const int warmup = argc > 5 ? std::atoi(argv[5]) : 5;
  auto on_model = Load(argv[1], threads, true);
  auto off_model = Load(argv[1], threads, false);
  Shape shape = on_model->inputs()[0].shape;
  shape[0] = batch;
  Tensor input(shape);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  for (int64_t i = 0; i < input.size(); ++i) input.data()[i] = dist(rng);

  runtime::Session on(on_model, {.threads = threads});
  runtime::Session off(off_model, {.threads = threads});
  std::vector<Tensor> last_on, last_off;
  auto timed = [&](runtime::Session& s, std::vector<Tensor>& keep) {
    const auto t0 = std::chrono::steady_clock::now();
    auto out = s.Run({input});
    const auto t1 = std::chrono::steady_clock::now();
    if (!out.ok()) {
      std::fprintf(stderr, "%s\n", out.status().message().c_str());
      std::exit(1);
    }
    keep = std::move(out).value();
    return std::chrono::duration<double, std::milli>(t1 - t0).count();
  };
  for (int i = 0; i < warmup; ++i) timed(on, last_on), timed(off, last_off);
  std::vector<double> t_on, t_off, ratio;
  for (int i = 0; i < rounds; ++i) {
    double a = 0, b = 0;
    if (i % 2 == 0) {
      a = timed(on, last_on);
      b = timed(off, last_off);
    } else {
      b = timed(off, last_off);
      a = timed(on, last_on);
    }
    t_on.push_back(a);
    t_off.push_back(b);
    ratio.push_back(a / b);
  }
  float max_diff = 0;
  for (size_t o = 0; o < last_on.size(); ++o) {
    for (int64_t i = 0; i < last_on[o].size(); ++i) {
      max_diff = std::max(max_diff, std::fabs(last_on[o].data()[i] - last_off[o].data()[i]));
    }
  }
  std::printf("%s threads=%d batch=%lld rounds=%d: winograd p50 %.2f ms, direct p50 %.2f ms, "
              "ratio on/off median %.3f (range %.3f-%.3f), max |output diff| %.2e\n",
              argv[1], threads, static_cast<long long>(batch), rounds, Median(t_on),
              Median(t_off), Median(ratio), *std::min_element(ratio.begin(), ratio.end()),
              *std::max_element(ratio.begin(), ratio.end()), max_diff);
  return 0;
}
