// The load generator over real HTTP on loopback, against a small server that
// answers in ~2 ms but can be told to stall every response for a while. The
// point: a closed loop hides the stall (its senders wait too, so only one
// request per sender is slow), an open loop measures it (latency from the
// intended send time). Timing assertions are deliberately loose: these run on
// busy 2-core machines.
#include "perf/load_generator.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "serving/http/http_client.h"

namespace kamado::perf {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Thread-per-connection HTTP/1.1 server on 127.0.0.1 with keep-alive.
// Every `error_every`-th request (counting from 1) gets 503; a request that
// arrives inside the stall window is held until the window ends.
class StallingServer {
 public:
  explicit StallingServer(milliseconds service = milliseconds(2), int error_every = 0)
      : service_(service),
        error_every_(error_every),
        acceptor_(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  ~StallingServer() {
    stop_ = true;
    {  // Wake the blocking accept with a throwaway connection.
      net::io_context ioc;
      tcp::socket s(ioc);
      beast::error_code ec;
      s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), ec);
    }
    accept_thread_.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);  // wakes blocked reads
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }

  uint16_t port() const { return port_; }
  uint64_t requests() const { return requests_.load(); }

  // Holds every response to a request arriving in [now + after, now + after + length).
  void ScheduleStall(milliseconds after, milliseconds length) {
    std::lock_guard<std::mutex> lock(mu_);
    stall_start_ = Clock::now() + after;
    stall_end_ = stall_start_ + length;
  }

 private:
  void AcceptLoop() {
    while (!stop_) {
      beast::error_code ec;
      tcp::socket socket(ioc_);
      acceptor_.accept(socket, ec);
      if (ec || stop_) break;
      std::lock_guard<std::mutex> lock(mu_);
      fds_.push_back(socket.native_handle());
      threads_.emplace_back([this, s = std::move(socket)]() mutable { Serve(std::move(s)); });
    }
  }

  void Serve(tcp::socket socket) {
    beast::flat_buffer buffer;
    for (;;) {
      bhttp::request<bhttp::string_body> req;
      beast::error_code ec;
      bhttp::read(socket, buffer, req, ec);
      if (ec) break;
      const uint64_t n = ++requests_;
      Clock::time_point hold_until = Clock::now();
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (hold_until >= stall_start_ && hold_until < stall_end_) hold_until = stall_end_;
      }
      std::this_thread::sleep_until(hold_until);
      std::this_thread::sleep_for(service_);
      const bool fail = error_every_ > 0 && n % static_cast<uint64_t>(error_every_) == 0;
      bhttp::response<bhttp::string_body> res{
          fail ? bhttp::status::service_unavailable : bhttp::status::ok, req.version()};
      res.keep_alive(req.keep_alive());
      res.set(bhttp::field::content_type, "application/json");
      res.body() = fail ? R"({"error":"busy"})" : R"({"label":"cat"})";
      res.prepare_payload();
      bhttp::write(socket, res, ec);
      if (ec || !req.keep_alive()) break;
    }
    beast::error_code ec;
    socket.shutdown(tcp::socket::shutdown_both, ec);
  }

  const milliseconds service_;
  const int error_every_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::thread accept_thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> requests_{0};
  std::mutex mu_;
  std::vector<std::thread> threads_;               // mu_ must be held
  std::vector<int> fds_;                           // mu_ must be held
  Clock::time_point stall_start_{}, stall_end_{};  // mu_ must be held
};

// The transport the CLI uses too: one keep-alive HttpClient per worker.
class HttpSender : public Sender {
 public:
  explicit HttpSender(uint16_t port) : client_("127.0.0.1", port, std::chrono::seconds(10)) {}
  int Send(const Payload& p) override {
    auto r = client_.Post("/classify", p.body, p.content_type);
    return r.ok() ? r->status : 0;
  }

 private:
  serving::http::HttpClient client_;
};

SenderFactory HttpTo(uint16_t port) {
  return [port] { return std::make_unique<HttpSender>(port); };
}

const std::vector<Payload> kPayloads = {{"a.png", "image/png", "PNGDATA"},
                                        {"b.jpg", "image/jpeg", "JPEGDATA"}};

