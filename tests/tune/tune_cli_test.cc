// build/kamado tune end to end on real servers over loopback: a tiny search
// (three MobileNetV2 configurations, short levels) whose recommended
// serve.yaml then starts `kamado serve --config` that classifies a photo,
// and whose tune.json `kamado cost --tune` accepts. Plus the refusals.
#include <signal.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "serving/http/http_client.h"
#include "serving/serve_config.h"
#include "serving/spawn_server.h"
#include "testutil/run_command.h"
#include "testutil/test_data.h"

namespace kamado {
namespace {

namespace fs = std::filesystem;

std::string Kamado(const std::string& args, int& rc) {
  return testutil::RunCommand(std::string(KAMADO_BINARY) + " " + args + " 2>&1", rc);
}

class TuneCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KAMADO_REQUIRE_DATA("models/mobilenet_v2/kamado.yaml");
    KAMADO_REQUIRE_DATA("data/images/rocket.jpg");
    dir_ = fs::temp_directory_path() / ("kamado-tune-test-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "photos");
    for (const char* f : {"rocket.jpg", "retina.jpg"}) {
      fs::copy_file(fs::path("data/images") / f, dir_ / "photos" / f);
    }
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(TuneCliTest, ATinySearchWritesAServeYamlThatServes) {
  const fs::path out = dir_ / "out";
  int rc = -1;
  const std::string log =
      Kamado("tune --model models/mobilenet_v2 --images " + (dir_ / "photos").string() +
                 " --slo-p99-ms 500 --mode full --workers 1 --sessions 1 --threads 1 --max-batch 1,2"
                 " --batch-delay-us 0 --pin false --min-requests 20 --min-seconds 0.3 --warmup 0.2 --max-probes 3 --confirm 1"
                 " --windows 1"
                 " --budget-minutes 5 --port 0 --json -o " + out.string(),
             rc);
  ASSERT_EQ(rc, 0) << log;
  // The default (1 × 1 × 2, max batch 8, auto delay) and the two of the grid.
  const auto last = log.substr(log.rfind('\n', log.size() - 2) + 1);
  const auto j = nlohmann::json::parse(last);
  ASSERT_EQ(j["points"].size(), 3u) << log;
  EXPECT_EQ(j["points"][0]["config"]["label"], "P1×S1×T2 b8 d auto");
  for (const auto& p : j["points"]) {
    EXPECT_FALSE(p.contains("error")) << p.dump();
    EXPECT_GT(p["slo_rps"].get<double>(), 0) << p.dump();
    EXPECT_GT(p["pss_mb"].get<double>(), 10) << p.dump();  // the server's processes were found
    EXPECT_GT(p["cpu_pct"].get<double>(), 0) << p.dump();
  }
  EXPECT_GE(j["recommended"]["slo_rps"].get<double>(), j["default"]["slo_rps"].get<double>());
  EXPECT_EQ(j["default"]["runs"].size(), 1u);
  EXPECT_TRUE(fs::exists(out / "report.html"));
  EXPECT_TRUE(fs::exists(out / "runs" / "serve-001.log"));

  // The recommendation is what serve takes, and it serves.
  serving::ServeConfig config;
  ASSERT_TRUE(serving::LoadServeConfig(out / "serve.yaml", config).ok());
  EXPECT_EQ(config.service.max_batch, j["recommended"]["config"]["max_batch"].get<int>());
  uint16_t port = 0;
  serving::Child server = serving::Spawn({"serve", "--config", (out / "serve.yaml").string()}, &port);
  ASSERT_GT(port, 0);
  {
    serving::http::HttpClient client("127.0.0.1", port, std::chrono::seconds(30));
    std::ifstream in("data/images/rocket.jpg", std::ios::binary);
    const std::string photo((std::istreambuf_iterator<char>(in)), {});
    auto r = client.Post("/v2/models/mobilenet_v2/classify", photo, "image/jpeg");
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_NE(r->body.find("\"label\""), std::string::npos) << r->body;
  }
  ASSERT_EQ(kill(server.pid, SIGTERM), 0);
  int status = 0;
  EXPECT_EQ(waitpid(server.pid, &status, 0), server.pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  fclose(server.out);

  // kamado cost takes the result as its capacity.
  const std::string cost = Kamado("cost --tune " + (out / "tune.json").string() +
                                      " --peak-rps 50 --types c5.xlarge --format json", rc);
  ASSERT_EQ(rc, 0) << cost;
  EXPECT_NE(cost.find("kamado tune"), std::string::npos) << cost;
}

TEST_F(TuneCliTest, RefusesToOversubscribeAndNamesBadInput) {
  int rc = -1;
  const std::string photos = (dir_ / "photos").string();
  std::string log = Kamado("tune --model models/mobilenet_v2 --images " + photos +
                               " --slo-p99-ms 100 --workers 64 --sessions 64 -o " + (dir_ / "o").string(),
                           rc);
  EXPECT_EQ(rc, 2) << log;
  EXPECT_NE(log.find("never oversubscribes"), std::string::npos) << log;
  log = Kamado("tune --model models/mobilenet_v2 --images " + photos + " --slo-p99-ms 100 --pin maybe", rc);
  EXPECT_EQ(rc, 2) << log;
  EXPECT_NE(log.find("--pin 'maybe'"), std::string::npos) << log;
  log = Kamado("tune --model " + photos + " --images " + photos + " --slo-p99-ms 100", rc);
  EXPECT_EQ(rc, 2) << log;
  EXPECT_NE(log.find("kamado.yaml"), std::string::npos) << log;
  log = Kamado("tune --model models/mobilenet_v2 --images " + dir_.string() + "/none --slo-p99-ms 100", rc);
  EXPECT_EQ(rc, 2) << log;
  EXPECT_NE(log.find("none"), std::string::npos) << log;
}

}  // namespace
}  // namespace kamado
