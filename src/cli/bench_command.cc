#include "cli/bench_command.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "bench/latency_stats.h"
#include "runtime/model_loader.h"
#include "runtime/session.h"

namespace kamado::cli {
namespace {

struct BenchArgs {
  std::string model;
  int iterations = 100;
  int warmup = 10;
  int threads = 0;
  int batch = 1;
  bool json = false;
  bool profile = false;
};

void PrintProfile(const runtime::Session& session, std::ostream& out) {
  // Per op type and the ten most expensive steps, from the profiled runs.
  std::map<std::string, std::pair<double, double>> by_op;  // ms, flops
  double total = 0;
  for (const auto& s : session.profile()) {
    const double ms = s.runs ? s.total_ms / s.runs : 0.0;
    by_op[s.op].first += ms;
    by_op[s.op].second += s.flops;
    total += ms;
  }
  out << "profile (mean ms per run, " << session.threads() << " threads):\n";
  for (const auto& [op, v] : by_op) {
    out << fmt::format("  {:<14} {:8.3f} ms  {:5.1f}%  {:7.1f} GFLOP/s\n", op, v.first,
                       100.0 * v.first / total, v.first > 0 ? v.second / v.first / 1e6 : 0.0);
  }
  std::vector<runtime::StepProfile> steps = session.profile();
  std::sort(steps.begin(), steps.end(), [](const auto& a, const auto& b) {
    return a.total_ms > b.total_ms;
  });
  out << "  heaviest steps:\n";
  for (size_t i = 0; i < std::min<size_t>(10, steps.size()); ++i) {
    const auto& s = steps[i];
    const double ms = s.runs ? s.total_ms / s.runs : 0.0;
    out << fmt::format("  {:<28} {:<8} {:8.3f} ms  {:7.1f} GFLOP/s  {}\n", s.node, s.op, ms,
                       ms > 0 ? s.flops / ms / 1e6 : 0.0, s.impl);
  }
}

int RunBench(const BenchArgs& args) {
  runtime::CompileOptions compile;
  compile.threads = args.threads;
  const auto load_start = std::chrono::steady_clock::now();
  auto loaded = runtime::LoadModel(args.model, compile);
  if (!loaded.ok()) {
    std::cerr << "kamado bench: " << loaded.status().ToString() << "\n";
    return 2;
  }
  const double load_ms = std::chrono::duration<double, std::milli>(
                             std::chrono::steady_clock::now() - load_start)
                             .count();
  runtime::Session session(loaded->compiled, {.threads = args.threads, .profile = args.profile});
  Shape shape = loaded->compiled->inputs().front().shape;
  shape[0] = args.batch;
  Tensor input(shape);
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  for (float& v : input.span()) v = uniform(rng);

  for (int i = 0; i < args.warmup; ++i) {
    auto r = session.Run({input});
    if (!r.ok()) {
      std::cerr << "kamado bench: " << r.status().ToString() << "\n";
      return 1;
    }
  }
  std::vector<double> samples;
  samples.reserve(static_cast<size_t>(args.iterations));
  for (int i = 0; i < args.iterations; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = session.Run({input});
    samples.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    if (!r.ok()) {
      std::cerr << "kamado bench: " << r.status().ToString() << "\n";
      return 1;
    }
  }
  const bench::LatencyStats s = bench::Summarize(samples);
  const double throughput = s.mean_ms > 0 ? 1000.0 * args.batch / s.mean_ms : 0.0;
  std::cout << fmt::format(
      "model {} batch {} threads {}: mean {:.3f} ms, p50 {:.3f}, p90 {:.3f}, p99 {:.3f}, "
      "min {:.3f}, max {:.3f} ms; {:.1f} images/s (load+compile {:.0f} ms, {} iterations)\n",
      loaded->config.name, args.batch, session.threads(), s.mean_ms, s.p50_ms, s.p90_ms, s.p99_ms,
      s.min_ms, s.max_ms, throughput, load_ms, args.iterations);
  if (args.profile) PrintProfile(session, std::cout);
  if (args.json) {
    nlohmann::json j = {{"model", loaded->config.name}, {"batch", args.batch},
                        {"threads", session.threads()}, {"iterations", args.iterations},
                        {"mean_ms", s.mean_ms},        {"p50_ms", s.p50_ms},
                        {"p90_ms", s.p90_ms},          {"p99_ms", s.p99_ms},
                        {"min_ms", s.min_ms},          {"max_ms", s.max_ms},
                        {"throughput_ips", throughput}};
    std::cout << j.dump() << "\n";
  }
  return 0;
}

}  // namespace

void AddBenchCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand("bench", "Measure model latency on random input tensors");
  cmd->add_option("--model", args->model, "Model directory (holds kamado.yaml)")->required();
  cmd->add_option("--iterations", args->iterations, "Timed runs")->check(CLI::PositiveNumber);
  cmd->add_option("--warmup", args->warmup, "Untimed runs first")->check(CLI::NonNegativeNumber);
  cmd->add_option("--threads", args->threads, "Intra-op threads (0 = all cores)");
  cmd->add_option("--batch", args->batch, "Images per run")->check(CLI::Range(1, 1024));
  cmd->add_flag("--json", args->json, "Last line: one JSON object with the statistics");
  cmd->add_flag("--profile", args->profile, "Time every step and print where the time goes");
  cmd->callback([args, &exit_code] { exit_code = RunBench(*args); });
}

}  // namespace kamado::cli
