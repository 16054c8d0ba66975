// What a client can make the server do, held to its limits (issue 14): the
// six defects found by attacking the server, each with its regression test,
// the budgets (connections, buffered bytes, trailers, decode work, memory
// given back), the HTTP conformance rules, and the bad-request corpus
// answered in kamado's own words. Real sockets on loopback throughout.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <boost/asio/write.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <condition_variable>
#include <mutex>
#include <sstream>
#include <thread>

#include "core/process_usage.h"
#include "image/decode.h"
#include "serving/allocator.h"
#include "serving/http/encoding.h"
#include "serving/http/http_server.h"
#include "serving/http_corpus.h"
#include "serving/raw_http.h"
#include "serving/serving_test_util.h"
#include "testutil/test_data.h"

namespace kamado::serving {
namespace {

namespace fs = std::filesystem;
namespace net = boost::asio;
using nlohmann::json;
using testing::Connect;
using testing::FileBytes;
using testing::RawExchange;
using testing::ReadResponse;
using testing::TestServer;

const fs::path kModel = "models/mobilenet_v2";
const std::string kImage = "data/images/chelsea.png";  // 451x300 RGB PNG

// Polls `ready` (state, not time) for up to ~20 s.
template <typename F>
bool WaitFor(F ready) {
  for (int i = 0; i < 20000; ++i) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return ready();
}

std::string ErrorOf(const http::HttpResponse& r) {
  try {
    return json::parse(r.body).value("error", "");
  } catch (...) {
    return "";
  }
}

// An HTTP server whose handler answers 200 with the body's size: the HTTP
// layer alone, no model.
struct EchoServer {
  std::unique_ptr<http::HttpServer> server;
  explicit EchoServer(http::HttpServerOptions options = {}) {
    options.port = 0;
    options.io_threads = 2;
    server = std::make_unique<http::HttpServer>(options, [](http::Request&& req, http::RequestContext&&,
                                                            http::Responder respond) {
      respond(http::MakeResponse(200, json{{"bytes", req.body().size()}}.dump()));
    });
    Status s = server->Start();
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  uint16_t port() const { return server->port(); }
  int Get(const std::string& target = "/") const {
    return RawExchange(port(), "GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n").status;
  }
};

// Defect 1: a chunked trailer with a ~65 KB field threw std::length_error out
// of Beast's parser and killed the process. The read buffer is bounded now:
// the trailer is held to the header limit and answered 431, and so is a
// 20 MB trailer of small fields.
TEST(HttpHardening, ChunkedTrailerOverTheHeaderLimitIs431AndTheServerLives) {
  EchoServer s;
  const std::string head = "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n";
  http::HttpResponse r =
      RawExchange(s.port(), head + "X-Big: " + std::string(70000, 'a') + "\r\n\r\n");
  EXPECT_EQ(r.status, 431) << r.body;
  EXPECT_NE(ErrorOf(r).find("trailer is over the limit of 16384 bytes (max_header_bytes)"),
            std::string::npos) << r.body;
  std::string many = head;
  while (many.size() < (20u << 20)) many += "X-F: " + std::string(100, 'b') + "\r\n";
  r = RawExchange(s.port(), many + "\r\n");
  EXPECT_EQ(r.status, 431) << r.body;
  // A small trailer is fine.
  r = RawExchange(s.port(), head + "X-Small: 1\r\n\r\n");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"bytes":5})");
  // Released when the response's write completes, which may be just after
  // the client has read it.
  EXPECT_TRUE(WaitFor([&] { return s.server->stats().buffered_bytes == 0; }));
}

// Defect 3: at the open-files limit accept failed at once, again and again
// (ten million log lines in 13 s). Now it waits accept_backoff between tries
// and logs once per interval; when descriptors come back it accepts again.
TEST(HttpHardening, AcceptBacksOffWhenOutOfDescriptors) {
  http::HttpServerOptions o;
  o.accept_backoff = std::chrono::milliseconds(100);
  o.accept_log_interval = std::chrono::seconds(60);
  EchoServer s(o);
  ASSERT_EQ(s.Get(), 200);
  net::io_context ioc;
  // The client sockets exist before the limit drops (connect needs no new
  // descriptor); the server then has none left to accept them with.
  std::vector<net::ip::tcp::socket> clients;
  for (int i = 0; i < 4; ++i) {
    clients.emplace_back(ioc);
    clients.back().open(net::ip::tcp::v4());
  }
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  int listed = 0;  // includes the iterator's own descriptor, closed after the loop
  for (auto it = fs::directory_iterator("/proc/self/fd"); it != fs::directory_iterator(); ++it) ++listed;
  rlimit low = saved;
  low.rlim_cur = static_cast<rlim_t>(listed - 1);  // every descriptor in use
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  const http::HttpServerStats before = s.server->stats();
  for (auto& c : clients) c.connect({net::ip::make_address("127.0.0.1"), s.port()});
  // Let it fail for a while: about ten tries at 100 ms, where a busy loop
  // makes hundreds of thousands.
  ASSERT_TRUE(WaitFor([&] { return s.server->stats().accept_failures >= before.accept_failures + 3; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  const http::HttpServerStats during = s.server->stats();
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
  const uint64_t failures = during.accept_failures - before.accept_failures;
  EXPECT_GE(failures, 3u);
  EXPECT_LE(failures, 60u) << "accept is spinning";
  EXPECT_EQ(during.accept_warnings - before.accept_warnings, 1u) << "one log line per interval";
  // Descriptors are back: the waiting connections are accepted and answered.
  for (auto& c : clients) {
    boost::system::error_code ec;
    net::write(c, net::buffer(std::string("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")), ec);
    EXPECT_EQ(ReadResponse(c).status, 200);
  }
}

TEST(HttpHardening, ConnectionsOverTheLimitGet503WithRetryAfter) {
  http::HttpServerOptions o;
  o.max_connections = 3;
  rlimit files{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &files), 0);
  ASSERT_GT(files.rlim_max, 256u);
  rlimit low = files;
  low.rlim_cur = 256;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  EchoServer by_files;  // max_connections 0: the open-files limit less the reserve
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &files), 0);
  EXPECT_EQ(files.rlim_cur, files.rlim_max) << "Start raises the open-files soft limit to the hard limit";
  EXPECT_EQ(by_files.server->max_connections(), static_cast<int>(files.rlim_max) - http::kReservedFiles);
  EchoServer s(o);
  EXPECT_EQ(s.server->max_connections(), 3);
  net::io_context ioc;
  std::vector<net::ip::tcp::socket> idle;
  for (int i = 0; i < 3; ++i) idle.push_back(Connect(ioc, s.port()));
  ASSERT_TRUE(WaitFor([&] { return s.server->connections() == 3; }));
  http::HttpResponse r = RawExchange(s.port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.header("retry-after"), "1");
  EXPECT_NE(ErrorOf(r).find("3 connections open, its limit (max_connections)"), std::string::npos) << r.body;
  EXPECT_EQ(s.server->stats().refused_connections, 1u);
  idle.pop_back();
  ASSERT_TRUE(WaitFor([&] { return s.server->connections() == 2; }));
  EXPECT_EQ(s.Get(), 200);
}

// 40 connections x 15 MiB of unfinished body took 600 MB that stayed. The
// bodies being read now share one budget; a declared Content-Length counts
// in full as soon as the header arrives.
TEST(HttpHardening, RequestBodiesShareOneBudgetAcrossConnections) {
  http::HttpServerOptions o;
  o.max_buffered_bytes = 1 << 20;
  EchoServer s(o);
  net::io_context ioc;
  auto holder = Connect(ioc, s.port());
  net::write(holder, net::buffer("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 700000\r\n\r\n" +
                                 std::string(1000, 'x')));
  ASSERT_TRUE(WaitFor([&] { return s.server->stats().buffered_bytes >= 700000; }));
  const std::string second = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 700000\r\n\r\n" +
                             std::string(700000, 'y');
  http::HttpResponse r = RawExchange(s.port(), second);
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.header("retry-after"), "1");
  EXPECT_NE(ErrorOf(r).find("(max_buffered_bytes)"), std::string::npos) << r.body;
  holder.close();
  ASSERT_TRUE(WaitFor([&] { return s.server->stats().buffered_bytes == 0; }));
  r = RawExchange(s.port(), second);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"bytes":700000})");
  EXPECT_TRUE(WaitFor([&] { return s.server->stats().buffered_bytes == 0; }));
}