TEST(LoadGeneratorTest, ClosedLoopHidesStallOpenLoopReportsIt) {
  constexpr milliseconds kStall(1000);
  StallingServer server;
  LoadOptions options;
  options.warmup_s = 0.3;
  options.duration_s = 2.5;
  options.windows = 3;
  options.arrivals = Arrivals::kConstant;
  options.connections = 64;

  // Closed loop: two senders. During the stall each waits on one request,
  // so only ~2 of ~1000 samples are slow.
  server.ScheduleStall(milliseconds(800), kStall);
  auto closed = RunClosedLoop(HttpTo(server.port()), kPayloads, 2, options);
  ASSERT_TRUE(closed.ok()) << closed.status().ToString();
  EXPECT_EQ(closed->errors, 0u);
  EXPECT_GT(closed->requests, 100u);
  EXPECT_LE(closed->histogram.CountAtOrAbove(100e3), 2u);
  EXPECT_LT(closed->latency.p50_ms, 50);
  EXPECT_LT(closed->latency.p99_ms, 0.25 * kStall.count());  // the stall is invisible at p99
  EXPECT_GE(closed->latency.max_ms, 0.5 * kStall.count());   // ... and only the max shows it

  // Open loop: 200 arrivals/s keep coming during the stall; each waits until
  // the stall ends, so ~200 of ~500 samples are up to 1 s late.
  server.ScheduleStall(milliseconds(800), kStall);
  auto open = RunOpenLoop(HttpTo(server.port()), kPayloads, 200, options);
  ASSERT_TRUE(open.ok()) << open.status().ToString();
  EXPECT_EQ(open->errors, 0u);
  EXPECT_EQ(open->requests, 500u);  // arrivals at k/200 s in [0.3, 2.8)
  EXPECT_GE(open->latency.p99_ms, 0.5 * kStall.count());
  EXPECT_GE(open->histogram.CountAtOrAbove(100e3), 50u);
  EXPECT_GE(open->latency.max_ms, 0.7 * kStall.count());

  EXPECT_GT(open->latency.p99_ms, 2 * closed->latency.p99_ms);
  EXPECT_GT(open->histogram.CountAtOrAbove(100e3), 10 * closed->histogram.CountAtOrAbove(100e3));
}

