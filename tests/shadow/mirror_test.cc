// kamado serve --mirror end to end (the Mirror itself: mirror_unit_test.cc):
// a real `kamado serve --mirror` whose mirror is another kamado server
// (every answer agrees) or a target that never answers (live answers
// unaffected, drops counted in /metrics).
#include "shadow/mirror.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "serving/serving_test_util.h"
#include "serving/spawn_server.h"
#include "testutil/run_command.h"
#include "testutil/test_data.h"

namespace kamado::shadow {
namespace {

using nlohmann::json;

const std::filesystem::path kModel = "models/mobilenet_v2";
const std::vector<std::filesystem::path> kImages = {
    "data/images/chelsea.png", "data/images/coffee.png", "data/images/rocket.jpg",
    "data/images/astronaut.png"};

struct Served {
  serving::Child child;
  uint16_t port = 0;
  void Stop() {
    if (child.pid > 0) {
      kill(child.pid, SIGINT);
      int status = 0;
      waitpid(child.pid, &status, 0);
      child.pid = -1;
    }
    if (child.out) fclose(child.out);
    child.out = nullptr;
  }
  ~Served() { Stop(); }
};

json MirrorJson(uint16_t port) {
  serving::http::HttpClient c("127.0.0.1", port);
  auto r = c.Get("/v2/mirror");
  EXPECT_TRUE(r.ok());
  if (!r.ok() || r->status != 200) return json::object();
  return json::parse(r->body);
}

// Waits (bounded) until the mirror has dealt with `n` requests.
json WaitForMirror(uint16_t port, uint64_t n) {
  json j;
  for (int i = 0; i < 600; ++i) {
    j = MirrorJson(port);
    if (j.contains("mirror") &&
        j["photos"].get<uint64_t>() + j["mirror"]["dropped"].get<uint64_t>() >= n)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return j;
}

TEST(MirrorServe, CopiesLiveRequestsToAnotherKamadoAndAgrees) {
  KAMADO_REQUIRE_DATA(kModel / "kamado.yaml");
  for (const auto& i : kImages) KAMADO_REQUIRE_DATA(i);
  serving::ServiceOptions o;
  o.sessions = 1;
  o.threads = 1;
  serving::testing::TestServer target(o);
  ASSERT_NE(target.server, nullptr);
  Served live;
  live.child = serving::Spawn(
      {"serve", "--model", kModel.string(), "--port", "0", "--sessions", "1", "--threads", "1",
       "--mirror",
       "http://127.0.0.1:" + std::to_string(target.port()) + "/v2/models/mobilenet_v2/classify"},
      &live.port);
  ASSERT_GT(live.port, 0);
  serving::http::HttpClient c("127.0.0.1", live.port);
  for (size_t i = 0; i < kImages.size(); ++i) {
    const std::string photo = serving::testing::FileBytes(kImages[i]);
    // The last as a form upload: the mirror sends on the photo alone.
    auto r =
        i + 1 < kImages.size()
            ? c.Post("/v2/models/mobilenet_v2/classify", photo, "image/png")
            : c.Post(
                  "/v2/models/mobilenet_v2/classify",
                  "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.png\"\r\n"
                  "Content-Type: image/png\r\n\r\n" +
                      photo + "\r\n--XyZ--\r\n",
                  "multipart/form-data; boundary=XyZ");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 200) << r->body;
  }
  const json j = WaitForMirror(live.port, kImages.size());
  ASSERT_TRUE(j.contains("a_vs_b")) << j.dump();
  EXPECT_EQ(j["photos"], kImages.size());
  EXPECT_EQ(j["mirror"]["dropped"], 0);
  EXPECT_EQ(j["a_vs_b"]["compared"], kImages.size());
  EXPECT_EQ(j["a_vs_b"]["top1_agreement"], 1.0);
  EXPECT_LE(j["a_vs_b"]["max_abs_dp"].get<double>(), 1e-6);
  const std::string metrics = c.Get("/metrics")->body;
  EXPECT_NE(metrics.find("kamado_mirror_requests_total{outcome=\"sent\"} " +
                         std::to_string(kImages.size())),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("kamado_mirror_agreed_total " + std::to_string(kImages.size())),
            std::string::npos);
  auto html = c.Get("/v2/mirror?format=html");
  ASSERT_TRUE(html.ok());
  EXPECT_NE(html->body.find("<!DOCTYPE html>"), std::string::npos);
  EXPECT_NE(html->header("content-type").find("text/html"), std::string::npos);
  // kamado shadow --from-mirror reads the same figures and writes the page.
  const std::string report = (std::filesystem::temp_directory_path() /
                              ("kamado_mirror_" + std::to_string(getpid()) + ".html"))
                                 .string();
  int rc = -1;
  const std::string out =
      testutil::RunCommand(std::string(KAMADO_BINARY) + " shadow --from-mirror http://127.0.0.1:" +
                               std::to_string(live.port) + " --report " + report,
                           rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find(std::to_string(kImages.size()) + " sent, 0 dropped"), std::string::npos)
      << out;
  EXPECT_NE(out.find("top-1 agreement 100.00%"), std::string::npos) << out;
  EXPECT_TRUE(std::filesystem::exists(report));
  std::filesystem::remove(report);
}

TEST(MirrorServe, ATargetThatNeverAnswersCostsTheLiveSideNothingAndIsCounted) {
  KAMADO_REQUIRE_DATA(kModel / "kamado.yaml");
  for (const auto& i : kImages) KAMADO_REQUIRE_DATA(i);
  // A TorchServe-style target (no metadata asked) that holds every request
  // until the test ends.
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::vector<std::thread> held;  // guarded by mu
  serving::http::HttpServerOptions so;
  so.port = 0;
  so.io_threads = 2;
  serving::http::HttpServer hang(so, [&](serving::http::Request&&, serving::http::RequestContext&&,
                                         serving::http::Responder respond) {
    std::lock_guard<std::mutex> lock(mu);
    held.emplace_back([&, respond] {
      {
        std::unique_lock<std::mutex> wait(mu);
        cv.wait(wait, [&] { return done; });
      }
      serving::http::Response res{boost::beast::http::status::service_unavailable, 11};
      res.prepare_payload();
      respond(std::move(res));
    });
  });
  ASSERT_TRUE(hang.Start().ok());
  Served live;
  live.child =
      serving::Spawn({"serve", "--model", kModel.string(), "--port", "0", "--sessions", "1",
                      "--threads", "1", "--mirror-queue", "2", "--mirror",
                      "http://127.0.0.1:" + std::to_string(hang.port()) + "/predictions/food"},
                     &live.port);
  ASSERT_GT(live.port, 0);
  serving::http::HttpClient c("127.0.0.1", live.port);
  constexpr int kRequests = 12;
  for (int i = 0; i < kRequests; ++i) {
    auto r = c.Post("/v2/models/mobilenet_v2/classify",
                    serving::testing::FileBytes(kImages[i % kImages.size()]), "image/png");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 200) << r->body;  // every live answer, whatever the mirror does
  }
  // Two senders hold one request each (sent counts only once answered),
  // at most two wait in the queue: the rest were dropped.
  const json j = WaitForMirror(live.port, kRequests - 4);
  ASSERT_TRUE(j.contains("mirror")) << j.dump();
  EXPECT_EQ(j["mirror"]["sampled"], kRequests);
  EXPECT_EQ(j["photos"], 0) << j.dump();
  EXPECT_LE(j["mirror"]["queued"].get<int>(), 2);
  EXPECT_GE(j["mirror"]["dropped"].get<int>(), kRequests - 4) << j.dump();
  EXPECT_LE(j["mirror"]["dropped"].get<int>(), kRequests - 1) << j.dump();
  const std::string metrics = c.Get("/metrics")->body;
  EXPECT_NE(metrics.find("kamado_mirror_requests_total{outcome=\"dropped\"} " +
                         std::to_string(j["mirror"]["dropped"].get<int>())),
            std::string::npos)
      << metrics;
  {
    std::lock_guard<std::mutex> lock(mu);
    done = true;
  }
  cv.notify_all();
  live.Stop();  // its mirror's senders get their 503s and stop
  hang.Shutdown(std::chrono::seconds(5));
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu);
    threads.swap(held);
  }
  for (auto& t : threads) t.join();
}

}  // namespace
}  // namespace kamado::shadow

namespace kamado::shadow {
namespace {

// --from-mirror against something that is not a mirror: an error naming it,
// never a crash.
TEST(MirrorServe, FromMirrorRefusesAForeignDocument) {
  serving::http::HttpServerOptions so;
  so.port = 0;
  so.io_threads = 1;
  serving::http::HttpServer foreign(so, [](serving::http::Request&& req, serving::http::RequestContext&&,
                                           serving::http::Responder respond) {
    serving::http::Response res{boost::beast::http::status::ok, req.version()};
    res.body() = R"({"a_vs_b": 1, "mirror": "x", "sides": []})";
    res.prepare_payload();
    respond(std::move(res));
  });
  ASSERT_TRUE(foreign.Start().ok());
  int rc = -1;
  const std::string out = testutil::RunCommand(
      std::string(KAMADO_BINARY) + " shadow --from-mirror http://127.0.0.1:" + std::to_string(foreign.port()) + " 2>&1",
      rc);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("not a mirror's JSON"), std::string::npos) << out;
  foreign.Shutdown(std::chrono::seconds(5));
}

}  // namespace
}  // namespace kamado::shadow