// SIGTERM waited out half-sent headers (29.7 s with five). Shutdown now
// closes every connection that has not finished its header.
TEST(HttpHardening, ShutdownClosesConnectionsThatHaveNotFinishedTheirHeader) {
  http::HttpServerOptions o;
  o.header_timeout = std::chrono::seconds(120);
  EchoServer s(o);
  net::io_context ioc;
  std::vector<net::ip::tcp::socket> slow;
  for (int i = 0; i < 5; ++i) {
    slow.push_back(Connect(ioc, s.port()));
    net::write(slow.back(), net::buffer(std::string("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")));
  }
  ASSERT_TRUE(WaitFor([&] { return s.server->connections() == 5; }));
  EXPECT_TRUE(s.server->Shutdown(std::chrono::seconds(60))) << "a half-sent header held the drain";
  EXPECT_EQ(s.server->connections(), 0);
}

TEST(HttpHardening, HeadIsGetWithoutTheBodyAndHttp10NeedsNoHost) {
  EchoServer s;
  http::HttpResponse r = RawExchange(s.port(), "HEAD /x HTTP/1.1\r\nHost: x\r\n\r\n", /*head=*/true);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-length"), "11");  // {"bytes":0}
  EXPECT_EQ(r.body, "");
  r = RawExchange(s.port(), "GET /x HTTP/1.0\r\n\r\n");
  EXPECT_EQ(r.status, 200);
  r = RawExchange(s.port(), "GET /x HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(ErrorOf(r).find("needs a Host header"), std::string::npos) << r.body;
}

// One session of one thread: the model tests need no more.
ServiceOptions OneSession() {
  ServiceOptions o;
  o.sessions = 1;
  o.threads = 1;
  return o;
}

// With the model: the router's rules.
class HttpHardeningModel : public ::testing::Test {
 protected:
  void SetUp() override {
    KAMADO_REQUIRE_DATA(kModel / "kamado.yaml");
    KAMADO_REQUIRE_DATA(kImage);
  }
};

// Defect 6: more rows than --max-queue got 503 + Retry-After on an idle
// server, and part of it ran. It can never be admitted: 413 naming the
// limit, nothing decoded, nothing run.
TEST_F(HttpHardeningModel, ARequestOverTheQueueBoundIs413AndNoneOfItRuns) {
  ServiceOptions o = OneSession();
  o.max_queue = 4;
  TestServer s(o);
  ASSERT_NE(s.server, nullptr);
  const std::string png = http::Base64Encode(FileBytes(kImage));
  const uint64_t decodes = image::DecodeImageCalls();
  json data = json::array();
  for (int i = 0; i < 5; ++i) data.push_back(png);
  http::HttpClient c = s.Client();
  auto r = c.Post("/v2/models/mobilenet_v2/infer",
                  json{{"inputs", {{{"name", "input_1"}, {"datatype", "BYTES"}, {"shape", {5}}, {"data", data}}}}}.dump(),
                  "application/json");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 413) << r->body;
  EXPECT_EQ(r->header("retry-after"), "");
  EXPECT_NE(ErrorOf(*r).find("more than the queue can ever hold (max_queue 4 rows)"), std::string::npos)
      << r->body;
  EXPECT_EQ(image::DecodeImageCalls(), decodes) << "a request that cannot run was decoded";
  json zeros = std::vector<float>(5 * 224 * 224 * 3, 0.0f);
  r = c.Post("/v2/models/mobilenet_v2/infer",
             json{{"inputs", {{{"name", "input_1"}, {"datatype", "FP32"}, {"shape", {5, 224, 224, 3}},
                               {"data", zeros}}}}}.dump(),
             "application/json");
  EXPECT_EQ(r->status, 413) << r->body;
  const std::string m = c.Get("/metrics")->body;
  EXPECT_EQ(testing::MetricValue(m, "kamado_infer_duration_seconds_count{model=\"mobilenet_v2\"}"), -1)
      << "part of it ran";
  // Four rows fit.
  data.erase(data.begin());
  r = c.Post("/v2/models/mobilenet_v2/infer",
             json{{"inputs", {{{"name", "input_1"}, {"datatype", "BYTES"}, {"shape", {4}}, {"data", data}}}}}.dump(),
             "application/json");
  EXPECT_EQ(r->status, 200) << r->body;
}

