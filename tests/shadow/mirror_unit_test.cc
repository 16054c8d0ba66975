// The Mirror of kamado serve --mirror on scripted targets: the share taken
// is exact and evenly spread; the queue is bounded and what does not fit is
// dropped and counted (never queued without bound, never blocking the
// caller); answers are compared with the live ones; many request threads at
// once against its senders (run under ThreadSanitizer in make test).
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/file_util.h"
#include "shadow/mirror.h"
#include "testutil/test_data.h"

namespace kamado::shadow {
namespace {

// A target that answers fixed scores, and holds every answer until
// released, saying when it has been asked.
class GatedSide : public Side {
 public:
  struct Gate {
    std::mutex mu;
    std::condition_variable cv;
    int asked = 0;
    bool open = false;
  };
  GatedSide(Gate* gate, std::vector<float> scores) : gate_(gate), scores_(std::move(scores)) {}
  Reply Ask(const perf::Payload&) override {
    std::unique_lock<std::mutex> lock(gate_->mu);
    ++gate_->asked;
    gate_->cv.notify_all();
    gate_->cv.wait(lock, [&] { return gate_->open; });
    Reply r;
    r.status = 200;
    r.answer = Answer{scores_, {}};
    return r;
  }

 private:
  Gate* gate_;
  std::vector<float> scores_;
};

LabelSpace TwoClasses() {
  auto s = LabelSpace::Resolve({{"x", "y"}, "a"}, {{"x", "y"}, "b"}, "A", "B", true, true);
  EXPECT_TRUE(s.ok());
  return *s;
}

// A Mirror of model "m" over TwoClasses whose target answers `scores`
// through `gate`.
Result<std::unique_ptr<Mirror>> GatedMirror(GatedSide::Gate& gate, std::vector<float> scores, MirrorOptions o) {
  o.model = "m";
  return Mirror::Create(
      TwoClasses(), [&gate, scores] { return std::make_unique<GatedSide>(&gate, scores); }, o);
}

serving::TappedRequest Live(std::vector<float> p) {
  return {"m", "image/png", "photo", std::move(p), 12.5};
}

TEST(Mirror, TakesExactlyItsShareOfItsModelEvenlySpread) {
  GatedSide::Gate gate;
  gate.open = true;
  MirrorOptions o;
  o.share = 0.25;
  auto m = GatedMirror(gate, std::vector<float>{1, 0}, o);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  std::vector<int> taken;
  for (int i = 0; i < 100; ++i) {
    if ((*m)->Sample("m")) taken.push_back(i);
  }
  ASSERT_EQ(taken.size(), 25u);
  for (size_t i = 1; i < taken.size(); ++i) EXPECT_EQ(taken[i] - taken[i - 1], 4);
  EXPECT_FALSE((*m)->Sample("other"));
  EXPECT_EQ((*m)->counters().sampled, 25u);
  for (double bad : {0.0, -1.0, 1.5}) {
    o.share = bad;
    EXPECT_FALSE(GatedMirror(gate, std::vector<float>{}, o)
                     .ok());
  }
}

TEST(Mirror, AFullQueueDropsAndCountsNeverBlocks) {
  GatedSide::Gate gate;
  MirrorOptions o;
  o.max_queue = 2;
  o.senders = 1;
  auto m = GatedMirror(gate, std::vector<float>{0.9f, 0.1f}, o);
  ASSERT_TRUE(m.ok());
  Mirror& mirror = **m;
  mirror.OnClassified(Live({0.8f, 0.2f}));
  {  // the one sender holds the first request
    std::unique_lock<std::mutex> lock(gate.mu);
    gate.cv.wait(lock, [&] { return gate.asked == 1; });
  }
  for (int i = 0; i < 9; ++i) mirror.OnClassified(Live({0.8f, 0.2f}));  // returns at once: 2 fit
  Mirror::Counters c = mirror.counters();
  EXPECT_EQ(c.offered, 10u);
  EXPECT_EQ(c.queued, 2u);
  EXPECT_EQ(c.dropped, 7u);
  EXPECT_EQ(c.sent, 0u);
  const std::string text = mirror.RenderMetrics();
  EXPECT_NE(text.find("kamado_mirror_requests_total{outcome=\"dropped\"} 7\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("kamado_mirror_queue_depth 2\n"), std::string::npos) << text;
  {
    std::lock_guard<std::mutex> lock(gate.mu);
    gate.open = true;
  }
  gate.cv.notify_all();
  mirror.Stop();  // joins after the one in flight; nothing was left queued once it caught up, or it
                  // is dropped
  c = mirror.counters();
  EXPECT_EQ(c.sent + c.dropped, 10u);
  EXPECT_EQ(c.queued, 0u);
  EXPECT_GE(c.sent, 1u);
  const ShadowResult r = mirror.Snapshot();
  EXPECT_EQ(r.ab.compared, c.sent);
  EXPECT_EQ(r.ab.top1_agree, c.sent);
  EXPECT_NEAR(r.ab.max_abs_dp, 0.1, 1e-6);
  EXPECT_EQ(r.a.latency.count, c.sent);
  EXPECT_NEAR(r.a.latency.p50_ms, 12.5, 0.2);  // the live side's own time
  mirror.OnClassified(Live({0.8f, 0.2f}));     // after Stop: dropped, counted
  EXPECT_EQ(mirror.counters().dropped, c.dropped + 1);
}

TEST(Mirror, ManyRequestThreadsAtOnceEveryCopyAccountedFor) {
  GatedSide::Gate gate;
  gate.open = true;
  MirrorOptions o;
  o.share = 0.5;
  o.max_queue = 4;
  auto m = GatedMirror(gate, std::vector<float>{0.9f, 0.1f}, o);
  ASSERT_TRUE(m.ok());
  Mirror& mirror = **m;
  constexpr int kThreads = 4, kEach = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        if (mirror.Sample("m")) mirror.OnClassified(Live({0.7f, 0.3f}));
        if (i % 50 == 0) (void)mirror.RenderMetrics();
      }
    });
  }
  for (auto& t : threads) t.join();
  mirror.Stop();
  const Mirror::Counters c = mirror.counters();
  EXPECT_EQ(c.sampled, kThreads * kEach / 2u);
  EXPECT_EQ(c.offered, c.sampled);
  EXPECT_EQ(c.sent + c.dropped, c.offered);
  EXPECT_EQ(c.errors, 0u);
  EXPECT_EQ(mirror.Snapshot().ab.top1_agree, c.sent);
}

TEST(Mirror, ItsPageShowsTheDisagreeingRequestsAsThumbnails) {
  const std::filesystem::path photo = "data/images/coffee.png";
  KAMADO_REQUIRE_DATA(photo);
  GatedSide::Gate gate;
  gate.open = true;
  MirrorOptions o;
  o.senders = 1;
  auto m = GatedMirror(gate, std::vector<float>{0.1f, 0.9f}, o);
  ASSERT_TRUE(m.ok());
  serving::TappedRequest r = Live({0.8f, 0.2f});  // x live, y on the target
  r.photo = *ReadFile(photo);
  (*m)->OnClassified(r);
  for (int i = 0; i < 10000 && (*m)->counters().sent < 1; ++i) {
    std::this_thread::sleep_for(
        std::chrono::milliseconds(1));  // until the sender has dealt with it
  }
  ASSERT_EQ((*m)->counters().sent, 1u);
  const std::string html = (*m)->RenderReport(true);
  EXPECT_NE(html.find("<b>request 1</b><br/>A: x (0.800)<br/>B: y (0.900)"), std::string::npos);
  EXPECT_NE(html.find("src=\"data:image/jpeg;base64,"), std::string::npos);
}

}  // namespace
}  // namespace kamado::shadow
