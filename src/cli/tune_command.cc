#include "cli/tune_command.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/image_files.h"
#include "core/cpu_features.h"
#include "core/file_util.h"
#include "model/model_config.h"
#include "perf/progress.h"
#include "serving/cpu_budget.h"
#include "tune/measure.h"
#include "tune/search.h"
#include "tune/serve_yaml.h"
#include "tune/tune_report.h"

namespace kamado::cli {
namespace {

namespace fs = std::filesystem;

struct TuneArgs {
  std::string model;
  std::string images;
  double slo_p99_ms = 0;
  std::string mode = "quick";
  std::vector<int> workers, sessions, threads, max_batch, batch_delay_us;
  std::vector<std::string> pin, precision;
  double budget_minutes = 15;
  int min_requests = 300;
  double warmup_s = 1;
  double min_seconds = 1;
  double stability_pct = 25;
  int windows = 3;
  int max_probes = 8;
  int confirm = 3;
  int cpus = 0;
  std::string out = "tune-out";
  std::string host = "127.0.0.1";
  int port = 8080;
  bool json = false;
};

std::string UtcNow() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<tune::SearchSpace> SpaceOf(const TuneArgs& a, int cpus) {
  tune::SearchSpace s = tune::DefaultSpace(cpus);
  if (!a.workers.empty()) s.workers = a.workers;
  if (!a.sessions.empty()) s.sessions = a.sessions;
  if (!a.threads.empty()) s.threads = a.threads;
  if (!a.max_batch.empty()) s.max_batch = a.max_batch;
  if (!a.batch_delay_us.empty()) s.batch_delay_us = a.batch_delay_us;
  if (!a.pin.empty()) {
    s.pin.clear();
    for (const std::string& p : a.pin) {
      if (p != "false" && p != "true") return InvalidArgument("--pin '" + p + "': expected false, true or both");
      s.pin.push_back(p == "true");
    }
  }
  if (!a.precision.empty()) {
    s.precision.clear();
    for (const std::string& p : a.precision) s.precision.push_back(p == "model" ? "" : p);
  }
  RETURN_IF_ERROR(tune::ValidateSpace(s, cpus));
  return s;
}

// The command as given (the lists only when given), for the report.
std::string CommandLine(const TuneArgs& a) {
  std::string s = fmt::format("kamado tune --model {} --images {} --slo-p99-ms {:g} --mode {}", a.model, a.images,
                              a.slo_p99_ms, a.mode);
  auto list = [&s](const char* flag, const auto& v) {
    if (!v.empty()) s += fmt::format(" {} {}", flag, fmt::join(v, ","));
  };
  list("--workers", a.workers);
  list("--sessions", a.sessions);
  list("--threads", a.threads);
  list("--max-batch", a.max_batch);
  list("--batch-delay-us", a.batch_delay_us);
  list("--pin", a.pin);
  list("--precision", a.precision);
  s += fmt::format(" --budget-minutes {:g} --min-requests {} --min-seconds {:g} --warmup {:g} --confirm {}",
                   a.budget_minutes, a.min_requests, a.min_seconds, a.warmup_s, a.confirm);
  if (a.cpus > 0) s += fmt::format(" --cpus {}", a.cpus);
  return s + " -o " + a.out;
}

// A live line per measurement on a terminal: which configuration, which
// phase, the level's progress.
class ProgressLine {
 public:
  void Show(const tune::Candidate& c, const tune::MeasureProgress& p) {
    const std::string label = fmt::format("{}: {}", tune::Label(c), p.what);
    if (!line_ || label != label_) {
      line_ = std::make_unique<perf::Progress>(label, p.load.total_s);
      label_ = label;
    }
    line_->Update(std::round(std::min(p.load.elapsed_s, p.load.total_s) * 10) / 10,
                  fmt::format("{} done, {} errors{}", p.load.completed, p.load.errors,
                              p.load.warming_up ? "  (warm-up)" : ""));
  }
  void Clear() { line_.reset(); }

