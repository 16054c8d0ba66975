#include "shadow/shadow_run.h"

#include <fmt/format.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "serving/http/http_client.h"

namespace kamado::shadow {
namespace {

class HttpSide : public Side {
 public:
  HttpSide(Endpoint endpoint, std::chrono::milliseconds timeout)
      : endpoint_(std::move(endpoint)),
        client_(endpoint_.http.host, endpoint_.http.port, timeout) {}

  Reply Ask(const perf::Payload& photo) override {
    Reply reply;
    auto w = BuildRequest(endpoint_, photo);
    if (!w.ok()) {
      reply.error = "not sent: " + w.status().message();
      return reply;
    }
    auto r = client_.Request("POST", w->target, std::move(w->body), w->content_type, w->headers);
    if (!r.ok()) {
      reply.error = "no response (refused, reset or timed out)";
      return reply;
    }
    reply.status = r->status;
    if (r->status != 200) {
      reply.error = fmt::format("HTTP {}", r->status);
      return reply;
    }
    auto a = ParseAnswer(endpoint_, r->body);
    if (!a.ok()) {
      reply.error = "bad response: " + a.status().message();
      return reply;
    }
    reply.answer = std::move(a).value();
    return reply;
  }

 private:
  Endpoint endpoint_;
  serving::http::HttpClient client_;
};

struct SideTally {
  uint64_t requests = 0, answered = 0;
  std::map<std::string, uint64_t> errors;
  perf::HdrHistogram histogram;
};

SideStats Finish(const SideTally& t, std::string name) {
  SideStats s;
  s.name = std::move(name);
  s.requests = t.requests;
  s.answered = t.answered;
  s.errors = t.errors;
  s.histogram = t.histogram;
  s.latency = perf::Summarize(t.histogram);
  return s;
}

}  // namespace

std::unique_ptr<Side> MakeHttpSide(const Endpoint& endpoint, std::chrono::milliseconds timeout) {
  return std::make_unique<HttpSide>(endpoint, timeout);
}

Result<ShadowResult> RunShadow(const std::vector<perf::Payload>& photos, LabelSpace space,
                               const SideFactory& a, const SideFactory& b, const SideFactory& noise,
                               const ShadowOptions& options) {
  if (photos.empty()) return InvalidArgument("shadow: no photos to send");
  if (options.concurrency < 1 || options.concurrency > 256) {
    return InvalidArgument(
        fmt::format("shadow: concurrency {} is outside 1..256", options.concurrency));
  }
  if (options.rate < 0 || options.duration_s < 0 || options.top_k < 1) {
    return InvalidArgument("shadow: rate and duration must be ≥ 0 and top-k ≥ 1");
  }
  perf::Clock& clock = options.clock ? *options.clock : perf::SystemClock();
  const bool with_noise = static_cast<bool>(noise);
  const int sides = with_noise ? 3 : 2;
  // Sides made on the caller's thread, one set per worker.
  std::vector<std::vector<std::unique_ptr<Side>>> workers(static_cast<size_t>(options.concurrency));
  for (auto& w : workers) {
    w.push_back(a());
    w.push_back(b());
    if (with_noise) w.push_back(noise());
  }

  std::mutex mu;  // guards everything below it
  SideTally tally[3];
  PairComparison ab(options.top_k, options.max_listed), aa(options.top_k, options.max_listed);
  uint64_t sent = 0;

  std::atomic<uint64_t> next{0};
  const perf::Clock::TimePoint start = clock.Now();
  const auto end = start + std::chrono::duration_cast<perf::Clock::Duration>(
                               std::chrono::duration<double>(options.duration_s));
  auto work = [&](std::vector<std::unique_ptr<Side>>& mine) {
    clock.Join();
    for (;;) {
      const uint64_t i = next.fetch_add(1);
      if (options.duration_s == 0 ? i >= photos.size() : clock.Now() >= end) break;
      if (options.rate > 0) {
        const auto at =
            start + std::chrono::duration_cast<perf::Clock::Duration>(
                        std::chrono::duration<double>(static_cast<double>(i) / options.rate));
        if (options.duration_s > 0 && at >= end) break;
        clock.SleepUntil(at);
      }
      const perf::Payload& photo = photos[i % photos.size()];
      Reply replies[3];
      double ms[3] = {0, 0, 0};
      for (int k = 0; k < sides; ++k) {
        const int s = i % 2 == 0 ? k : sides - 1 - k;  // even: A, B[, A′]; odd: the reverse
        const auto t0 = clock.Now();
        replies[s] = mine[static_cast<size_t>(s)]->Ask(photo);
        ms[s] = perf::SecondsBetween(t0, clock.Now()) * 1e3;
      }
      std::lock_guard<std::mutex> lock(mu);
      ++sent;
      std::optional<std::vector<float>> placed[3];
      for (int s = 0; s < sides; ++s) {
        SideTally& t = tally[s];
        ++t.requests;
        Reply& r = replies[s];
        if (r.answer) {
          auto p = space.Place(s == 2 ? 0 : s, *r.answer);
          if (p.ok()) {
            placed[s] = std::move(p).value();
          } else {
            r.error = "bad response: " + p.status().message();
          }
        }
        if (placed[s]) {
          ++t.answered;
          t.histogram.Record(ms[s] * 1e3);
        } else {
          ++t.errors[r.error];
        }
      }
      if (placed[0] && placed[1]) ab.Add(photo.name, *placed[0], *placed[1], space.labels());
      if (with_noise && placed[0] && placed[2])
        aa.Add(photo.name, *placed[0], *placed[2], space.labels());
    }
    clock.Leave();
  };
  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back(work, std::ref(w));
  for (auto& t : threads) t.join();

  ShadowResult result;
  result.labels = space.labels();
  result.label_note = space.note();
  result.photos = sent;
  result.elapsed_s = perf::SecondsBetween(start, clock.Now());
  result.a = Finish(tally[0], "A");
  result.b = Finish(tally[1], "B");
  result.ab = ab.Finish(result.labels);
  if (with_noise) {
    result.noise = Finish(tally[2], "A′ (noise)");
    result.noise_floor = aa.Finish(result.labels);
  }
  return result;
}

}  // namespace kamado::shadow