// Decode work is budgeted from the image headers before any pixel buffer:
// per image (max_decode_bytes: a 74-byte 16-bit PNG asking for 1.2 GB),
// per request (413) and across requests in flight (503).
TEST_F(HttpHardeningModel, DecodeWorkIsBudgetedPerImagePerRequestAndInFlight) {
  ServiceOptions o = OneSession();
  o.max_decode_bytes_per_request = 1'000'000;  // chelsea.png: 451 x 300 x 4 = 541,200
  o.allow_non_finite_inputs = true;
  TestServer s(o);
  ASSERT_NE(s.server, nullptr);
  http::HttpClient c = s.Client();
  auto r = c.Post("/v2/models/mobilenet_v2/classify", FileBytes("tests/data/bad/png_16bit_rgba_10000x10000.png"),
                  "image/png");
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_NE(ErrorOf(*r).find("(max_decode_bytes)"), std::string::npos) << r->body;
  const std::string png = http::Base64Encode(FileBytes(kImage));
  auto infer = [&](int n) {
    json data = json::array();
    for (int i = 0; i < n; ++i) data.push_back(png);
    return c.Post("/v2/models/mobilenet_v2/infer",
                  json{{"inputs", {{{"name", "input_1"}, {"datatype", "BYTES"}, {"shape", {n}}, {"data", data}}}}}.dump(),
                  "application/json");
  };
  r = infer(1);
  EXPECT_EQ(r->status, 200) << r->body;
  r = infer(2);
  EXPECT_EQ(r->status, 413) << r->body;
  EXPECT_NE(ErrorOf(*r).find("element 1: decoding the request's images needs more than 1000000 bytes "
                             "(max_decode_bytes_per_request)"),
            std::string::npos) << r->body;
  // allow_non_finite_inputs: NaN runs (and gives NaN).
  std::vector<float> nan(224 * 224 * 3, 0.0f);
  nan[7] = std::nanf("");
  const std::string header = json{{"inputs", {{{"name", "input_1"}, {"datatype", "FP32"}, {"shape", {1, 224, 224, 3}},
                                              {"parameters", {{"binary_data_size", nan.size() * 4}}}}}}}.dump();
  r = c.Request("POST", "/v2/models/mobilenet_v2/infer",
                header + std::string(reinterpret_cast<const char*>(nan.data()), nan.size() * 4),
                "application/octet-stream", {{"Inference-Header-Content-Length", std::to_string(header.size())}});
  EXPECT_EQ(r->status, 200) << r->body;

  ServiceOptions tight = o;
  tight.max_decode_bytes_in_flight = 500'000;  // less than one image: always busy
  TestServer busy(tight);
  ASSERT_NE(busy.server, nullptr);
  r = busy.Client().Post("/v2/models/mobilenet_v2/classify", FileBytes(kImage), "image/png");
  EXPECT_EQ(r->status, 503) << r->body;
  EXPECT_EQ(r->header("retry-after"), "1");
  EXPECT_NE(ErrorOf(*r).find("(max_decode_bytes_in_flight)"), std::string::npos) << r->body;
}