 private:
  std::unique_ptr<perf::Progress> line_;
  std::string label_;
};

int RunTune(const TuneArgs& args) {
  auto fail = [](const Status& s, int code) {
    std::cerr << "kamado tune: " << s.message() << "\n";
    return code;
  };
  const serving::CpuBudget budget = serving::DetectCpuBudget();
  const int allowed = std::max(1, static_cast<int>(std::floor(budget.cpus + 1e-9)));
  const int cpus = args.cpus > 0 ? args.cpus : allowed;
  if (cpus > allowed) {
    return fail(InvalidArgument(fmt::format("--cpus {} is more than the {} CPUs this process may use ({}); tune "
                                            "never oversubscribes",
                                            cpus, allowed, budget.source)),
                2);
  }
  auto space = SpaceOf(args, cpus);
  if (!space.ok()) return fail(space.status(), 2);
  auto config = model::LoadModelConfig(args.model);
  if (!config.ok()) return fail(config.status(), 2);
  auto payloads = ReadImagePayloads(args.images, "kamado tune");
  if (!payloads.ok()) return fail(payloads.status(), 2);
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return fail(Unavailable("cannot find this executable (/proc/self/exe): " + ec.message()), 1);
  const fs::path out = args.out;
  fs::create_directories(out / "runs", ec);
  if (ec) return fail(Unavailable(fmt::format("cannot create {}: {}", (out / "runs").string(), ec.message())), 1);

  tune::MeasureOptions mo;
  mo.binary = self;
  mo.models = {fs::absolute(args.model).string()};
  mo.model = config->name;
  mo.work_dir = out / "runs";
  mo.compile_cache = fs::absolute(out / "cache").string();
  mo.slo_p99_ms = args.slo_p99_ms;
  mo.min_requests = args.min_requests;
  mo.warmup_s = args.warmup_s;
  mo.min_level_s = args.min_seconds;
  mo.stability_pct = args.stability_pct;
  mo.windows = args.windows;
  mo.max_probes = args.max_probes;
  const size_t photos = payloads->size();
  auto line = std::make_shared<ProgressLine>();
  tune::ServeMeasurer measurer(mo, std::move(payloads).value(),
                               [line](const tune::Candidate& c, const tune::MeasureProgress& p) { line->Show(c, p); });

  tune::SearchOptions so;
  so.mode = args.mode == "full" ? tune::SearchOptions::Mode::kFull : tune::SearchOptions::Mode::kQuick;
  so.budget_s = args.budget_minutes * 60;
  so.confirm_rounds = args.confirm;
  so.log = [line](const std::string& s) {
    line->Clear();
    std::cout << s << "\n" << std::flush;
  };
  std::cout << fmt::format("kamado tune: {} ({}), SLO p99 ≤ {:g} ms, {} photos from {}, ≥ {} requests per level\n",
                           config->name, args.model, args.slo_p99_ms, photos, args.images, args.min_requests)
            << std::flush;
  tune::SearchResult result = tune::RunSearch(*space, cpus, std::ref(measurer), so);
  line->Clear();

  tune::TuneReport report;
  report.command = CommandLine(args);
  report.model = config->name;
  report.mode = args.mode;
  report.slo_p99_ms = args.slo_p99_ms;
  report.budget_s = so.budget_s;
  report.min_requests = args.min_requests;
  report.vcpus = cpus;
  report.date = UtcNow();
  if (auto cpu = ReadCpuFeatures(); cpu.ok()) {
    report.cpu = cpu->model_name;
    for (const NamedFeature& f : KamadoCpuFeatures()) {
      if (cpu->Has(f.flag)) report.isa.push_back(f.name);
    }
  }
  report.serve_yaml = (out / "serve.yaml").string();
  report.result = std::move(result);
  const tune::SearchResult& r = report.result;

  tune::ServeYamlOptions yaml;
  yaml.models = {args.model};
  yaml.host = args.host;
  yaml.port = args.port;
  yaml.comment = {
      fmt::format("kamado tune, {}: {} on {} ({} CPUs), SLO p99 ≤ {:g} ms", report.date, config->name, report.cpu,
                  cpus, args.slo_p99_ms),
      fmt::format("recommended {}: {:.1f} req/s within the SLO (median of {}); default {}: {:.1f} req/s",
                  tune::Label(r.recommended), r.recommended_median_rps, r.recommended_runs.size(),
                  tune::Label(r.default_candidate), r.default_median_rps),
      "report: " + (out / "report.html").string()};
  const std::string json = tune::RenderTuneJson(report);
  for (const auto& [file, text] : {std::pair{out / "serve.yaml", tune::ServeYaml(r.recommended, yaml)},
                                   std::pair{out / "tune.json", json},
                                   std::pair{out / "report.html", tune::RenderTuneHtml(report)}}) {
    if (Status s = WriteFileAtomically(file, text); !s.ok()) return fail(s, 1);
  }
  std::cout << "\n" << tune::RenderTuneText(report);
  std::cout << fmt::format("wrote {}, {}, {}\n", (out / "serve.yaml").string(), (out / "tune.json").string(),
                           (out / "report.html").string());
  if (args.json) std::cout << tune::RenderTuneJson(report, -1);
  std::cout << std::flush;
  if (r.recommended_median_rps <= 0) {
    return fail(Unavailable(fmt::format("no configuration kept p99 ≤ {:g} ms at any probed rate", args.slo_p99_ms)),
                1);
  }
  return 0;
}

}  // namespace

void AddTuneCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<TuneArgs>();
  CLI::App* cmd = app.add_subcommand(
      "tune", "Search serve configurations on real servers for the most throughput within a p99 SLO");
  cmd->add_option("--model", args->model, "Model directory")->required();
  cmd->add_option("--images", args->images, "Directory of photos (.jpg/.png/.webp), sent round-robin")->required();
  cmd->add_option("--slo-p99-ms", args->slo_p99_ms, "The p99 latency bound")->required()->check(CLI::PositiveNumber);
  cmd->add_option("--mode", args->mode, "quick (hill-climb from the default) or full (the whole grid)")
      ->check(CLI::IsMember({"quick", "full"}));
  cmd->add_option("--workers", args->workers, "Worker processes to try, e.g. 1,2")->delimiter(',');
  cmd->add_option("--sessions", args->sessions, "Sessions per worker to try")->delimiter(',');
  cmd->add_option("--threads", args->threads, "Intra-op threads per session to try")->delimiter(',');
  cmd->add_option("--max-batch", args->max_batch, "Largest dynamic batches to try, e.g. 1,2,4,8")->delimiter(',');
  cmd->add_option("--batch-delay-us", args->batch_delay_us, "Batch delays to try (µs; -1: auto, serve's default), e.g. -1,0,2000")
      ->delimiter(',');
  cmd->add_option("--pin", args->pin, "Pinning to try: false, true or false,true")->delimiter(',');
  cmd->add_option("--precision", args->precision,
                  "Precisions to try: model (the model's kamado.yaml), fp32, bf16, int8 (bf16/int8 need a passed "
                  "gate, kamado compare)")
      ->delimiter(',');
  cmd->add_option("--budget-minutes", args->budget_minutes, "Time budget, confirmation included")
      ->check(CLI::Range(0.1, 24.0 * 60));
  cmd->add_option("--min-requests", args->min_requests, "Measured requests per load level at least")
      ->check(CLI::Range(10, 1000000));
  cmd->add_option("--warmup", args->warmup_s, "Unrecorded seconds before each level")->check(CLI::Range(0.0, 600.0));
  cmd->add_option("--min-seconds", args->min_seconds, "Measured seconds per level at least (the first: twice)")
      ->check(CLI::Range(0.1, 3600.0));
  cmd->add_option("--stability-pct", args->stability_pct,
                  "A level is stable when the throughput of its last 3 windows is within ±this % of their mean "
                  "(~100 Poisson arrivals per window vary ±10% alone); an unstable point is measured again")
      ->check(CLI::Range(0.1, 1000.0));
  cmd->add_option("--windows", args->windows, "Measurement windows per level (stability: the last 3)")
      ->check(CLI::Range(1, 100));
  cmd->add_option("--max-probes", args->max_probes, "Load levels per rate search")->check(CLI::Range(1, 50));
  cmd->add_option("--confirm", args->confirm,
                  "Re-measurements of the default and the recommended configuration, interleaved")
      ->check(CLI::Range(1, 20));
  cmd->add_option("--cpus", args->cpus, "CPUs a configuration may use (default: all this process may use)")
      ->check(CLI::Range(1, 4096));
  cmd->add_option("-o,--out", args->out, "Directory for serve.yaml, tune.json, report.html and the runs' logs");
  cmd->add_option("--host", args->host, "host: of the written serve.yaml");
  cmd->add_option("--port", args->port, "port: of the written serve.yaml")->check(CLI::Range(0, 65535));
  cmd->add_flag("--json", args->json, "Last line: the tune.json object on one line");
  cmd->callback([args, &exit_code] { exit_code = RunTune(*args); });
}

}  // namespace kamado::cli
