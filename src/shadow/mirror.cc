#include "shadow/mirror.h"

#include <fmt/format.h>

#include <cmath>

#include "image/thumbnail.h"
#include "serving/http/http_client.h"
#include "shadow/shadow_html.h"
#include "shadow/shadow_report.h"

namespace kamado::shadow {

Result<std::unique_ptr<Mirror>> Mirror::Create(LabelSpace space, SideFactory target,
                                               MirrorOptions options) {
  if (!(options.share > 0 && options.share <= 1)) {
    return InvalidArgument(fmt::format("mirror share {} is outside (0, 1]", options.share));
  }
  if (options.max_queue < 1) return InvalidArgument("mirror queue must hold at least 1 request");
  if (options.senders < 1 || options.senders > 64) {
    return InvalidArgument(fmt::format("mirror senders {} outside 1..64", options.senders));
  }
  std::unique_ptr<Mirror> m(new Mirror(std::move(space), std::move(options)));
  // Connections made here, on the caller's thread; each sender owns one.
  for (int i = 0; i < m->options_.senders; ++i) {
    std::shared_ptr<Side> side = target();
    if (!side) return InvalidArgument("mirror: no connection to the target could be made");
    m->senders_.emplace_back([mirror = m.get(), side] { mirror->Send(*side); });
  }
  return m;
}

Mirror::Mirror(LabelSpace space, MirrorOptions options)
    : options_(std::move(options)),
      clock_(options_.clock ? *options_.clock : perf::SystemClock()),
      space_(std::move(space)),
      comparison_(options_.top_k, options_.max_listed, /*distinct_photos=*/false),
      started_(clock_.Now()) {}

Mirror::~Mirror() { Stop(); }

bool Mirror::Sample(const std::string& model) {
  if (model != options_.model) return false;
  // Request n is taken when ⌊(n+1)·share⌋ > ⌊n·share⌋: evenly spread, exactly
  // share·N of N requests (to one), without a lock or a random generator.
  const uint64_t n = seen_.fetch_add(1);
  const bool take = std::floor(static_cast<double>(n + 1) * options_.share) >
                    std::floor(static_cast<double>(n) * options_.share);
  if (take) sampled_.fetch_add(1);
  return take;
}

void Mirror::OnClassified(serving::TappedRequest request) {
  std::lock_guard<std::mutex> lock(mu_);
  ++offered_;
  if (stopping_ || queue_.size() >= options_.max_queue) {
    ++dropped_;
    return;
  }
  queue_.push_back(std::move(request));
  ready_.notify_one();
}

void Mirror::Send(Side& side) {
  clock_.Join();
  for (;;) {
    serving::TappedRequest r;
    uint64_t id = 0;
    {
      std::unique_lock<std::mutex> lock(mu_);
      ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) break;
      r = std::move(queue_.front());
      queue_.pop_front();
      id = ++next_id_;
    }
    const perf::Payload photo{fmt::format("request {}", id), r.content_type, std::move(r.photo)};
    const auto t0 = clock_.Now();
    Reply reply = side.Ask(photo);
    const double ms = perf::SecondsBetween(t0, clock_.Now()) * 1e3;

    std::lock_guard<std::mutex> lock(mu_);
    ++sent_;
    ++live_answered_;
    live_us_.Record(r.total_ms * 1e3);
    auto live = space_.Place(0, Answer{std::move(r.probabilities), {}});
    std::optional<std::vector<float>> target;
    if (reply.answer) {
      auto p = space_.Place(1, *reply.answer);
      if (p.ok()) {
        target = std::move(p).value();
      } else {
        reply.error = "bad response: " + p.status().message();
      }
    }
    if (!target) {
      ++target_errors_[reply.error];
      continue;
    }
    ++target_answered_;
    target_us_.Record(ms * 1e3);
    if (live.ok() && comparison_.Add(photo.name, *live, *target, space_.labels())) {
      // At most max_listed of these, each a few KiB.
      auto t = image::JpegThumbnail(
          {reinterpret_cast<const uint8_t*>(photo.body.data()), photo.body.size()});
      if (t.ok()) thumbnails_[photo.name] = std::move(t).value();
    }
  }
  clock_.Leave();
}

void Mirror::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && senders_.empty()) return;
    stopping_ = true;
    dropped_ += queue_.size();
    queue_.clear();
  }
  ready_.notify_all();
  for (auto& t : senders_) t.join();
  senders_.clear();
}

Mirror::Counters Mirror::counters() const {
  std::lock_guard<std::mutex> lock(mu_);
  Counters c;
  c.sampled = sampled_.load();
  c.offered = offered_;
  c.dropped = dropped_;
  c.sent = sent_;
  c.answered = target_answered_;
  c.errors = sent_ - target_answered_;
  c.queued = queue_.size();
  return c;
}

