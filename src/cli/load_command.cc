#include "cli/load_command.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "perf/load_generator.h"
#include "perf/monitor.h"
#include "perf/progress.h"
#include "perf/report.h"
#include "cli/image_files.h"
#include "core/file_util.h"
#include "serving/http/http_client.h"
#include "serving/http/url.h"
#include "tune/http_sender.h"

namespace kamado::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct LoadArgs {
  std::string url;
  std::string model;
  std::string images;
  std::vector<int> concurrency;
  std::vector<double> rates;
  std::string distribution = "poisson";
  double duration_s = 10;
  double warmup_s = 2;
  int windows = 3;
  double stability_pct = 10;
  int connections = 0;
  int timeout_ms = 30000;
  uint64_t seed = 1;
  bool find_max_rate = false;
  double p99_ms = 0;
  int max_probes = 8;
  int server_pid = 0;
  bool json = false;
  std::string report;
};

struct Endpoint {
  std::string host;
  uint16_t port = 80;
};

// http://host[:port][/] only: the load tool talks plain HTTP/1.1 to one server.
Result<Endpoint> ParseUrl(const std::string& url) {
  ASSIGN_OR_RETURN(serving::http::HttpUrl u, serving::http::ParseHttpUrl(url, "--url"));
  if (u.target != "/") {
    return InvalidArgument("--url '" + url + "' must be http://host:port, without a path");
  }
  return Endpoint{u.host, u.port};
}

Status CheckReady(const Endpoint& e, const std::string& url, const std::string& model) {
  serving::http::HttpClient client(e.host, e.port, std::chrono::seconds(10));
  auto r = client.Get("/v2/models/" + model + "/ready");
  if (!r.ok()) return Unavailable("cannot reach " + url + ": " + r.status().message());
  if (r->status == 404) return NotFound("model '" + model + "' is not served at " + url);
  if (r->status != 200) {
    return Unavailable(
        fmt::format("model '{}' at {} is not ready (HTTP {})", model, url, r->status));
  }
  return Status::Ok();
}

std::string LevelLabel(const perf::LevelResult& l) {
  return l.mode == perf::LoadMode::kClosedLoop ? fmt::format("c={:g}", l.offered)
                                                : fmt::format("rate={:g}/s", l.offered);
}

std::string StatusName(int status) { return status == 0 ? "no response" : std::to_string(status); }

std::string ErrorsText(const perf::LevelResult& l) {
  std::string s;
  for (const auto& [status, n] : l.errors_by_status) {
    s += fmt::format("{}{} × {}", s.empty() ? "" : ", ", StatusName(status), n);
  }
  return s;
}

std::string TableHeader() {
  return fmt::format("{:<14} {:>5} {:>9} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9} {:>7} {:>6}\n",
                     "level", "conns", "req/s", "p50 ms", "p90 ms", "p95 ms", "p99 ms", "p99.9 ms",
                     "requests", "errors", "stable");
}

std::string TableRow(const perf::LevelResult& l, const std::string& suffix = "") {
  return fmt::format(
      "{:<14} {:>5} {:>9.1f} {:>8.2f} {:>8.2f} {:>8.2f} {:>8.2f} {:>9.2f} {:>9} {:>7} {:>6}{}\n",
      LevelLabel(l), l.connections, l.throughput_rps, l.latency.p50_ms, l.latency.p90_ms,
      l.latency.p95_ms, l.latency.p99_ms, l.latency.p999_ms, l.requests, l.errors,
      l.stable ? "yes" : "NO", suffix);
}

json LevelJson(const perf::LevelResult& l) {
  json j;
  if (l.mode == perf::LoadMode::kClosedLoop) {
    j["concurrency"] = static_cast<int>(l.offered);
  } else {
    j["rate"] = l.offered;
    j["send_lag_p99_ms"] = l.send_lag_p99_ms;
  }
  j["connections"] = l.connections;
  j["throughput_rps"] = l.throughput_rps;
  j["mean_ms"] = l.latency.mean_ms;
  j["min_ms"] = l.latency.min_ms;
  j["p50_ms"] = l.latency.p50_ms;
  j["p90_ms"] = l.latency.p90_ms;
  j["p95_ms"] = l.latency.p95_ms;
  j["p99_ms"] = l.latency.p99_ms;
  j["p999_ms"] = l.latency.p999_ms;
  j["max_ms"] = l.latency.max_ms;
  j["requests"] = l.requests;
  j["errors"] = l.errors;
  j["errors_by_status"] = json::object();
  for (const auto& [status, n] : l.errors_by_status)
    j["errors_by_status"][std::to_string(status)] = n;
  j["stable"] = l.stable;
  if (!l.stable) j["stability_note"] = l.stability_note;
  j["windows"] = json::array();
  for (const auto& w : l.windows) {
    j["windows"].push_back({{"throughput_rps", w.throughput_rps}, {"p99_ms", w.p99_ms}});
  }
  return j;
}

