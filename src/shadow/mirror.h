// Mirror: `kamado serve --mirror URL [--mirror-share S]` — a share of the
// live /classify requests copied, after they were answered, to another
// server (the old one, or a candidate), and its answers compared with the
// live ones as `kamado shadow` compares two servers: agreement, |Δp| per
// class, the disagreeing requests, both sides' latency, the target's errors.
//
// The live side never waits for the mirror and never fails because of it:
// Sample() is one atomic increment, OnClassified one push onto a bounded
// queue under a short lock. When the queue is full the request is dropped
// and counted; nothing is queued without bound. `senders` threads (each
// with its own connection) send what is queued.
//
// Figures are exposed as Prometheus series (RenderMetrics, appended to
// /metrics: counters and gauges that add across worker processes) and as
// the shadow JSON and report page (RenderReport, GET /v2/mirror[?format=html]).
//
// Thread-safe. Stop() (or the destructor) joins the senders; call it before
// the server that taps into it goes away.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "perf/clock.h"
#include "serving/request_tap.h"
#include "shadow/comparison.h"
#include "shadow/shadow_run.h"

namespace kamado::shadow {

struct MirrorOptions {
  std::string model;       // the live model whose requests are mirrored
  std::string target_url;  // for the report
  double share = 1.0;      // (0, 1]: share·N of N requests, evenly spread (Sample)
  size_t max_queue = 64;   // waiting to be sent; beyond: dropped (counted)
  int senders = 2;
  int top_k = 5;
  size_t max_listed = 200;
  perf::Clock* clock = nullptr;  // times the target's answers; null: SystemClock()
};

class Mirror : public serving::RequestTap {
 public:
  // `space`: the live model's classes (side A) resolved against the
  // target's (side B); `target` makes one connection per sender.
  // InvalidArgument for a share outside (0, 1], a queue of 0, or senders
  // outside 1..64.
  static Result<std::unique_ptr<Mirror>> Create(LabelSpace space, SideFactory target,
                                                MirrorOptions options);
  ~Mirror() override;

  bool Sample(const std::string& model) override;
  void OnClassified(serving::TappedRequest request) override;
  std::string RenderMetrics() const override;
  std::string RenderReport(bool html) const override;

  struct Counters {
    uint64_t sampled = 0;  // chosen by Sample
    uint64_t offered = 0;  // OnClassified calls
    uint64_t dropped = 0;  // the queue was full
    uint64_t sent = 0;     // sent to the target (answered or not)
    uint64_t answered = 0;
    uint64_t errors = 0;
    size_t queued = 0;  // waiting now
  };
  Counters counters() const;
  // The figures so far as a shadow run's (A: the live side, B: the target).
  ShadowResult Snapshot() const;

  // Stops taking requests, drops what is queued (counted), joins the senders.
  // Idempotent.
  void Stop();

 private:
  Mirror(LabelSpace space, MirrorOptions options);
  void Send(Side& side);

  const MirrorOptions options_;
  perf::Clock& clock_;
  std::atomic<uint64_t> seen_{0};
  std::atomic<uint64_t> sampled_{0};

  mutable std::mutex mu_;  // guards everything below it
  std::condition_variable ready_;
  std::deque<serving::TappedRequest> queue_;
  bool stopping_ = false;
  uint64_t offered_ = 0, dropped_ = 0, sent_ = 0, next_id_ = 0;
  LabelSpace space_;
  PairComparison comparison_;
  perf::HdrHistogram live_us_, target_us_;
  uint64_t live_answered_ = 0, target_answered_ = 0;
  std::map<std::string, uint64_t> target_errors_;
  std::map<std::string, std::string> thumbnails_;  // of the listed disagreements
  perf::Clock::TimePoint started_;

  std::vector<std::thread> senders_;
};

// The mirror of `kamado serve --mirror URL`: the target's endpoint parsed
// and its classes fetched (ParseEndpoint, FetchClassInfo) and resolved
// against the live model's `labels`, then a Mirror over HTTP with
// `timeout` per request. The error names --mirror and what was wrong
// (the URL, the target unreachable, the classes not the same).
Result<std::unique_ptr<Mirror>> StartHttpMirror(const std::string& url, const std::string& model,
                                                const std::vector<std::string>& labels,
                                                double share, size_t max_queue,
                                                std::chrono::milliseconds timeout);

}  // namespace kamado::shadow
