#include "cli/bench_command.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "perf/latency_stats.h"
#include "perf/monitor.h"
#include "perf/proc_stats.h"
#include "perf/progress.h"
#include "perf/report.h"
#include "cli/image_files.h"
#include "cli/precision_flag.h"
#include "core/file_util.h"
#include "core/process_usage.h"
#include "image/decode.h"
#include "image/preprocess.h"
#include "model/image_options.h"
#include "model/model_loader.h"
#include "runtime/session.h"

namespace kamado::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct BenchArgs {
  std::string model;
  std::vector<std::string> images;
  int iterations = 100;
  int warmup = 10;
  int threads = 0;
  int batch = 1;
  bool json = false;
  bool profile = false;
  bool exact_resize = false;
  std::string report;
  std::string command_line;
  std::string precision;
};

double MsBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

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

struct EncodedImage {
  std::string path;
  std::string bytes;
};

// Every image file named, directories expanded (sorted, not recursive).
// Files are read up front: the timed loop measures decode, not the disk.
Result<std::vector<EncodedImage>> ReadImages(const std::vector<std::string>& args) {
  std::vector<std::filesystem::path> paths;
  for (const std::string& a : args) {
    std::error_code ec;
    if (std::filesystem::is_directory(a, ec)) {
      ASSIGN_OR_RETURN(std::vector<std::filesystem::path> found, ListImages(a));
      paths.insert(paths.end(), found.begin(), found.end());
    } else {
      paths.emplace_back(a);
    }
  }
  std::vector<EncodedImage> images;
  for (const auto& p : paths) {
    ASSIGN_OR_RETURN(std::string bytes, ReadFile(p));
    images.push_back({p.string(), std::move(bytes)});
  }
  return images;
}

// Peak resident set (VmHWM) of this process in MiB; 0 when unreadable.
double PeakRssMb() {
  auto status = perf::ReadProcFile("/proc/self/status");
  if (!status.ok()) return 0;
  auto kb = perf::ParseVmHwmKb(*status, "/proc/self/status");
  return kb.ok() ? static_cast<double>(*kb) / 1024.0 : 0;
}

struct RunTimes {
  double decode_ms = 0, preprocess_ms = 0, infer_ms = 0, total_ms = 0;
};

// One timed run: decode → preprocess → infer for `batch` images (from the
// set, round robin from `next`), or infer only on the prepared random tensor.
class Runner {
 public:
  Runner(const model::LoadedModel& model, runtime::Session& session,
         std::vector<EncodedImage> images, int batch, bool exact_resize)
      : session_(session),
        images_(std::move(images)),
        decode_(model::DecodeOptionsFor(model.config, exact_resize)),
        pre_(model::PreprocessOptionsFor(model.config)) {
    Shape shape = model.compiled->inputs().front().shape;
    shape[0] = batch;
    input_ = Tensor(shape);
    if (images_.empty()) {
      std::mt19937 rng(42);
      std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
      for (float& v : input_.span()) v = uniform(rng);
    }
  }

  Result<RunTimes> Run() {
    RunTimes t;
    const auto start = Clock::now();
    if (!images_.empty()) {
      const int batch = static_cast<int>(input_.shape()[0]);
      const size_t per_image = static_cast<size_t>(input_.size()) / batch;
      for (int b = 0; b < batch; ++b) {
        const EncodedImage& img = images_[next_++ % images_.size()];
        const auto t0 = Clock::now();
        auto decoded = image::DecodeImage(
            {reinterpret_cast<const uint8_t*>(img.bytes.data()), img.bytes.size()}, decode_);
        if (!decoded.ok()) return Status(decoded.status().code(), img.path + ": " + decoded.status().message());
        const auto t1 = Clock::now();
        Status s = image::PreprocessInto(*decoded, pre_, input_.data() + b * per_image);
        if (!s.ok()) return Status(s.code(), img.path + ": " + s.message());
        t.decode_ms += MsBetween(t0, t1);
        t.preprocess_ms += MsBetween(t1, Clock::now());
      }
    }
    const auto t2 = Clock::now();
    auto r = session_.Run({input_});
    if (!r.ok()) return r.status();
    const auto end = Clock::now();
    t.infer_ms = MsBetween(t2, end);
    t.total_ms = MsBetween(start, end);
    return t;
  }

 private:
  runtime::Session& session_;
  std::vector<EncodedImage> images_;
  image::DecodeOptions decode_;
  image::PreprocessOptions pre_;
  Tensor input_;
  size_t next_ = 0;
};

nlohmann::json StageJson(const perf::LatencyStats& s) {
  return {{"mean_ms", s.mean_ms}, {"p50_ms", s.p50_ms}, {"p99_ms", s.p99_ms}};
}