ShadowResult Mirror::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  ShadowResult r;
  r.labels = space_.labels();
  r.label_note = space_.note();
  r.photos = sent_;
  r.elapsed_s = perf::SecondsBetween(started_, clock_.Now());
  r.a.name = "A (live)";
  r.a.url = options_.model;
  r.a.requests = sent_;
  r.a.answered = live_answered_;
  r.a.histogram = live_us_;
  r.a.latency = perf::Summarize(live_us_);
  r.b.name = "B (mirror)";
  r.b.url = options_.target_url;
  r.b.requests = sent_;
  r.b.answered = target_answered_;
  r.b.errors = target_errors_;
  r.b.histogram = target_us_;
  r.b.latency = perf::Summarize(target_us_);
  r.ab = comparison_.Finish(space_.labels());
  return r;
}

std::string Mirror::RenderMetrics() const {
  const Counters c = counters();
  PairStats ab;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ab = comparison_.Finish(space_.labels());
  }
  std::string o;
  o += "# HELP kamado_mirror_requests_total Live /classify requests chosen for the mirror "
       "(--mirror-share), "
       "by outcome: sent to the target, or dropped because the mirror queue was full.\n";
  o += "# TYPE kamado_mirror_requests_total counter\n";
  o += fmt::format("kamado_mirror_requests_total{{outcome=\"sent\"}} {}\n", c.sent);
  o += fmt::format("kamado_mirror_requests_total{{outcome=\"dropped\"}} {}\n", c.dropped);
  o += "# HELP kamado_mirror_errors_total Mirrored requests the target did not answer usably (no "
       "response, "
       "an HTTP error, a malformed answer).\n";
  o += "# TYPE kamado_mirror_errors_total counter\n";
  o += fmt::format("kamado_mirror_errors_total {}\n", c.errors);
  o += "# HELP kamado_mirror_compared_total Mirrored requests whose answers were compared with the "
       "live ones.\n";
  o += "# TYPE kamado_mirror_compared_total counter\n";
  o += fmt::format("kamado_mirror_compared_total {}\n", ab.compared);
  o += "# HELP kamado_mirror_agreed_total Compared requests whose top-1 label was the same on both "
       "sides.\n";
  o += "# TYPE kamado_mirror_agreed_total counter\n";
  o += fmt::format("kamado_mirror_agreed_total {}\n", ab.top1_agree);
  o += "# HELP kamado_mirror_queue_depth Mirrored requests waiting to be sent.\n";
  o += "# TYPE kamado_mirror_queue_depth gauge\n";
  o += fmt::format("kamado_mirror_queue_depth {}\n", c.queued);
  return o;
}

std::string Mirror::RenderReport(bool html) const {
  const ShadowResult r = Snapshot();
  if (!html) {
    nlohmann::json j = ShadowJson(r);
    const Counters c = counters();
    j["mirror"] = {{"model", options_.model}, {"target", options_.target_url},
                   {"share", options_.share}, {"max_queue", options_.max_queue},
                   {"sampled", c.sampled},    {"dropped", c.dropped},
                   {"queued", c.queued}};
    return j.dump();
  }
  HtmlInputs in;
  in.title = "kamado serve --mirror: " + options_.model + " against " + options_.target_url;
  {
    std::lock_guard<std::mutex> lock(mu_);
    in.thumbnails = thumbnails_;
  }
  return RenderShadowHtml(r, in);
}

Result<std::unique_ptr<Mirror>> StartHttpMirror(const std::string& url, const std::string& model,
                                                const std::vector<std::string>& labels,
                                                double share, size_t max_queue,
                                                std::chrono::milliseconds timeout) {
  ASSIGN_OR_RETURN(Endpoint target, ParseEndpoint(url, "--mirror"));
  serving::http::HttpClient client(target.http.host, target.http.port, timeout);
  ASSIGN_OR_RETURN(ClassInfo classes, FetchClassInfo(target, client));
  const ClassInfo live{labels, "model '" + model + "'"};
  auto space = LabelSpace::Resolve(live, classes, "the live model", "--mirror " + url, true,
                                   target.protocol != Protocol::kTorchServe);
  if (!space.ok()) return InvalidArgument(space.status().message());
  MirrorOptions options;
  options.model = model;
  options.target_url = url;
  options.share = share;
  options.max_queue = max_queue;
  return Mirror::Create(
      std::move(space).value(), [target, timeout] { return MakeHttpSide(target, timeout); },
      std::move(options));
}

}  // namespace kamado::shadow
