#include "tune/measure.h"

#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <thread>

#include "core/file_util.h"
#include "serving/http/http_client.h"
#include "tune/http_sender.h"
#include "tune/serve_yaml.h"
#include "tune/server_process.h"

namespace kamado::tune {

namespace {

namespace fs = std::filesystem;

// Waits until the model answers ready (the server listens before a worker's
// models may be ready).
Status WaitReady(uint16_t port, const std::string& model, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last = "no answer";
  while (std::chrono::steady_clock::now() < deadline) {
    serving::http::HttpClient client("127.0.0.1", port, std::chrono::seconds(5));
    auto r = client.Get("/v2/models/" + model + "/ready");
    if (r.ok() && r->status == 200) return Status::Ok();
    last = r.ok() ? fmt::format("HTTP {}", r->status) : r.status().message();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Unavailable(fmt::format("model '{}' was not ready within {} ms ({})", model, timeout.count(), last));
}

}  // namespace

Measurement ServeMeasurer::operator()(const Candidate& c, const EvalHint& hint) {
  const auto t0 = std::chrono::steady_clock::now();
  Measurement m;
  auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  auto report = [&](const std::string& what, const perf::LoadProgress& p = {}) {
    if (progress_) progress_(c, {what, p});
  };
  const int n = ++count_;
  const fs::path config = options_.work_dir / fmt::format("config-{:03}.yaml", n);
  const fs::path log = options_.work_dir / fmt::format("serve-{:03}.log", n);
  ServeYamlOptions yaml;
  yaml.models = options_.models;
  yaml.port = 0;
  yaml.comment = {fmt::format("kamado tune, measurement {} ({}, {})", n, Label(c), hint.phase)};
  if (!options_.compile_cache.empty()) yaml.extra.emplace_back("compile_cache", options_.compile_cache);
  if (Status s = WriteFileAtomically(config, ServeYaml(c, yaml)); !s.ok()) {
    m.error = s.message();
    return m;
  }
  report("start");
  auto server = ServerProcess::Start(options_.binary, config, log, options_.start_timeout);
  if (!server.ok()) {
    m.error = server.status().message();
    m.seconds = seconds();
    return m;
  }
  const uint16_t port = (*server)->port();
  if (Status s = WaitReady(port, options_.model, options_.start_timeout); !s.ok()) {
    m.error = s.message() + "; log: " + log.string();
    m.seconds = seconds();
    return m;
  }
  const std::string model = options_.model;
  const auto timeout = std::chrono::milliseconds(options_.request_timeout_ms);
  const perf::SenderFactory factory = [port, model, timeout] {
    return std::make_unique<HttpSender>("127.0.0.1", port, model, timeout);
  };
  perf::LoadOptions load;
  load.warmup_s = options_.warmup_s;
  load.windows = options_.windows;
  load.stability_pct = options_.stability_pct;
  load.stability_p99 = false;
  load.arrivals = perf::Arrivals::kPoisson;
  load.seed = options_.seed;
  load.drain_timeout_s = std::max(1.0, options_.request_timeout_ms / 1000.0);
  load.duration_s = options_.min_level_s;  // at least; min_requests sizes each level

  double start_rps = hint.start_rps;
  if (!(start_rps > 0)) {
    // Unknown: a short closed-loop level with enough requests outstanding to
    // fill the batches gives the capacity; the search starts below it.
    const int concurrency = std::max(2, 2 * c.workers * c.sessions * std::min(c.max_batch, 4));
    perf::LoadOptions closed = load;
    closed.duration_s = 2 * options_.min_level_s;
    report("closed loop");
    auto r = perf::RunClosedLoop(factory, payloads_, concurrency, closed,
                                 [&](const perf::LoadProgress& p) { report("closed loop", p); });
    if (!r.ok()) {
      m.error = r.status().message();
      m.seconds = seconds();
      return m;
    }
    start_rps = std::max(1.0, 0.8 * r->throughput_rps);
  }

  perf::MaxRateOptions search;
  search.p99_ms = options_.slo_p99_ms;
  search.initial_rate = start_rps;
  search.max_probes = options_.max_probes;
  search.precision = options_.rate_precision;
  search.min_requests = options_.min_requests;
  search.growth = hint.growth;
  search.hopeless_at = hint.beat_rps;
  // Each probe holds ≥ min_requests requests, so one at a low rate is long
  // (300 at 1 req/s: 5 min): give up three halvings below the start. The
  // first InceptionV3 run spent 898 s halving a rate none met.
  search.min_rate = std::max(0.5, start_rps / 8);
  // CPU ticks of the server's processes at each probe's start, and at the end.
  std::vector<std::pair<std::chrono::steady_clock::time_point, uint64_t>> marks;
  std::string label;
  auto r = perf::FindMaxRate(
      factory, payloads_, search, load,
      [&](double rate) {
        marks.emplace_back(std::chrono::steady_clock::now(), (*server)->CpuTicks());
        label = fmt::format("rate {:.1f}/s", rate);
        report(label);
      },
      [&](const perf::LoadProgress& p) { report(label, p); });
  marks.emplace_back(std::chrono::steady_clock::now(), (*server)->CpuTicks());
  const TreeMemory mem = (*server)->Memory();
  (*server)->Stop();
  m.seconds = seconds();
  if (!r.ok()) {
    m.error = r.status().message();
    return m;
  }
  m.rss_mb = mem.rss_mb;
  m.pss_mb = mem.pss_mb;
  m.probes = static_cast<int>(r->probes.size());
  m.slo_rps = r->max_rate;
  m.bracketed = r->bracketed;
  m.cut_short = r->hopeless;
  const long tck = ::sysconf(_SC_CLK_TCK);
  for (size_t i = 0; i < r->probes.size(); ++i) {
    const auto& p = r->probes[i];
    if (!p.pass || p.rate != r->max_rate) continue;
    m.p50_ms = p.level.latency.p50_ms;
    m.p99_ms = p.level.latency.p99_ms;
    m.throughput_rps = p.level.throughput_rps;
    m.requests = p.level.requests;
    m.stable = p.level.stable;
    const double dt = std::chrono::duration<double>(marks[i + 1].first - marks[i].first).count();
    if (dt > 0 && tck > 0) m.cpu_pct = 100.0 * (marks[i + 1].second - marks[i].second) / tck / dt;
  }
  return m;
}

}  // namespace kamado::tune