// Holds every decode at ServiceOptions::before_decode until Open(): what
// waits behind a decode can be observed by state, not by time.
struct DecodeGate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  int arrived = 0;  // decodes that reached the gate
  std::function<void()> Hook() {
    return [this] {
      std::unique_lock<std::mutex> lock(mu);
      ++arrived;
      cv.notify_all();
      cv.wait(lock, [&] { return open; });
    };
  }
  int Arrived() {
    std::lock_guard<std::mutex> lock(mu);
    return arrived;
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu);
    open = true;
    cv.notify_all();
  }
};

// A request answered on its own thread and connection.
struct Pending {
  std::atomic<bool> answered{false};
  Result<http::HttpResponse> response = Internal("not answered");
  std::thread thread;
  Pending(uint16_t port, const std::string& path, std::string body, std::string type) {
    thread = std::thread([this, port, path, body = std::move(body), type = std::move(type)] {
      http::HttpClient c("127.0.0.1", port);
      response = c.Post(path, body, type);
      answered.store(true);
    });
  }
  ~Pending() {
    if (thread.joinable()) thread.join();
  }
  const http::HttpResponse& Get() {
    thread.join();
    EXPECT_TRUE(response.ok()) << response.status().ToString();
    return *response;
  }
};

// Decode placement and the overload defect (issue 14's 3x run: decode on the
// I/O threads, so the queue never filled, nothing was refused and the backlog
// sat unseen in sockets). With the one decode thread held on a photo and one
// I/O thread: health still answers, a second photo is admitted into the
// queue's last place, a third gets 503 at once, nothing of it decoded; the
// backlog shows in kamado_queue_depth; released, both admitted ones are 200.
TEST_F(HttpHardeningModel, DecodingNeverHoldsTheIoThreadsAndItsBacklogIsBoundedAtAdmission) {
  DecodeGate gate;
  ServiceOptions o = OneSession();
  o.max_queue = 2;
  o.decode_threads = 1;
  o.before_decode = gate.Hook();
  http::HttpServerOptions h;
  h.io_threads = 1;
  TestServer s(o, h);
  ASSERT_NE(s.server, nullptr);
  const std::string png = FileBytes(kImage);
  const std::string classify = "/v2/models/mobilenet_v2/classify";
  Pending a(s.port(), classify, png, "image/png");
  ASSERT_TRUE(WaitFor([&] { return gate.Arrived() == 1; }));
  // Were the decode on the one I/O thread, this would wait for the gate: fail, not hang.
  http::HttpClient c("127.0.0.1", s.port(), std::chrono::seconds(10));
  auto health = c.Get("/v2/health/ready");
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200);
  EXPECT_FALSE(a.answered.load()) << "the photo was not held: the test shows nothing";

  Pending b(s.port(), classify, png, "image/png");
  const Scheduler& sched = (*s.service->Find("mobilenet_v2"))->scheduler();
  ASSERT_TRUE(WaitFor([&] { return sched.reserved_rows() == 2; }));
  const uint64_t decodes = image::DecodeImageCalls();
  auto r = c.Post(classify, png, "image/png");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503) << r->body;
  EXPECT_EQ(r->header("retry-after"), "1");
  EXPECT_NE(ErrorOf(*r).find("overloaded: the queue is full (2 of 2 rows waiting"), std::string::npos)
      << r->body;
  EXPECT_EQ(image::DecodeImageCalls(), decodes) << "a refused request was decoded";
  EXPECT_EQ(testing::MetricValue(c.Get("/metrics")->body, "kamado_queue_depth{model=\"mobilenet_v2\"}"), 2);
  EXPECT_EQ(gate.Arrived(), 1) << "one decode thread, held";

  gate.Open();
  EXPECT_EQ(a.Get().status, 200) << a.Get().body;
  EXPECT_EQ(b.Get().status, 200) << b.Get().body;
  EXPECT_EQ(sched.reserved_rows(), 0u);
}

