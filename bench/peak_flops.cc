// The machine's fp32 FMA ceiling: how many GFLOP/s a core can reach at all,
// so engine results can be read as a fraction of peak. Twelve independent
// accumulators hide the FMA latency on both ports; one FMA = 2 FLOPs per lane.
//
//   build/bench/peak_flops --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>
#include <immintrin.h>

namespace {

constexpr int kAccumulators = 12;
constexpr int64_t kInnerIterations = 1 << 16;

__attribute__((target("avx2,fma"), noinline)) float FmaLoopAvx2(int64_t n) {
  __m256 acc[kAccumulators];
  for (int i = 0; i < kAccumulators; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i));
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (int64_t it = 0; it < n; ++it) {
    for (int i = 0; i < kAccumulators; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  }
  __m256 sum = acc[0];
  for (int i = 1; i < kAccumulators; ++i) sum = _mm256_add_ps(sum, acc[i]);
  return _mm256_cvtss_f32(sum);
}

__attribute__((target("avx512f"), noinline)) float FmaLoopAvx512(int64_t n) {
  __m512 acc[kAccumulators];
  for (int i = 0; i < kAccumulators; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (int64_t it = 0; it < n; ++it) {
    for (int i = 0; i < kAccumulators; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  }
  return _mm512_reduce_add_ps(acc[0]);
}

void BM_FmaAvx2(benchmark::State& state) {
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    state.SkipWithError("no AVX2/FMA on this CPU");
    return;
  }
  for (auto _ : state) {
    int64_t n = kInnerIterations;
    benchmark::DoNotOptimize(n);  // keep the call inside the timed loop
    benchmark::DoNotOptimize(FmaLoopAvx2(n));
  }
  state.counters["GFLOPS"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * kInnerIterations * kAccumulators * 8 * 2 / 1e9,
      benchmark::Counter::kIsRate);
}

void BM_FmaAvx512(benchmark::State& state) {
  if (!__builtin_cpu_supports("avx512f")) {
    state.SkipWithError("no AVX-512 on this CPU");
    return;
  }
  for (auto _ : state) {
    int64_t n = kInnerIterations;
    benchmark::DoNotOptimize(n);
    benchmark::DoNotOptimize(FmaLoopAvx512(n));
  }
  state.counters["GFLOPS"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * kInnerIterations * kAccumulators * 16 * 2 / 1e9,
      benchmark::Counter::kIsRate);
}

// Per-thread counters are summed: the 2-thread rows are the machine's total.
BENCHMARK(BM_FmaAvx2)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_FmaAvx512)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
