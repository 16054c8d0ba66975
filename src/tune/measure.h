// Measuring one configuration for real: a `kamado serve` child on loopback
// with that configuration (serve_yaml.h), the open-loop load generator
// (Poisson arrivals of the given photos) searching the highest rate whose
// p99 stays within the SLO with no errors (perf::FindMaxRate, each level
// sized by request count), CPU% of the server's processes at that rate, and
// their RSS and PSS after the search.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "perf/load_generator.h"
#include "tune/search.h"

namespace kamado::tune {

struct MeasureOptions {
  std::filesystem::path binary;     // the kamado executable
  std::vector<std::string> models;  // model directories, as serve takes them
  std::string model;                // the served name the load is sent to
  std::filesystem::path work_dir;   // per-configuration serve.yaml and log
  std::string compile_cache;        // serve's compile_cache for workers > 1 ("" = serve's default)
  double slo_p99_ms = 100;
  int min_requests = 300;  // per level
  double min_level_s = 1;  // each level's measured seconds at least (the first, closed-loop one: twice this)
  double warmup_s = 1;     // unrecorded seconds before each level
  int windows = 3;
  double stability_pct = 25;  // the windows' throughput (perf::LoadOptions::stability_p99 false)
  int max_probes = 8;
  // Stop when (fail − pass)/pass ≤ this: 1/8 — pass, ×1.25 fail, one
  // bisection — because one configuration's SLO rate varies by more than
  // that between runs on a shared 2-core machine (30–47 req/s measured for
  // MobileNetV2's default); the confirmation's median is the figure.
  double rate_precision = 0.125;
  int request_timeout_ms = 30000;
  std::chrono::milliseconds start_timeout{180000};
  uint64_t seed = 1;
};

// What a measurement is doing, for a progress line.
struct MeasureProgress {
  std::string what;  // "start", "warm", "rate 41.2/s"
  perf::LoadProgress load;
};

class ServeMeasurer {
 public:
  ServeMeasurer(MeasureOptions options, std::vector<perf::Payload> payloads,
                std::function<void(const Candidate&, const MeasureProgress&)> progress = {})
      : options_(std::move(options)), payloads_(std::move(payloads)), progress_(std::move(progress)) {}

  // An Evaluator (search.h). Never throws; failures go to Measurement::error.
  Measurement operator()(const Candidate& c, const EvalHint& hint);

 private:
  MeasureOptions options_;
  std::vector<perf::Payload> payloads_;
  std::function<void(const Candidate&, const MeasureProgress&)> progress_;
  int count_ = 0;
};

}  // namespace kamado::tune