// Under overload the bodies read are only those that can be served: a POST
// to a model whose queue is full is refused 503 from its header, the body
// never read (none is sent here: the answer must not wait for it), counted
// under the model.
TEST_F(HttpHardeningModel, AFullQueueRefusesARequestFromItsHeaderWithoutReadingItsBody) {
  DecodeGate gate;
  ServiceOptions o = OneSession();
  o.max_queue = 1;
  o.decode_threads = 1;
  o.before_decode = gate.Hook();
  TestServer s(o);
  ASSERT_NE(s.server, nullptr);
  const std::string classify = "/v2/models/mobilenet_v2/classify";
  Pending a(s.port(), classify, FileBytes(kImage), "image/png");
  ASSERT_TRUE(WaitFor([&] { return gate.Arrived() == 1; }));  // holds the one place
  for (const std::string path : {classify, std::string("/v2/models/mobilenet_v2/versions/1/infer")}) {
    net::io_context ioc;
    auto socket = Connect(ioc, s.port(), std::chrono::seconds(10));
    const std::string head = "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                             "Content-Length: 10000000\r\n\r\n";
    net::write(socket, net::buffer(head));
    const http::HttpResponse r = ReadResponse(socket);
    EXPECT_EQ(r.status, 503) << path << ": " << r.body;
    EXPECT_EQ(r.header("retry-after"), "1");
    EXPECT_EQ(r.header("connection"), "close");
    EXPECT_NE(ErrorOf(r).find("model 'mobilenet_v2' is overloaded: the queue is full"), std::string::npos)
        << r.body;
  }
  http::HttpClient c = s.Client();
  EXPECT_EQ(testing::MetricValue(c.Get("/metrics")->body,
                                 "kamado_requests_total{model=\"mobilenet_v2\",code=\"503\"}"), 2);
  EXPECT_EQ(c.Get("/v2/health/ready")->status, 200) << "GETs are not checked";
  // The head check routes as the handler does: a version not served takes no
  // place (it was refused 503 as if it could run) and is answered 404.
  auto v2 = c.Post("/v2/models/mobilenet_v2/versions/2/infer", "{}", "application/json");
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(v2->status, 404) << v2->body;
  EXPECT_NE(ErrorOf(*v2).find("model 'mobilenet_v2' has no version '2' (only 1)"), std::string::npos) << v2->body;
  gate.Open();
  EXPECT_EQ(a.Get().status, 200);
  EXPECT_EQ(c.Post(classify, FileBytes(kImage), "image/png")->status, 200) << "room again";
}