perf::ReportLevel ReportLevelOf(const perf::LevelResult& l) {
  perf::ReportLevel r;
  r.label = l.mode == perf::LoadMode::kClosedLoop ? fmt::format("concurrency {:g}", l.offered)
                                                   : fmt::format("rate {:g}/s", l.offered);
  r.offered = l.offered;
  r.throughput_rps = l.throughput_rps;
  r.latency = l.latency;
  r.requests = l.requests;
  r.errors = l.errors;
  r.stable = l.stable;
  return r;
}

perf::LatencySeries SeriesOf(const perf::LevelResult& l) {
  return perf::HistogramSeries(LevelLabel(l), l.histogram, l.latency);
}

std::string CommandLine(const LoadArgs& a) {
  std::string s =
      fmt::format("kamado load --url {} --model {} --images {}", a.url, a.model, a.images);
  if (!a.concurrency.empty()) s += fmt::format(" --concurrency {}", fmt::join(a.concurrency, ","));
  if (!a.rates.empty()) {
    s += fmt::format(" --rate {} --distribution {}", fmt::join(a.rates, ","), a.distribution);
  }
  if (a.find_max_rate) s += fmt::format(" --find-max-rate --p99-ms {:g}", a.p99_ms);
  s += fmt::format(" --duration {:g} --warmup {:g}", a.duration_s, a.warmup_s);
  return s;
}

// Runs the levels with a progress line and prints each table row as it ends.
class LevelRunner {
 public:
  LevelRunner(const perf::SenderFactory& factory, const std::vector<perf::Payload>& payloads,
              const perf::LoadOptions& options)
      : factory_(factory), payloads_(payloads), options_(options) {}

  Result<perf::LevelResult> Closed(int concurrency) {
    StartLine(fmt::format("load c={}", concurrency));
    return Finish(perf::RunClosedLoop(factory_, payloads_, concurrency, options_, Draw()));
  }
  Result<perf::LevelResult> Open(double rate) {
    StartLine(fmt::format("load rate={:g}/s", rate));
    return Finish(perf::RunOpenLoop(factory_, payloads_, rate, options_, Draw()));
  }
  // Prints every probe with pass/fail once the search is over.
  Result<perf::MaxRateResult> Search(const perf::MaxRateOptions& search) {
    std::cout << fmt::format("searching the highest rate with p99 ≤ {:g} ms, from {:.1f}/s:\n",
                             search.p99_ms, search.initial_rate);
    auto r = perf::FindMaxRate(
        factory_, payloads_, search, options_,
        [this](double rate) { StartLine(fmt::format("search rate={:.1f}/s", rate)); }, Draw());
    progress_.reset();
    if (!r.ok()) return r;
    for (const auto& p : r->probes) std::cout << TableRow(p.level, p.pass ? "  pass" : "  fail");
    std::cout << (r->max_rate > 0
                      ? fmt::format("max rate with p99 ≤ {:g} ms: {:.1f} req/s{}\n", search.p99_ms,
                                    r->max_rate,
                                    r->bracketed ? "" : " (no failing rate found above it)")
                      : fmt::format("no probed rate kept p99 ≤ {:g} ms\n", search.p99_ms));
    return r;
  }

 private:
  void StartLine(std::string label) {
    progress_ = std::make_unique<perf::Progress>(std::move(label),
                                                  options_.warmup_s + options_.duration_s);
  }
  perf::ProgressCallback Draw() {
    return [this](const perf::LoadProgress& p) {
      if (!progress_) return;
      progress_->Update(std::round(std::min(p.elapsed_s, p.total_s) * 10) / 10,  // seconds
                        fmt::format("{} done, {} errors{}", p.completed, p.errors,
                                    p.warming_up ? "  (warm-up)" : ""));
    };
  }
  Result<perf::LevelResult> Finish(Result<perf::LevelResult> r) {
    progress_.reset();  // clears the line
    if (r.ok()) std::cout << TableRow(*r) << std::flush;
    return r;
  }

