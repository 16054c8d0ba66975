// The load generator's transport over HTTP: one keep-alive connection per
// load worker posting photos to a model's /classify. Used by `kamado load`
// and `kamado tune`.
#pragma once

#include <fmt/format.h>

#include <chrono>
#include <string>

#include "perf/load_generator.h"
#include "serving/http/http_client.h"

namespace kamado::tune {

class HttpSender : public perf::Sender {
 public:
  HttpSender(const std::string& host, uint16_t port, const std::string& model, std::chrono::milliseconds timeout)
      : client_(host, port, timeout),
        ready_("/v2/models/" + model + "/ready"),
        classify_("/v2/models/" + model + "/classify") {}

  // Connects by asking for the model's readiness, so connection set-up stays
  // out of the measurement.
  Status Open() override {
    auto r = client_.Get(ready_);
    if (!r.ok()) return r.status();
    if (r->status != 200) return Unavailable(fmt::format("GET {}: HTTP {}", ready_, r->status));
    return Status::Ok();
  }

  int Send(const perf::Payload& p) override {
    auto r = client_.Post(classify_, p.body, p.content_type);
    return r.ok() ? r->status : 0;
  }

 private:
  serving::http::HttpClient client_;
  std::string ready_, classify_;
};

}  // namespace kamado::tune