// The place is taken at the header: a request whose body is still arriving
// holds it (so at most the queue's worth of bodies is read at once), and
// gives it back when its connection fails.
TEST_F(HttpHardeningModel, ARequestWhoseBodyIsStillArrivingHoldsItsPlace) {
  ServiceOptions o = OneSession();
  o.max_queue = 1;
  TestServer s(o);
  ASSERT_NE(s.server, nullptr);
  const std::string png = FileBytes(kImage);
  const std::string head = "POST /v2/models/mobilenet_v2/classify HTTP/1.1\r\nHost: x\r\n"
                           "Content-Type: image/png\r\nContent-Length: " + std::to_string(png.size()) + "\r\n\r\n";
  const Scheduler& sched = (*s.service->Find("mobilenet_v2"))->scheduler();
  http::HttpClient c = s.Client();
  {
    net::io_context ioc;
    auto slow = Connect(ioc, s.port(), std::chrono::seconds(20));
    net::write(slow, net::buffer(head + png.substr(0, 100)));  // header and a little of the body
    ASSERT_TRUE(WaitFor([&] { return sched.reserved_rows() == 1; }));
    auto r = c.Post("/v2/models/mobilenet_v2/classify", png, "image/png");
    EXPECT_EQ(r->status, 503) << r->body;
    net::write(slow, net::buffer(png.substr(100)));  // the rest: served
    EXPECT_EQ(ReadResponse(slow).status, 200);
    EXPECT_EQ(sched.reserved_rows(), 0u);
    // A body that never finishes: its place comes back with its connection.
    net::write(slow, net::buffer(head + png.substr(0, 100)));
    ASSERT_TRUE(WaitFor([&] { return sched.reserved_rows() == 1; }));
  }  // closed
  EXPECT_TRUE(WaitFor([&] { return sched.reserved_rows() == 0; }));
  EXPECT_EQ(c.Post("/v2/models/mobilenet_v2/classify", png, "image/png")->status, 200);
}

