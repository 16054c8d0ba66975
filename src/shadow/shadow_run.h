// Sending the same photos to two classifier servers (and, for the noise
// floor, to a second instance of the first) and comparing what they answer.
//
// Every photo goes to every side, the same bytes, one side after the other
// on one worker; the order alternates with the photo's sequence number
// (even: A first, odd: B first), so neither side is always the one that
// meets a cold cache or a busy CPU. A side's failure (no response, an HTTP
// error, a response that is not the protocol's) is counted for that side
// by its kind and never stops the run; a photo is compared only where both
// sides answered.
//
// Threads: RunShadow blocks the caller, starts `concurrency` workers (each
// with its own Side per server, made on the caller's thread) and joins them.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "perf/clock.h"
#include "perf/hdr_histogram.h"
#include "perf/latency_stats.h"
#include "perf/load_generator.h"
#include "shadow/comparison.h"
#include "shadow/endpoint.h"

namespace kamado::shadow {

// What one server said to one photo.
struct Reply {
  int status = 0;                // HTTP status; 0: no response (refused, reset, timed out)
  std::optional<Answer> answer;  // set when status is 200 and the body parsed
  std::string error;             // why not, for the error count
};

// One connection to one server, used from one worker thread only.
class Side {
 public:
  virtual ~Side() = default;
  virtual Reply Ask(const perf::Payload& photo) = 0;
};
using SideFactory = std::function<std::unique_ptr<Side>()>;

// A Side over HTTP/1.1 keep-alive to `endpoint` (ParseEndpoint, then
// FetchClassInfo for OIP v2's input name).
std::unique_ptr<Side> MakeHttpSide(const Endpoint& endpoint, std::chrono::milliseconds timeout);

struct ShadowOptions {
  int concurrency = 1;    // workers, each one photo at a time
  double rate = 0;        // > 0: photo i starts at i / rate s (open loop, per photo)
  double duration_s = 0;  // 0: every photo once; else repeat the photos this long
  int top_k = 5;
  size_t max_listed = 200;       // disagreeing photos listed
  perf::Clock* clock = nullptr;  // null: perf::SystemClock()
};

struct SideStats {
  std::string name;  // "A", "B", "A′ (noise)"
  std::string url;
  uint64_t requests = 0;
  uint64_t answered = 0;                   // 200 with a parsable answer
  std::map<std::string, uint64_t> errors;  // kind ("HTTP 500", "no response", ...) → count
  perf::LatencyStats latency;              // of the answered requests
  perf::HdrHistogram histogram;            // µs
};

struct ShadowResult {
  std::vector<std::string> labels;  // the compared classes
  std::string label_note;           // LabelSpace::note()
  uint64_t photos = 0;              // photos sent (to every side)
  double elapsed_s = 0;
  SideStats a, b;
  std::optional<SideStats> noise;
  PairStats ab;
  std::optional<PairStats> noise_floor;  // A against A′
};

// `space` comes from LabelSpace::Resolve over A's and B's classes (the noise
// side is A's twin and uses A's placement). InvalidArgument when there are
// no photos or the options are out of range.
Result<ShadowResult> RunShadow(const std::vector<perf::Payload>& photos, LabelSpace space,
                               const SideFactory& a, const SideFactory& b, const SideFactory& noise,
                               const ShadowOptions& options);

}  // namespace kamado::shadow