int RunBench(const BenchArgs& args) {
  std::vector<EncodedImage> images;
  if (!args.images.empty()) {
    auto read = ReadImages(args.images);
    if (!read.ok()) {
      std::cerr << "kamado bench: " << read.status().ToString() << "\n";
      return 2;
    }
    images = std::move(*read);
  }
  runtime::CompileOptions compile;
  compile.threads = args.threads;
  compile.precision = PrecisionFromFlag(args.precision);
  const auto load_start = Clock::now();
  std::string chosen;
  auto loaded = args.precision == "auto"
                    ? model::LoadModelAutoPrecision(args.model, compile, nullptr, &chosen)
                    : model::LoadModel(args.model, compile);
  if (!chosen.empty()) std::cerr << "kamado bench: precision auto: " << chosen << "\n";
  if (!loaded.ok()) {
    std::cerr << "kamado bench: " << loaded.status().ToString() << "\n";
    return 2;
  }
  const double load_ms = MsBetween(load_start, Clock::now());
  runtime::Session session(loaded->compiled, {.threads = args.threads, .profile = args.profile});
  const size_t image_count = images.size();
  Runner runner(*loaded, session, std::move(images), args.batch, args.exact_resize);

  perf::Progress progress("bench " + loaded->config.name, args.warmup + args.iterations);
  for (int i = 0; i < args.warmup; ++i) {
    auto r = runner.Run();
    if (!r.ok()) {
      progress.Finish();
      std::cerr << "kamado bench: " << r.status().ToString() << "\n";
      return 1;
    }
    progress.Update(i + 1, "warm-up");
  }
  perf::Monitor monitor({getpid()}, std::chrono::milliseconds(200));
  const bool monitoring = monitor.Start().ok();
  const double cpu_start = ProcessCpuSeconds();
  const auto run_start = Clock::now();
  std::vector<double> total, decode, preprocess, infer;
  for (int i = 0; i < args.iterations; ++i) {
    auto r = runner.Run();
    if (!r.ok()) {
      progress.Finish();
      std::cerr << "kamado bench: " << r.status().ToString() << "\n";
      return 1;
    }
    total.push_back(r->total_ms);
    decode.push_back(r->decode_ms);
    preprocess.push_back(r->preprocess_ms);
    infer.push_back(r->infer_ms);
    progress.Update(args.warmup + i + 1, fmt::format("{:.1f} ms", r->total_ms));
  }
  const double wall_s = MsBetween(run_start, Clock::now()) / 1000.0;
  const double cpu_avg = wall_s > 0 ? 100.0 * (ProcessCpuSeconds() - cpu_start) / wall_s : 0.0;
  std::vector<perf::Sample> samples = monitoring ? monitor.Stop() : std::vector<perf::Sample>{};
  progress.Finish();
  const perf::MonitorSummary mon = perf::SummarizeSamples(samples);
  const double cpu_peak = std::max(cpu_avg, mon.process_cpu_peak_pct);
  // System memory used % (sar's %memused); a run shorter than one sampling
  // interval reads it once now.
  double mem_avg = mon.mem_avg_pct, mem_peak = mon.mem_peak_pct;
  if (mon.samples == 0) {
    if (auto snap = perf::ProcReader().ReadSystem(); snap.ok()) mem_avg = mem_peak = snap->mem.UsedPct();
  }
  const double rss_peak = PeakRssMb();

  const perf::LatencyStats s = perf::Summarize(total);
  const double throughput = s.mean_ms > 0 ? 1000.0 * args.batch / s.mean_ms : 0.0;
  const std::string source =
      image_count ? fmt::format("{} images", image_count) : std::string("random tensors");
  std::cout << fmt::format(
      "model {} batch {} threads {} ({}): mean {:.3f} ms, p50 {:.3f}, p90 {:.3f}, p99 {:.3f}, "
      "min {:.3f}, max {:.3f} ms; {:.1f} images/s (load+compile {:.0f} ms, {} iterations)\n",
      loaded->config.name, args.batch, session.threads(), source, s.mean_ms, s.p50_ms, s.p90_ms,
      s.p99_ms, s.min_ms, s.max_ms, throughput, load_ms, args.iterations);
  if (args.batch > 1) {
    std::cout << fmt::format("  per image: mean {:.4f} s ({:.3f} ms)\n", s.mean_ms / args.batch / 1000,
                             s.mean_ms / args.batch);
  } else {
    std::cout << fmt::format("  mean response time: {:.4f} s/image\n", s.mean_ms / 1000);
  }
  std::vector<std::pair<std::string, perf::LatencyStats>> stages;
  if (image_count) {
    stages = {{"decode", perf::Summarize(decode)},
              {"preprocess", perf::Summarize(preprocess)},
              {"infer", perf::Summarize(infer)}};
  } else {
    stages = {{"infer", perf::Summarize(infer)}};
  }
  for (const auto& [name, st] : stages) {
    std::cout << fmt::format("  {:<10} mean {:8.3f} ms  p50 {:8.3f}  p99 {:8.3f}  ({:4.1f}%)\n", name,
                             st.mean_ms, st.p50_ms, st.p99_ms,
                             s.mean_ms > 0 ? 100.0 * st.mean_ms / s.mean_ms : 0.0);
  }
  std::cout << fmt::format(
      "  cpu {:.0f}% avg, {:.0f}% peak (100% = one core); rss peak {:.0f} MiB; "
      "memory used {:.1f}% avg, {:.1f}% peak (system)\n",
      cpu_avg, cpu_peak, rss_peak, mem_avg, mem_peak);
  if (args.profile) PrintProfile(session, std::cout);

  if (!args.report.empty()) {
    perf::Report report;
    report.title = fmt::format("kamado bench: {}", loaded->config.name);
    report.command = args.command_line;
    report.summary = {
        {"model", loaded->config.name},
        {"input", source},
        {"batch / threads", fmt::format("{} / {}", args.batch, session.threads())},
        {"iterations (warm-up)", fmt::format("{} ({})", args.iterations, args.warmup)},
        {"mean", fmt::format("{:.3f} ms ({:.4f} s/image)", s.mean_ms, s.mean_ms / args.batch / 1000)},
        {"p50 / p90 / p99", fmt::format("{:.3f} / {:.3f} / {:.3f} ms", s.p50_ms, s.p90_ms, s.p99_ms)},
        {"min / max", fmt::format("{:.3f} / {:.3f} ms", s.min_ms, s.max_ms)},
        {"throughput", fmt::format("{:.1f} images/s", throughput)},
        {"process CPU avg / peak", fmt::format("{:.0f}% / {:.0f}%", cpu_avg, cpu_peak)},
        {"RSS peak", fmt::format("{:.0f} MiB", rss_peak)},
        {"system memory used avg / peak", fmt::format("{:.1f}% / {:.1f}%", mem_avg, mem_peak)},
        {"load + compile", fmt::format("{:.0f} ms", load_ms)},
    };
    for (const auto& [name, st] : stages) report.stages.push_back({name, st});
    perf::LatencySeries series{"per run", {}, s};
    for (double v : total) series.values.emplace_back(v, 1);
    report.latencies.push_back(std::move(series));
    report.monitor = std::move(samples);
    Status w = perf::WriteHtmlReport(report, args.report);
    if (!w.ok()) {
      std::cerr << "kamado bench: " << w.ToString() << "\n";
      return 1;
    }
    std::cout << perf::RenderMarkdown(report);
    std::cerr << "report written to " << args.report << "\n";
  }
  if (args.json) {
    nlohmann::json stage_json = nlohmann::json::object();
    for (const auto& [name, st] : stages) stage_json[name] = StageJson(st);
    nlohmann::json j = {{"model", loaded->config.name},
                        {"precision", runtime::PrecisionName(loaded->config.precision)},
                        {"batch", args.batch},
                        {"threads", session.threads()},
                        {"iterations", args.iterations},
                        {"images", image_count},
                        {"mean_ms", s.mean_ms},
                        {"p50_ms", s.p50_ms},
                        {"p90_ms", s.p90_ms},
                        {"p99_ms", s.p99_ms},
                        {"p999_ms", s.p999_ms},
                        {"min_ms", s.min_ms},
                        {"max_ms", s.max_ms},
                        {"throughput_ips", throughput},
                        {"stages", stage_json},
                        {"cpu", {{"avg_pct", cpu_avg}, {"peak_pct", cpu_peak}}},
                        {"rss_mb", {{"peak", rss_peak}}},
                        {"mem", {{"avg_pct", mem_avg}, {"peak_pct", mem_peak}}}};
    std::cout << j.dump() << "\n";
  }
  return 0;
}

}  // namespace

void AddBenchCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand(
      "bench", "Measure response time: decode → preprocess → infer per image (--images), or infer on random tensors");
  cmd->add_option("--model", args->model, "Model directory (holds kamado.yaml)")->required();
  cmd->add_option("--images", args->images,
                  "Image files or directories (.jpg .png .webp), used round robin; without it, random tensors");
  cmd->add_option("--iterations", args->iterations, "Timed runs")->check(CLI::PositiveNumber);
  cmd->add_option("--warmup", args->warmup, "Untimed runs first")->check(CLI::NonNegativeNumber);
  cmd->add_option("--threads", args->threads, "Intra-op threads (0 = all cores)");
  cmd->add_option("--batch", args->batch, "Images per run")->check(CLI::Range(1, 1024));
  cmd->add_flag("--exact-resize", args->exact_resize, "Decode JPEG/WebP at full size (no DCT scaling)");
  cmd->add_flag("--json", args->json, "Last line: one JSON object with the statistics");
  AddPrecisionFlag(cmd, &args->precision);
  cmd->add_flag("--profile", args->profile, "Time every step and print where the time goes");
  cmd->add_option("--report", args->report, "Write a self-contained HTML report here (and Markdown to stdout)");
  cmd->callback([args, &exit_code] {
    // The command as run, for the report (flags in a canonical order).
    std::string& c = args->command_line;
    c = "kamado bench --model " + args->model;
    if (!args->images.empty()) c += " --images";
    for (const std::string& i : args->images) c += " " + i;
    c += fmt::format(" --iterations {} --warmup {} --threads {} --batch {}", args->iterations,
                     args->warmup, args->threads, args->batch);
    if (args->exact_resize) c += " --exact-resize";
    if (!args->report.empty()) c += " --report " + args->report;
    exit_code = RunBench(*args);
  });
}

}  // namespace kamado::cli
