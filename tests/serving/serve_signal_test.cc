// The real binary: `kamado serve` on an ephemeral port. SIGTERM while
// requests are in flight → every accepted request answered without waiting out
// the batch delay, exit status 0. `--config FILE.yaml` sets the server, flags
// override it, and a bad file exits 2 naming the file, line and key.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/file_util.h"
#include "serving/http/http_client.h"
#include "serving/serving_test_util.h"
#include "serving/spawn_server.h"
#include "testutil/run_command.h"
#include "testutil/test_data.h"

namespace kamado::serving {
namespace {

using Clock = std::chrono::steady_clock;

// Waits for `c`, expects it to have exited 0, and returns what it printed on
// stdout after its URL (closing the pipe).
std::string ExpectExitZero(Child& c) {
  int status = 0;
  EXPECT_EQ(waitpid(c.pid, &status, 0), c.pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  std::string rest;
  char line[512];
  while (fgets(line, sizeof(line), c.out)) rest += line;
  fclose(c.out);
  return rest;
}

TEST(ServeSignal, SigtermFinishesAcceptedRequestsAndExitsZero) {
  KAMADO_REQUIRE_DATA("models/mobilenet_v2/kamado.yaml");
  KAMADO_REQUIRE_DATA("data/images/chelsea.png");
  uint16_t port = 0;
  // A 1000 s batch delay and a large batch keep the requests queued until
  // SIGTERM; the drain must then run them at once, not wait out the delay
  // (the bound below is half the delay, so no machine is too slow for it).
  Child c = Spawn({"serve", "--model", "models/mobilenet_v2", "--port", "0", "--sessions", "1",
                   "--threads", "1", "--max-batch", "64", "--batch-delay-us", "1000000000",
                   "--timeout-ms", "0"},
                  &port);
  ASSERT_GT(c.pid, 0);
  ASSERT_NE(port, 0) << "kamado serve printed no URL";

  auto image = ReadFile("data/images/chelsea.png");
  ASSERT_TRUE(image.ok());
  constexpr int kClients = 6;
  std::atomic<int> answered{0};
  std::vector<int> codes(kClients, 0);
  std::vector<Clock::time_point> answered_at(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      http::HttpClient client("127.0.0.1", port);
      auto r = client.Post("/v2/models/mobilenet_v2/classify", *image, "image/png");
      codes[static_cast<size_t>(i)] = r.ok() ? r->status : -1;
      answered_at[static_cast<size_t>(i)] = Clock::now();
      ++answered;
    });
  }
  // Wait until every request sits in the queue, then ask the server to stop.
  http::HttpClient probe("127.0.0.1", port);
  for (int tries = 0; tries < 2000; ++tries) {
    auto m = probe.Get("/metrics");
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    if (testing::MetricValue(m->body, "kamado_queue_depth{model=\"mobilenet_v2\"}") >= kClients) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  probe.Close();
  EXPECT_EQ(answered.load(), 0) << "requests finished before SIGTERM; the test proves nothing";
  const Clock::time_point sigterm = Clock::now();
  ASSERT_EQ(kill(c.pid, SIGTERM), 0);

  for (auto& t : threads) t.join();
  for (int i = 0; i < kClients; ++i) {
    EXPECT_EQ(codes[static_cast<size_t>(i)], 200) << "client " << i;
    EXPECT_LT(answered_at[static_cast<size_t>(i)] - sigterm, std::chrono::seconds(500))
        << "client " << i << ": the drain waited for the batch delay";
  }

  ExpectExitZero(c);
  // No new connections once it has stopped.
  http::HttpClient late("127.0.0.1", port);
  EXPECT_FALSE(late.Get("/v2/health/live").ok());
}

// Issue 18: SIGTERM turns readiness false but the server goes on serving,
// new connections included, for --drain-delay-s (a load balancer's health
// checks catch up meanwhile); a second signal ends the delay, then the drain
// runs and it exits 0. The delay is long (the test never depends on a clock),
// the second SIGTERM ends it. SIGINT skips it.
TEST(ServeSignal, SigtermKeepsServingWithReadinessFalseThroughTheDrainDelay) {
  KAMADO_REQUIRE_DATA("models/mobilenet_v2/kamado.yaml");
  KAMADO_REQUIRE_DATA("data/images/chelsea.png");
  uint16_t port = 0;
  std::string log;
  Child c = Spawn({"serve", "--model", "models/mobilenet_v2", "--port", "0", "--sessions", "1", "--threads",
                   "1", "--drain-delay-s", "600"},
                  &port, &log);
  ASSERT_GT(c.pid, 0);
  ASSERT_NE(port, 0) << "kamado serve printed no URL:\n" << log;
  auto image = ReadFile("data/images/chelsea.png");
  ASSERT_TRUE(image.ok());
  {
    http::HttpClient before("127.0.0.1", port);
    auto ready = before.Get("/v2/health/ready");
    ASSERT_TRUE(ready.ok()) << ready.status().ToString();
    EXPECT_EQ(ready->status, 200);
  }
  ASSERT_EQ(kill(c.pid, SIGTERM), 0);
  // Readiness goes false (the signal is handled on the server's own time).
  int ready_status = 0;
  for (int tries = 0; tries < 2000 && ready_status != 503; ++tries) {
    http::HttpClient probe("127.0.0.1", port);
    auto r = probe.Get("/v2/health/ready");
    ASSERT_TRUE(r.ok()) << "the listener closed during the drain delay: " << r.status().ToString();
    ready_status = r->status;
    if (ready_status != 503) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(ready_status, 503) << "readiness stayed true after SIGTERM";
  // Still live, and a new connection is still served.
  http::HttpClient late("127.0.0.1", port);
  auto live = late.Get("/v2/health/live");
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  EXPECT_EQ(live->status, 200);
  auto r = late.Post("/v2/models/mobilenet_v2/classify", *image, "image/png");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200) << r->body;
  late.Close();
  // The second SIGTERM ends the delay; the drain follows.
  ASSERT_EQ(kill(c.pid, SIGTERM), 0);
  const std::string rest = ExpectExitZero(c);
  EXPECT_NE(rest.find("stopped"), std::string::npos) << rest;
  http::HttpClient after("127.0.0.1", port);
  EXPECT_FALSE(after.Get("/v2/health/live").ok()) << "still listening after the drain";
}

TEST(ServeSignal, SigintDrainsWithoutTheDelay) {
  KAMADO_REQUIRE_DATA("models/mobilenet_v2/kamado.yaml");
  uint16_t port = 0;
  std::string log;
  Child c = Spawn({"serve", "--model", "models/mobilenet_v2", "--port", "0", "--sessions", "1", "--threads",
                   "1", "--drain-delay-s", "3600"},
                  &port, &log);
  ASSERT_GT(c.pid, 0);
  ASSERT_NE(port, 0) << "kamado serve printed no URL:\n" << log;
  ASSERT_EQ(kill(c.pid, SIGINT), 0);
  // An hour's delay would hold this wait (and the test's timeout) up.
  const std::string rest = ExpectExitZero(c);
  EXPECT_EQ(rest.find("still serving"), std::string::npos) << rest;
}

// Writes `text` to a fresh file under the temporary directory.
std::filesystem::path WriteConfig(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("kamado_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(path) << text;
  return path;
}

TEST(ServeConfigFile, SetsTheServerAndFlagsOverrideIt) {
  KAMADO_REQUIRE_DATA("models/mobilenet_v2/kamado.yaml");
  KAMADO_REQUIRE_DATA("data/images/chelsea.png");
  const auto config = WriteConfig("serve.yaml",
                                  "# port is overridden by --port 0 below\n"
                                  "port: 1\n"
                                  "models:\n"
                                  "  - path: models/mobilenet_v2\n"
                                  "sessions: 1\n"
                                  "threads: 1\n"
                                  "max_batch: 3\n"
                                  "batch_delay_us: 0\n"
                                  "max_queue: 7\n");
  uint16_t port = 0;
  std::string log;
  Child c = Spawn({"serve", "--config", config.string(), "--port", "0"}, &port, &log);
  ASSERT_GT(c.pid, 0);
  ASSERT_NE(port, 0) << "kamado serve printed no URL:\n" << log;
  EXPECT_NE(port, 1) << "--port did not override the file";
  EXPECT_NE(log.find("settings from " + config.string()), std::string::npos) << log;
  EXPECT_NE(log.find("1 sessions × 1 threads"), std::string::npos) << log;
  EXPECT_NE(log.find("max batch 3, delay 0 µs, queue 7"), std::string::npos) << log;

  http::HttpClient client("127.0.0.1", port);
  auto image = ReadFile("data/images/chelsea.png");
  ASSERT_TRUE(image.ok());
  auto r = client.Post("/v2/models/mobilenet_v2/classify", *image, "image/png");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200) << r->body;
  client.Close();

  ASSERT_EQ(kill(c.pid, SIGTERM), 0);
  ExpectExitZero(c);
  std::filesystem::remove(config);
}

TEST(ServeConfigFile, BadFileExitsTwoNamingFileLineAndKey) {
  // Runs `kamado serve ARGS`; exit status and everything it printed.
  auto run = [](const std::string& args) {
    int rc = 0;
    std::string out = testutil::RunCommand(std::string(KAMADO_BINARY) + " serve " + args + " 2>&1", rc);
    return std::make_pair(rc, out);
  };
  const auto unknown =
      WriteConfig("unknown.yaml", "port: 0\nmodels: [models/mobilenet_v2]\nmax_batchs: 4\n");
  auto [rc, out] = run("--config " + unknown.string());
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find(unknown.string() + ":3:1: unknown key 'max_batchs'"), std::string::npos)
      << out;

  const auto wrong = WriteConfig("wrong.yaml", "models: [models/mobilenet_v2]\nport: http\n");
  std::tie(rc, out) = run("--config " + wrong.string());
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find(wrong.string() + ":2:7: key 'port' must be an integer, got 'http'"),
            std::string::npos) << out;

  std::tie(rc, out) = run("--config " + unknown.string() + "-missing");
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("cannot read the config file"), std::string::npos) << out;

  // No model from the file or the flags; a flag out of range.
  std::tie(rc, out) = run("--port 0");
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("no model to serve"), std::string::npos) << out;
  std::tie(rc, out) = run("--model models/mobilenet_v2 --max-batch 0");
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("'max_batch' (--max-batch) must be in 1..256, got 0"), std::string::npos)
      << out;
  std::filesystem::remove(unknown);
  std::filesystem::remove(wrong);
}

}  // namespace
}  // namespace kamado::serving
