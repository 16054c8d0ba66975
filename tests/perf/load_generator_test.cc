// The load generator. Its timing claims run on simulated time
// (tests/perf/simulated_clock.h): a server that answers in exactly 2 ms and
// stalls for exactly 1 s, so the figures are exact and the same on any
// machine, and a 3 s level takes milliseconds. The point of the main case: a
// closed loop hides the stall (its senders wait too, so only one request per
// sender is slow), an open loop measures it (latency from the intended send
// time). The transport the CLI uses (real HTTP on loopback) is covered by
// counts only: status codes and refused connections, never durations.
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
#include "perf/simulated_clock.h"

namespace kamado::perf {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using std::chrono::milliseconds;

// Thread-per-connection HTTP/1.1 server on 127.0.0.1 with keep-alive.
// Every `error_every`-th request (counting from 1) gets 503.
class CountingServer {
 public:
  explicit CountingServer(int error_every = 0)
      : error_every_(error_every),
        acceptor_(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  ~CountingServer() {
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

// A server on simulated time: every request takes `service`; one that
// arrives in [stall_start, stall_end) is held until stall_end first. With
// `single_server`, requests are served one at a time in arrival order (a
// queue); otherwise each is served at once (a thread per connection).
class SimulatedServer {
 public:
  SimulatedServer(testing::SimulatedClock& clock, milliseconds service, bool single_server = false)
      : clock_(clock), service_(service), single_(single_server) {}
  void Stall(Clock::TimePoint from, Clock::TimePoint to) {
    stall_start_ = from;
    stall_end_ = to;
  }
  int Serve() {
    Clock::TimePoint start = clock_.Now();
    if (start >= stall_start_ && start < stall_end_) start = stall_end_;
    Clock::TimePoint done;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (single_) start = std::max(start, free_at_);
      done = start + service_;
      if (single_) free_at_ = done;
    }
    clock_.SleepUntil(done);
    return 200;
  }

 private:
  testing::SimulatedClock& clock_;
  const Clock::Duration service_;
  const bool single_;
  Clock::TimePoint stall_start_{}, stall_end_{};
  std::mutex mu_;
  Clock::TimePoint free_at_{};  // mu_ must be held
};

class SimulatedSender : public Sender {
 public:
  explicit SimulatedSender(SimulatedServer* server) : server_(server) {}
  int Send(const Payload&) override { return server_->Serve(); }

 private:
  SimulatedServer* server_;
};

SenderFactory To(SimulatedServer& server) {
  return [&server] { return std::make_unique<SimulatedSender>(&server); };
}

LoadOptions SimulatedOptions(testing::SimulatedClock& clock) {
  LoadOptions o;
  o.clock = &clock;
  o.warmup_s = 0.3;
  o.duration_s = 2.5;
  o.windows = 3;
  o.arrivals = Arrivals::kConstant;
  o.connections = 64;
  return o;
}

TEST(LoadGeneratorTest, ClosedLoopHidesStallOpenLoopReportsIt) {
  // Each level starts 5 ms after it is called (t0); the stall covers
  // [t0 + 0.8 s, t0 + 1.8 s).
  constexpr auto kLead = milliseconds(5);
  testing::SimulatedClock clock;
  SimulatedServer server(clock, milliseconds(2));
  const LoadOptions options = SimulatedOptions(clock);

  // Closed loop: two senders, one request every 2 ms each. During the stall
  // each waits on one request, so exactly 2 of ~1500 samples are slow.
  Clock::TimePoint t0 = clock.Now() + kLead;
  server.Stall(t0 + milliseconds(800), t0 + milliseconds(1800));
  auto closed = RunClosedLoop(To(server), kPayloads, 2, options);
  ASSERT_TRUE(closed.ok()) << closed.status().ToString();
  EXPECT_EQ(closed->errors, 0u);
  EXPECT_NEAR(static_cast<double>(closed->requests), 1500, 4);
  EXPECT_EQ(closed->histogram.CountAtOrAbove(100e3), 2u);
  EXPECT_GE(closed->latency.p50_ms, 2.0);  // 2 ms, reported as its bucket's upper edge
  EXPECT_LE(closed->latency.p99_ms, 2.0 * (1 + 1.0 / 128));  // the stall is invisible at p99...
  EXPECT_NEAR(closed->latency.max_ms, 1002, 1);              // ...only the max shows it
  EXPECT_NEAR(closed->throughput_rps, 1500 / 2.5, 10);

  // Open loop: 200 arrivals/s keep coming during the stall; each waits for
  // the stall to end (or for one of the 64 connections), so about 180 of the
  // 500 samples are up to 1 s late.
  t0 = clock.Now() + kLead;
  server.Stall(t0 + milliseconds(800), t0 + milliseconds(1800));
  auto open = RunOpenLoop(To(server), kPayloads, 200, options);
  ASSERT_TRUE(open.ok()) << open.status().ToString();
  EXPECT_EQ(open->errors, 0u);
  EXPECT_EQ(open->requests, 500u);  // arrivals at k/200 s in [0.3, 2.8)
  const uint64_t slow = open->histogram.CountAtOrAbove(100e3);
  EXPECT_GE(slow, 175u);
  EXPECT_LE(slow, 185u);
  EXPECT_GE(open->latency.p99_ms, 950);
  EXPECT_NEAR(open->latency.max_ms, 1002, 1);  // the arrival at 0.8 s
  EXPECT_GT(open->send_lag_p99_ms, 500);  // arrivals waited for a free connection
  EXPECT_GT(open->latency.p99_ms, 400 * closed->latency.p99_ms);
}

TEST(LoadGeneratorTest, ConstantRateIsAchievedExactly) {
  testing::SimulatedClock clock;
  SimulatedServer server(clock, milliseconds(1));
  LoadOptions options = SimulatedOptions(clock);
  options.warmup_s = 0.2;
  options.duration_s = 2.0;
  options.connections = 8;
  auto r = RunOpenLoop(To(server), kPayloads, 100, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->requests, 200u);  // k/100 s for k = 20 .. 219
  EXPECT_EQ(r->errors, 0u);
  EXPECT_DOUBLE_EQ(r->throughput_rps, 100);
  EXPECT_EQ(r->windows.size(), 3u);
  EXPECT_TRUE(r->stable) << r->stability_note;
  EXPECT_EQ(r->latency.min_ms, 1);
  EXPECT_EQ(r->latency.max_ms, 1);
  EXPECT_EQ(r->connections, 8);
  EXPECT_EQ(r->offered, 100);
}

// The transport the CLI uses: one keep-alive HttpClient per worker over real
// loopback. Counts only.
TEST(LoadGeneratorTest, CountsErrorsByStatusCodeOverHttp) {
  CountingServer server(/*error_every=*/4);
  LoadOptions options;
  options.warmup_s = 0;
  options.duration_s = 0.5;
  auto r = RunClosedLoop(HttpTo(server.port()), kPayloads, 1, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_GT(r->requests, 4u);
  ASSERT_EQ(r->errors_by_status.size(), 1u);
  EXPECT_EQ(r->errors_by_status.begin()->first, 503);
  EXPECT_EQ(r->errors_by_status.begin()->second, r->errors);
  // One sender, no warm-up: requests 4, 8, 12, ... of the level failed; the
  // last, sent just before the end, may be outside the measured period.
  EXPECT_EQ(r->errors, r->requests / 4);
  EXPECT_EQ(r->histogram.Count(), r->requests - r->errors);  // latencies of successes only
  EXPECT_EQ(server.requests(), r->requests);
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
  EXPECT_EQ(CheckStability(w, 10, /*p99=*/false), "");  // throughput only
  w[3] = {0, 0, 0};
  EXPECT_NE(CheckStability(w, 10).find("no successful"), std::string::npos);
  EXPECT_NE(CheckStability({}, 10), "");
}

// A single-server queue on simulated time: 5 ms per request, so capacity is
// 200/s and the open-loop p99 explodes above it; load options on its clock
// with a 0.1 s warm-up.
struct SimulatedQueue {
  testing::SimulatedClock clock;
  SimulatedServer server{clock, milliseconds(5), /*single_server=*/true};
  const SenderFactory factory = To(server);
  LoadOptions options = [this] {
    LoadOptions o;
    o.clock = &clock;
    o.warmup_s = 0.1;
    return o;
  }();
};

TEST(FindMaxRateTest, BracketsTheCapacityWithinBoundedProbes) {
  SimulatedQueue q;
  const SenderFactory& factory = q.factory;
  LoadOptions& options = q.options;
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

// kamado tune's early stop: a failure at or below `hopeless_at` ends the
// search at once (the bound is below a rate that would not matter); above
// it, the search goes on as before.
TEST(FindMaxRateTest, AFailureAtOrBelowTheHopelessRateEndsTheSearch) {
  SimulatedQueue q;
  const SenderFactory& factory = q.factory;
  LoadOptions& options = q.options;
  options.duration_s = 0.6;
  options.connections = 32;
  MaxRateOptions search;
  search.p99_ms = 100;
  search.initial_rate = 800;  // 4× the capacity: fails
  search.max_probes = 5;
  search.hopeless_at = 900;
  auto r = FindMaxRate(factory, kPayloads, search, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->probes.size(), 1u);
  EXPECT_FALSE(r->probes[0].pass);
  EXPECT_TRUE(r->hopeless);
  EXPECT_EQ(r->max_rate, 0);
  search.hopeless_at = 100;  // 800 fails above it: halve on
  r = FindMaxRate(factory, kPayloads, search, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GT(r->probes.size(), 1u);
  EXPECT_FALSE(r->hopeless);
}

// Probes sized by request count, and a search that starts at a known bound:
// growth 1.1 from 150/s (passes) probes 165/s next, not 300/s.
TEST(FindMaxRateTest, SizesProbesByRequestCountAndGrowsByTheGivenFactor) {
  SimulatedQueue q;
  const SenderFactory& factory = q.factory;
  LoadOptions& options = q.options;
  options.duration_s = 0.1;  // 15 requests at 150/s; min_requests asks for 300
  options.connections = 32;
  options.arrivals = Arrivals::kConstant;
  MaxRateOptions search;
  search.p99_ms = 100;
  search.initial_rate = 150;
  search.max_probes = 2;
  search.min_requests = 300;
  search.growth = 1.1;
  std::vector<double> probed;
  auto r = FindMaxRate(factory, kPayloads, search, options,
                       [&](double rate) { probed.push_back(rate); });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(probed.size(), 2u);
  EXPECT_EQ(probed[0], 150);
  EXPECT_NEAR(probed[1], 165, 1e-9);
  ASSERT_TRUE(r->probes[0].pass);
  // 300 / 150 = 2 s measured: 300 constant arrivals, all answered.
  EXPECT_DOUBLE_EQ(r->probes[0].level.measured_s, 2.0);
  EXPECT_EQ(r->probes[0].level.requests, 300u);
  EXPECT_FALSE(FindMaxRate(factory, kPayloads, {.p99_ms = 100, .growth = 1}, options).ok());
}

}  // namespace
}  // namespace kamado::perf