// A body sent slowly held its model's queue place until body_timeout (30 s):
// max_queue such connections made the model refuse everyone. The place is
// held no longer than the request's deadline (--timeout-ms from its header):
// then the request is answered 504, the connection closed, the place freed.
TEST_F(HttpHardeningModel, ABodyNotInByItsDeadlineIs504AndGivesItsPlaceBack) {
  ServiceOptions o = OneSession();
  o.max_queue = 1;
  o.timeout_ms = 1000;  // the follow-up below must start within it under the sanitizers too
  TestServer s(o);
  ASSERT_NE(s.server, nullptr);
  const std::string png = FileBytes(kImage);
  const std::string classify = "/v2/models/mobilenet_v2/classify";
  const std::string head = "POST " + classify + " HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                           "Content-Length: " + std::to_string(png.size()) + "\r\n\r\n";
  const Scheduler& sched = (*s.service->Find("mobilenet_v2"))->scheduler();
  net::io_context ioc;
  // The socket's reads give up after 20 s, before body_timeout (30 s): an
  // answer means the deadline ended the read.
  auto slow = Connect(ioc, s.port(), std::chrono::seconds(20));
  net::write(slow, net::buffer(head + png.substr(0, 100)));
  ASSERT_TRUE(WaitFor([&] { return sched.reserved_rows() == 1; }));
  const http::HttpResponse r = ReadResponse(slow);
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_EQ(r.header("connection"), "close");
  EXPECT_NE(ErrorOf(r).find("the request body had not arrived 1000 ms after its header, the request's "
                            "deadline (timeout_ms)"),
            std::string::npos)
      << r.body;
  EXPECT_TRUE(WaitFor([&] { return sched.reserved_rows() == 0; })) << "the place was not given back";
  http::HttpClient c = s.Client();
  EXPECT_EQ(c.Post(classify, png, "image/png")->status, 200) << "room again";
}

// A request's deadline runs from its admission: one that waited past it for
// the decode thread is answered 504 without being decoded.
TEST_F(HttpHardeningModel, WaitingForADecodeThreadCountsAgainstTheTimeout) {
  DecodeGate gate;
  ServiceOptions o = OneSession();
  o.decode_threads = 1;
  // The first request must reach the decode gate within its deadline: 100 ms
  // was too little under ThreadSanitizer on a loaded 2-core host (CI,
  // 2026-12-03: it timed out before the gate and the test waited 20 s).
  o.timeout_ms = 1000;
  o.before_decode = gate.Hook();
  // The deadlines' clock, moved past both deadlines instead of sleeping.
  std::atomic<int64_t> skew_ms{0};
  o.clock = [&skew_ms] { return Clock::now() + std::chrono::milliseconds(skew_ms.load()); };
  TestServer s(o);
  ASSERT_NE(s.server, nullptr);
  const std::string png = FileBytes(kImage);
  const std::string classify = "/v2/models/mobilenet_v2/classify";
  Pending a(s.port(), classify, png, "image/png");
  ASSERT_TRUE(WaitFor([&] { return gate.Arrived() == 1; }));
  Pending b(s.port(), classify, png, "image/png");
  const Scheduler& sched = (*s.service->Find("mobilenet_v2"))->scheduler();
  ASSERT_TRUE(WaitFor([&] { return sched.reserved_rows() == 2; }));
  skew_ms = 1300;  // past both deadlines
  const uint64_t decodes = image::DecodeImageCalls();
  gate.Open();
  const http::HttpResponse& rb = b.Get();
  EXPECT_EQ(rb.status, 504) << rb.body;
  EXPECT_NE(ErrorOf(rb).find("to be decoded, past its deadline"), std::string::npos) << rb.body;
  // The held one was decoded, then its deadline stopped it before it ran.
  EXPECT_EQ(a.Get().status, 504) << a.Get().body;
  EXPECT_EQ(image::DecodeImageCalls(), decodes + 1) << "the request past its deadline was decoded";
}