  const perf::SenderFactory& factory_;
  const std::vector<perf::Payload>& payloads_;
  const perf::LoadOptions& options_;
  std::unique_ptr<perf::Progress> progress_;  // the live line of the running level
};

// Everything measured, for the footer, the report and the JSON line.
struct Outcome {
  std::string mode;  // "closed", "open" or "search"
  size_t images = 0;
  std::vector<perf::LevelResult> levels;
  std::optional<perf::MaxRateResult> search;
  std::vector<perf::Sample> samples;
  perf::MonitorSummary monitor;
  std::vector<std::string> notes;
};

std::vector<std::string> NotesOf(const std::vector<perf::LevelResult>& levels) {
  std::vector<std::string> notes;
  for (const auto& l : levels) {
    if (!l.stable) notes.push_back(LevelLabel(l) + " did not stabilise: " + l.stability_note);
    if (l.errors) notes.push_back(LevelLabel(l) + " errors: " + ErrorsText(l));
    // Sends that left late mean the generator, not the server, was queueing.
    if (l.mode == perf::LoadMode::kOpenLoop && l.send_lag_p99_ms > 0.1 * std::max(1.0, l.latency.p99_ms)) {
      notes.push_back(
          fmt::format("{}: requests went out up to {:.1f} ms (p99) after their "
                      "intended time; all connections were busy (raise --connections?)",
                      LevelLabel(l), l.send_lag_p99_ms));
    }
  }
  return notes;
}

void PrintFooter(const LoadArgs& args, const Outcome& out) {
  for (const std::string& n : out.notes) std::cout << "note: " << n << "\n";
  const perf::MonitorSummary& mon = out.monitor;
  std::cout << fmt::format(
      "cpu (system-wide, this tool included): avg {:.1f}%, peak {:.1f}%; "
      "memory: avg {:.1f}%, peak {:.1f}%\n",
      mon.cpu_avg_pct, mon.cpu_peak_pct, mon.mem_avg_pct, mon.mem_peak_pct);
  if (args.server_pid > 0) {
    std::cout << fmt::format("server pid {}: cpu avg {:.0f}%, peak {:.0f}%; rss peak {:.0f} MiB\n",
                             args.server_pid, mon.process_cpu_avg_pct, mon.process_cpu_peak_pct,
                             mon.process_rss_peak_mb);
  }
}

perf::Report ReportOf(const LoadArgs& args, const Outcome& out) {
  const perf::MonitorSummary& mon = out.monitor;
  perf::Report report;
  report.title = "kamado load: " + args.model;
  report.command = CommandLine(args);
  report.summary = {
      {"url", args.url},
      {"model", args.model},
      {"mode", out.mode},
      {"images", std::to_string(out.images)},
      {"measurement", fmt::format("{:g} s warm-up + {:g} s in {} windows", args.warmup_s,
                                  args.duration_s, args.windows)},
      {"cpu avg / peak", fmt::format("{:.1f}% / {:.1f}%", mon.cpu_avg_pct, mon.cpu_peak_pct)},
      {"memory avg / peak", fmt::format("{:.1f}% / {:.1f}%", mon.mem_avg_pct, mon.mem_peak_pct)}};
  std::vector<const perf::LevelResult*> all;
  for (const auto& l : out.levels) all.push_back(&l);
  if (out.search) {
    report.summary.emplace_back(fmt::format("max rate (p99 ≤ {:g} ms)", args.p99_ms),
                                fmt::format("{:.1f} req/s", out.search->max_rate));
    for (const auto& p : out.search->probes) all.push_back(&p.level);
  }
  for (const perf::LevelResult* l : all) {
    report.levels.push_back(ReportLevelOf(*l));
    report.latencies.push_back(SeriesOf(*l));
  }
  report.monitor = out.samples;
  report.notes = out.notes;
  return report;
}

