// The real binary: `kamado serve` on an ephemeral port, SIGTERM while
// requests are in flight → every accepted request answered, exit status 0.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/file_util.h"
#include "serving/http_client.h"
#include "serving/serving_test_util.h"
#include "testutil/test_data.h"

namespace kamado::serving {
namespace {

struct Child {
  pid_t pid = -1;
  FILE* out = nullptr;
};

// Starts `kamado serve` with stdout on a pipe and returns once it printed its URL.
Child Spawn(const std::vector<std::string>& args, uint16_t* port) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  Child c;
  c.pid = fork();
  if (c.pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(KAMADO_BINARY));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(KAMADO_BINARY, argv.data());
    _exit(127);
  }
  close(fds[1]);
  c.out = fdopen(fds[0], "r");
  char line[512];
  while (fgets(line, sizeof(line), c.out)) {
    const std::string s(line);
    const auto at = s.find("http://127.0.0.1:");
    if (at != std::string::npos) {
      *port = static_cast<uint16_t>(std::stoi(s.substr(at + 17)));
      break;
    }
  }
  return c;
}

TEST(ServeSignal, SigtermFinishesAcceptedRequestsAndExitsZero) {
  KAMADO_REQUIRE_DATA("models/mobilenet_v2/kamado.yaml");
  KAMADO_REQUIRE_DATA("data/images/chelsea.png");
  uint16_t port = 0;
  // A long batch delay and a large batch keep the requests queued until SIGTERM.
  Child c = Spawn({"serve", "--model", "models/mobilenet_v2", "--port", "0", "--sessions", "1",
                   "--threads", "1", "--max-batch", "64", "--batch-delay-us", "1500000",
                   "--timeout-ms", "0"},
                  &port);
  ASSERT_GT(c.pid, 0);
  ASSERT_NE(port, 0) << "kamado serve printed no URL";

  auto image = ReadFile("data/images/chelsea.png");
  ASSERT_TRUE(image.ok());
  constexpr int kClients = 6;
  std::atomic<int> answered{0};
  std::vector<int> codes(kClients, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      HttpClient client("127.0.0.1", port);
      auto r = client.Post("/v2/models/mobilenet_v2/classify", *image, "image/png");
      codes[static_cast<size_t>(i)] = r.ok() ? r->status : -1;
      ++answered;
    });
  }
  // Wait until every request sits in the queue, then ask the server to stop.
  HttpClient probe("127.0.0.1", port);
  for (int tries = 0; tries < 2000; ++tries) {
    auto m = probe.Get("/metrics");
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    if (testing::MetricValue(m->body, "kamado_queue_depth{model=\"mobilenet_v2\"}") >= kClients) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  probe.Close();
  EXPECT_EQ(answered.load(), 0) << "requests finished before SIGTERM; the test proves nothing";
  ASSERT_EQ(kill(c.pid, SIGTERM), 0);

  for (auto& t : threads) t.join();
  for (int i = 0; i < kClients; ++i) EXPECT_EQ(codes[static_cast<size_t>(i)], 200) << "client " << i;

  int status = 0;
  ASSERT_EQ(waitpid(c.pid, &status, 0), c.pid);
  EXPECT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // No new connections once it has stopped.
  HttpClient late("127.0.0.1", port);
  EXPECT_FALSE(late.Get("/v2/health/live").ok());
  fclose(c.out);
}

}  // namespace
}  // namespace kamado::serving
