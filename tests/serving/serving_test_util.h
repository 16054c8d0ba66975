// Helpers shared by the serving tests: a real server on a loopback port, and
// reading Prometheus samples.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/file_util.h"
#include "serving/http/router.h"
#include "serving/http/http_server.h"
#include "serving/http/http_client.h"
#include "serving/inference_service.h"
#include "serving/metrics.h"

namespace kamado::serving::testing {

// The value of the Prometheus sample whose line starts with `series`
// (name plus labels, exactly as rendered), or -1 when absent.
inline double MetricValue(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::atof(line.c_str() + series.size() + 1);
  }
  return -1;
}

// A service plus server on an ephemeral loopback port, in process. On a
// failed start `server` is null (and the failure is reported).
struct TestServer {
  Metrics metrics;
  std::unique_ptr<InferenceService> service;
  std::unique_ptr<http::Router> router;
  std::unique_ptr<http::HttpServer> server;

  explicit TestServer(ServiceOptions options, http::HttpServerOptions http_options = {},
                      std::vector<std::filesystem::path> models = {"models/mobilenet_v2"}) {
    auto s = InferenceService::Create(models, options, &metrics);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (!s.ok()) return;
    service = std::move(s).value();
    router = std::make_unique<http::Router>(*service, metrics);
    http_options.port = 0;
    http_options.check_head = router->AsHeadCheck();
    server = std::make_unique<http::HttpServer>(http_options, router->AsHandler());
    Status st = server->Start();
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
  ~TestServer() {
    if (!server) return;
    service->BeginShutdown();
    server->Shutdown(std::chrono::seconds(10));
    service->Shutdown();
  }
  uint16_t port() const { return server->port(); }
  http::HttpClient Client() const { return http::HttpClient("127.0.0.1", port()); }
};

inline std::string FileBytes(const std::filesystem::path& path) {
  auto r = ReadFile(path);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : "";
}

}  // namespace kamado::serving::testing