TEST(LoadGeneratorTest, CountsErrorsByStatusCode) {
  StallingServer server(milliseconds(1), /*error_every=*/4);
  LoadOptions options;
  options.warmup_s = 0.1;
  options.duration_s = 1.0;
  auto r = RunClosedLoop(HttpTo(server.port()), kPayloads, 2, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_GT(r->requests, 40u);
  ASSERT_EQ(r->errors_by_status.size(), 1u);
  EXPECT_EQ(r->errors_by_status.begin()->first, 503);
  EXPECT_EQ(r->errors_by_status.begin()->second, r->errors);
  // Every 4th request server-wide; the measured slice is within a few of a quarter.
  EXPECT_NEAR(static_cast<double>(r->errors), r->requests / 4.0, 4);
  EXPECT_EQ(r->histogram.Count(), r->requests - r->errors);  // latencies of successes only
}

TEST(LoadGeneratorTest, NoServerCountsTransportErrorsAsStatusZero) {
  uint16_t port = 0;
  {  // A port that was free a moment ago: connections are refused.
    net::io_context ioc;
    tcp::acceptor a(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  LoadOptions options;
  options.warmup_s = 0;
  options.duration_s = 0.3;
  auto r = RunClosedLoop(HttpTo(port), kPayloads, 1, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_GT(r->requests, 0u);
  EXPECT_EQ(r->errors, r->requests);
  EXPECT_EQ(r->errors_by_status.at(0), r->requests);
  EXPECT_EQ(r->throughput_rps, 0);
  EXPECT_FALSE(r->stable);  // nothing completed: never "stable"
}

TEST(LoadGeneratorTest, ConstantRateIsAchievedAgainstFastServer) {
  StallingServer server(milliseconds(0));
  LoadOptions options;
  options.warmup_s = 0.2;
  options.duration_s = 2.0;
  options.arrivals = Arrivals::kConstant;
  options.connections = 8;
  auto r = RunOpenLoop(HttpTo(server.port()), kPayloads, 100, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->requests, 200u);  // k/100 s for k = 20 .. 219: exact, not timing
  EXPECT_EQ(r->errors, 0u);
  EXPECT_NEAR(r->throughput_rps, 100, 30);
  EXPECT_EQ(r->windows.size(), 3u);
  EXPECT_EQ(r->connections, 8);
  EXPECT_EQ(r->offered, 100);
}

TEST(ArrivalScheduleTest, ConstantIsEvenlySpaced) {
  auto t = ArrivalSchedule(4, 1.0, Arrivals::kConstant, 1);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, (std::vector<double>{0, 0.25, 0.5, 0.75}));
  EXPECT_FALSE(ArrivalSchedule(0, 1.0, Arrivals::kConstant, 1).ok());
  EXPECT_FALSE(ArrivalSchedule(1e9, 100, Arrivals::kPoisson, 1).ok());
}

TEST(ArrivalScheduleTest, PoissonIsSeededAndHasTheRightMean) {
  auto a = ArrivalSchedule(1000, 10, Arrivals::kPoisson, 42);
  auto b = ArrivalSchedule(1000, 10, Arrivals::kPoisson, 42);
  auto c = ArrivalSchedule(1000, 10, Arrivals::kPoisson, 43);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
  // 10,000 expected; Poisson σ = 100, so ±500 is 5σ.
  EXPECT_NEAR(static_cast<double>(a->size()), 10000, 500);
  for (size_t i = 1; i < a->size(); ++i) ASSERT_GT((*a)[i], (*a)[i - 1]);
  EXPECT_LT(a->back(), 10.0);
  // Exponential gaps: the share of gaps above the mean is e^-1 ≈ 0.368.
  size_t long_gaps = 0;
  for (size_t i = 1; i < a->size(); ++i) long_gaps += ((*a)[i] - (*a)[i - 1]) > 1e-3;
  EXPECT_NEAR(static_cast<double>(long_gaps) / a->size(), 0.368, 0.03);
}

TEST(StabilityTest, LastThreeWindowsWithinTolerance) {
  std::vector<WindowStats> w = {{50, 90, 10}, {100, 10, 100}, {105, 11, 105}, {95, 10, 95}};
  EXPECT_EQ(CheckStability(w, 10), "");  // the first (outlier) window is ignored
  w[2].throughput_rps = 130;             // {100, 130, 95}: mean 108.3, 130 is +20%
  const std::string note = CheckStability(w, 10);
  EXPECT_NE(note.find("throughput"), std::string::npos) << note;
  EXPECT_EQ(note.find("p99"), std::string::npos) << note;
  EXPECT_EQ(CheckStability(w, 25), "");
  w[2].throughput_rps = 100;
  w[3].p99_ms = 20;  // mean 13.7: 20 is +46%
  EXPECT_NE(CheckStability(w, 10).find("p99"), std::string::npos);
  w[3] = {0, 0, 0};
  EXPECT_NE(CheckStability(w, 10).find("no successful"), std::string::npos);
  EXPECT_NE(CheckStability({}, 10), "");
}

// A single-server queue: Send holds a global lock for 5 ms, so capacity is
// ~200/s and the open-loop p99 explodes above it.
class QueueSender : public Sender {
 public:
  explicit QueueSender(std::mutex* server) : server_(server) {}
  int Send(const Payload&) override {
    std::lock_guard<std::mutex> lock(*server_);
    std::this_thread::sleep_for(milliseconds(5));
    return 200;
  }

 private:
  std::mutex* server_;
};

TEST(FindMaxRateTest, BracketsTheCapacityWithinBoundedProbes) {
  std::mutex server;
  SenderFactory factory = [&server] { return std::make_unique<QueueSender>(&server); };
  LoadOptions options;
  options.warmup_s = 0.1;
  options.duration_s = 0.6;
  options.connections = 32;
  MaxRateOptions search;
  search.p99_ms = 100;
  search.initial_rate = 50;
  search.max_probes = 5;
  std::vector<double> probed;
  auto r = FindMaxRate(factory, kPayloads, search, options,
                       [&](double rate) { probed.push_back(rate); });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->probes.size(), probed.size());
  EXPECT_LE(r->probes.size(), 5u);
  EXPECT_EQ(probed.front(), 50);
  // 400/s is twice the capacity: its backlog grows ~0.1 s per 0.5 s, so it cannot pass.
  EXPECT_LT(r->max_rate, 400);
  for (const auto& p : r->probes) {
    if (p.pass) {
      EXPECT_LE(p.rate, r->max_rate);
    }
    EXPECT_EQ(p.pass, p.level.errors == 0 && p.level.latency.p99_ms <= 100) << p.rate;
  }
  if (r->max_rate > 0 && r->bracketed) {
    bool failed_above = false;
    for (const auto& p : r->probes) failed_above |= !p.pass && p.rate > r->max_rate;
    EXPECT_TRUE(failed_above);
  }
  EXPECT_FALSE(FindMaxRate(factory, kPayloads, {.p99_ms = 0}, options).ok());
}

}  // namespace
}  // namespace kamado::perf