json JsonOf(const LoadArgs& args, const Outcome& out) {
  const perf::MonitorSummary& mon = out.monitor;
  json j = {{"url", args.url},           {"model", args.model},
            {"mode", out.mode},          {"duration_s", args.duration_s},
            {"warmup_s", args.warmup_s}, {"levels", json::array()}};
  for (const auto& l : out.levels) j["levels"].push_back(LevelJson(l));
  j["cpu"] = {{"avg_pct", mon.cpu_avg_pct}, {"peak_pct", mon.cpu_peak_pct}};
  j["mem"] = {{"avg_pct", mon.mem_avg_pct}, {"peak_pct", mon.mem_peak_pct}};
  if (args.server_pid > 0) {
    j["server"] = {{"pid", args.server_pid},
                   {"cpu_avg_pct", mon.process_cpu_avg_pct},
                   {"cpu_peak_pct", mon.process_cpu_peak_pct},
                   {"rss_peak_mb", mon.process_rss_peak_mb}};
  }
  if (out.search) {
    j["max_rate"] = out.search->max_rate;
    j["p99_bound_ms"] = args.p99_ms;
    j["search"] = json::array();
    for (const auto& p : out.search->probes) {
      json pj = LevelJson(p.level);
      pj["pass"] = p.pass;
      j["search"].push_back(std::move(pj));
    }
  }
  return j;
}

perf::LoadOptions LoadOptionsOf(const LoadArgs& args) {
  perf::LoadOptions options;
  options.warmup_s = args.warmup_s;
  options.duration_s = args.duration_s;
  options.windows = args.windows;
  options.stability_pct = args.stability_pct;
  options.connections = args.connections;
  options.arrivals =
      args.distribution == "constant" ? perf::Arrivals::kConstant : perf::Arrivals::kPoisson;
  options.seed = args.seed;
  options.drain_timeout_s = std::max(1.0, args.timeout_ms / 1000.0);
  return options;
}

int RunLoad(const LoadArgs& args) {
  auto fail = [](const Status& s, int code) {
    std::cerr << "kamado load: " << s.message() << "\n";
    return code;
  };
  if (args.concurrency.empty() && args.rates.empty() && !args.find_max_rate) {
    return fail(InvalidArgument("give --concurrency, --rate or --find-max-rate"), 2);
  }
  if (args.find_max_rate && !(args.p99_ms > 0)) {
    return fail(InvalidArgument("--find-max-rate needs --p99-ms"), 2);
  }
  auto endpoint = ParseUrl(args.url);
  if (!endpoint.ok()) return fail(endpoint.status(), 2);
  auto payloads = ReadImagePayloads(args.images, "kamado load");
  if (!payloads.ok()) return fail(payloads.status(), 2);
  if (Status s = CheckReady(*endpoint, args.url, args.model); !s.ok()) return fail(s, 2);

  const perf::LoadOptions options = LoadOptionsOf(args);
  const Endpoint e = *endpoint;
  const auto timeout = std::chrono::milliseconds(args.timeout_ms);
  const perf::SenderFactory factory = [e, model = args.model, timeout] {
    return std::make_unique<tune::HttpSender>(e.host, e.port, model, timeout);
  };
  std::vector<int> pids;
  if (args.server_pid > 0) pids.push_back(args.server_pid);
  perf::Monitor monitor(pids, std::chrono::milliseconds(500));
  if (Status s = monitor.Start(); !s.ok()) return fail(s, 2);

  Outcome out;
  out.mode = !args.concurrency.empty() ? "closed" : !args.rates.empty() ? "open" : "search";
  out.images = payloads->size();
  std::cout << fmt::format(
      "kamado load: {} model {}, {} images, {:g} s warm-up + {:g} s measured in {} windows{}\n",
      args.url, args.model, payloads->size(), args.warmup_s, args.duration_s, args.windows,
      args.rates.empty() && !args.find_max_rate ? "" : ", " + args.distribution + " arrivals");
  std::cout << TableHeader() << std::flush;
  LevelRunner runner(factory, *payloads, options);
  for (int c : args.concurrency) {
    auto r = runner.Closed(c);
    if (!r.ok()) return fail(r.status(), 1);
    out.levels.push_back(std::move(r).value());
  }
  for (double rate : args.rates) {
    auto r = runner.Open(rate);
    if (!r.ok()) return fail(r.status(), 1);
    out.levels.push_back(std::move(r).value());
  }
  if (args.find_max_rate) {
    if (out.levels.empty()) {  // a closed-loop probe gives the starting rate
      auto r = runner.Closed(4);
      if (!r.ok()) return fail(r.status(), 1);
      out.levels.push_back(std::move(r).value());
    }
    double best = 0;
    for (const auto& l : out.levels) best = std::max(best, l.throughput_rps);
    perf::MaxRateOptions search;
    search.p99_ms = args.p99_ms;
    search.initial_rate = std::max(1.0, 0.8 * best);
    search.max_probes = args.max_probes;
    auto r = runner.Search(search);
    if (!r.ok()) return fail(r.status(), 1);
    out.search = std::move(r).value();
  }
  out.samples = monitor.Stop();
  out.monitor = perf::SummarizeSamples(out.samples);
  out.notes = NotesOf(out.levels);
  PrintFooter(args, out);
  if (!args.report.empty()) {
    perf::Report report = ReportOf(args, out);
    if (Status s = perf::WriteHtmlReport(report, args.report); !s.ok()) return fail(s, 1);
    std::cout << perf::RenderMarkdown(report) << "report: " << args.report << "\n";
  }
  if (args.json) std::cout << JsonOf(args, out).dump() << "\n";
  std::cout << std::flush;
  uint64_t successes = 0;
  for (const auto& l : out.levels) successes += l.requests - l.errors;
  if (out.search) {
    for (const auto& p : out.search->probes) successes += p.level.requests - p.level.errors;
  }
  if (successes == 0) return fail(Unavailable("no request succeeded"), 1);
  return 0;
}

}  // namespace

void AddLoadCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<LoadArgs>();
  CLI::App* cmd = app.add_subcommand(
      "load", "HTTP load against a running server: closed loop, open loop, max-rate search");
  cmd->add_option("--url", args->url, "Server, http://host:port")->required();
  cmd->add_option("--model", args->model, "Model name as served")->required();
  cmd->add_option("--images", args->images,
                  "Directory of .jpg/.jpeg/.png/.webp files, sent round-robin")
      ->required();
  auto* conc = cmd->add_option("--concurrency", args->concurrency,
                               "Closed loop: outstanding requests per level, e.g. 1,2,4,8")
                   ->delimiter(',')
                   ->check(CLI::Range(1, 4096));
  auto* rate = cmd->add_option("--rate", args->rates,
                               "Open loop: arrivals per second per level, e.g. 10,20,40")
                   ->delimiter(',')
                   ->check(CLI::Range(0.001, 1e6));
  conc->excludes(rate);
  cmd->add_option("--distribution", args->distribution, "Open-loop arrivals: poisson or constant")
      ->check(CLI::IsMember({"poisson", "constant"}));
  cmd->add_option("--duration", args->duration_s, "Measured seconds per level")
      ->check(CLI::Range(0.1, 86400.0));
  cmd->add_option("--warmup", args->warmup_s, "Unrecorded seconds before each level")
      ->check(CLI::Range(0.0, 3600.0));
  cmd->add_option("--windows", args->windows, "Measurement windows per level (stability: last 3)")
      ->check(CLI::Range(1, 100));
  cmd->add_option(
         "--stability-pct", args->stability_pct,
         "Stable when throughput and p99 of the last 3 windows are within ±this % of their mean")
      ->check(CLI::Range(0.1, 100.0));
  cmd->add_option("--connections", args->connections,
                  "Open loop: connections (0: max(64, rate/10), at most 512)")
      ->check(CLI::Range(0, 4096));
  cmd->add_option("--timeout-ms", args->timeout_ms, "Per-request timeout; also the drain limit")
      ->check(CLI::Range(1, 3600000));
  cmd->add_option("--seed", args->seed, "Seed of the Poisson arrivals");
  cmd->add_flag(
      "--find-max-rate", args->find_max_rate,
      "Search the highest open-loop rate whose p99 stays within --p99-ms, without errors");
  cmd->add_option("--p99-ms", args->p99_ms, "Latency bound of --find-max-rate")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-probes", args->max_probes, "Levels the search may run")
      ->check(CLI::Range(1, 50));
  cmd->add_option("--server-pid", args->server_pid, "Also sample this process's CPU% and RSS")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--json", args->json, "Last line: one JSON object with every level");
  cmd->add_option("--report", args->report, "Write a self-contained HTML report here");
  cmd->callback([args, &exit_code] { exit_code = RunLoad(*args); });
}

}  // namespace kamado::cli