// NaN and infinity in an FP32 tensor gave normal-looking probabilities: now
// refused with 400 naming the input and the element.
TEST_F(HttpHardeningModel, NonFiniteInputsAreRefusedNamingTheInput) {
  ServiceOptions o = OneSession();
  TestServer s(o);
  ASSERT_NE(s.server, nullptr);
  std::vector<float> values(224 * 224 * 3, 0.5f);
  values[1234] = std::numeric_limits<float>::infinity();
  const std::string header = json{{"inputs", {{{"name", "input_1"}, {"datatype", "FP32"}, {"shape", {1, 224, 224, 3}},
                                              {"parameters", {{"binary_data_size", values.size() * 4}}}}}}}.dump();
  auto r = s.Client().Request("POST", "/v2/models/mobilenet_v2/infer",
                              header + std::string(reinterpret_cast<const char*>(values.data()), values.size() * 4),
                              "application/octet-stream",
                              {{"Inference-Header-Content-Length", std::to_string(header.size())}});
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_NE(ErrorOf(*r).find("input 'input_1' holds a non-finite value (infinity) at element 1234"),
            std::string::npos) << r->body;
}

// Memory given back: a burst of 16 concurrent 15 MiB bodies (refused as not
// an image once read), then the trim kamado serve does when it goes idle;
// RSS is back within 100 MB of where it started.
TEST_F(HttpHardeningModel, MemoryIsGivenBackAfterABurstOfLargeBodies) {
  ConfigureAllocator();  // as kamado serve does at start
  ServiceOptions o = OneSession();
  TestServer s(o);
  ASSERT_NE(s.server, nullptr);
  const std::string body(15 << 20, 'z');
  ASSERT_EQ(s.Client().Post("/v2/models/mobilenet_v2/classify", body, "image/png")->status, 400);
  TrimAllocator();
  const double before = ProcessResidentBytes();
  for (int round = 0; round < 3; ++round) {
    std::vector<std::thread> burst;
    for (int t = 0; t < 16; ++t) {
      burst.emplace_back([&] {
        http::HttpClient c = s.Client();
        auto r = c.Post("/v2/models/mobilenet_v2/classify", body, "image/png");
        EXPECT_TRUE(r.ok() && r->status == 400);
      });
    }
    for (auto& t : burst) t.join();
  }
  TrimAllocator();
  const double after = ProcessResidentBytes();
  EXPECT_LT(after - before, 100e6) << "RSS " << before / 1e6 << " MB before, " << after / 1e6 << " MB after";
}

// Defect 5 and the error text: every request of tests/data/http (plus a few
// too large to commit) gets its status and an error in kamado's words:
// never "dropped without an answer", a library's exception text or a
// source path. The server answers health after all of them.
TEST_F(HttpHardeningModel, TheBadRequestCorpusIsAnsweredInKamadosWords) {
  ServiceOptions o = OneSession();
  TestServer s(o);
  ASSERT_NE(s.server, nullptr);
  const std::vector<testing::CorpusCase> cases = testing::BadRequestCorpus();
  ASSERT_GE(cases.size(), 32u);
  for (const auto& c : cases) {
    http::HttpResponse r = RawExchange(s.port(), c.bytes);
    EXPECT_EQ(r.status, c.status) << c.file << ": " << r.body;
    EXPECT_NE(ErrorOf(r).find(c.needle), std::string::npos) << c.file << ": " << r.body;
    for (const char* leak : testing::kAnswerLeaks) {
      EXPECT_EQ(r.body.find(leak), std::string::npos) << c.file << " leaks '" << leak << "': " << r.body;
    }
    if (r.status == 405) {
      EXPECT_FALSE(r.header("allow").empty()) << c.file;
    }
  }
  EXPECT_EQ(s.Client().Get("/v2/health/ready")->status, 200);
}

}  // namespace
}  // namespace kamado::serving
