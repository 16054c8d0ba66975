// HttpClient: a small synchronous HTTP/1.1 client (Boost.Beast) over one
// keep-alive connection, for the tests and the load tool.
//
// Not thread-safe: use one client per thread. Reconnects once when the
// server has closed an idle connection. Never throws.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

namespace kamado::serving::http {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lowercase
  std::string body;

  std::string header(const std::string& lowercase_name) const {
    auto it = headers.find(lowercase_name);
    return it == headers.end() ? "" : it->second;
  }
};

class HttpClient {
 public:
  HttpClient(std::string host, uint16_t port,
             std::chrono::milliseconds timeout = std::chrono::seconds(60));
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Unavailable when the server cannot be reached or the exchange fails.
  Result<HttpResponse> Request(const std::string& method, const std::string& target,
                               std::string body = "", const std::string& content_type = "",
                               const std::vector<std::pair<std::string, std::string>>& headers = {});
  Result<HttpResponse> Get(const std::string& target) { return Request("GET", target); }
  Result<HttpResponse> Post(const std::string& target, std::string body,
                            const std::string& content_type) {
    return Request("POST", target, std::move(body), content_type);
  }

  void Close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kamado::serving::http
