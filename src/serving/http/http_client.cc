#include "serving/http/http_client.h"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>

namespace kamado::serving::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct HttpClient::Impl {
  std::string host;
  uint16_t port = 0;
  std::chrono::milliseconds timeout;
  net::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  beast::error_code Connect() {
    stream.emplace(ioc);
    buffer.clear();
    beast::error_code ec;
    const auto address = net::ip::make_address(host, ec);
    if (ec) {
      tcp::resolver resolver(ioc);
      auto results = resolver.resolve(host, std::to_string(port), ec);
      if (ec) return ec;
      stream->expires_after(timeout);
      stream->connect(results, ec);
      return ec;
    }
    stream->expires_after(timeout);
    stream->connect(tcp::endpoint(address, port), ec);
    return ec;
  }

  // Synchronous I/O with a deadline: run async operations until done.
  beast::error_code Exchange(bhttp::request<bhttp::string_body>& req,
                             bhttp::response_parser<bhttp::string_body>& parser) {
    beast::error_code result;
    bool done = false;
    stream->expires_after(timeout);
    bhttp::async_write(*stream, req, [&](beast::error_code ec, size_t) {
      if (ec) {
        result = ec;
        done = true;
        return;
      }
      bhttp::async_read(*stream, buffer, parser, [&](beast::error_code ec, size_t) {
        result = ec;
        done = true;
      });
    });
    ioc.restart();
    while (!done && ioc.run_one() > 0) {
    }
    return result;
  }
};

HttpClient::HttpClient(std::string host, uint16_t port, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
  impl_->timeout = timeout;
}

HttpClient::~HttpClient() { Close(); }

void HttpClient::Close() {
  if (impl_->stream) {
    beast::error_code ec;
    impl_->stream->socket().shutdown(tcp::socket::shutdown_both, ec);
    impl_->stream->socket().close(ec);
    impl_->stream.reset();
  }
}

Result<HttpResponse> HttpClient::Request(
    const std::string& method, const std::string& target, std::string body,
    const std::string& content_type, const std::vector<std::pair<std::string, std::string>>& headers) {
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
  req.set(bhttp::field::host, impl_->host + ":" + std::to_string(impl_->port));
  req.set(bhttp::field::user_agent, "kamado-client");
  if (!content_type.empty()) req.set(bhttp::field::content_type, content_type);
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = std::move(body);
  req.keep_alive(true);
  req.prepare_payload();

  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool fresh = !impl_->stream;
    if (fresh) {
      if (auto ec = impl_->Connect()) {
        impl_->stream.reset();
        return Unavailable("cannot connect to " + impl_->host + ":" + std::to_string(impl_->port) +
                           ": " + ec.message());
      }
    }
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(size_t{1} << 30);
    parser.header_limit(1 << 20);
    const beast::error_code ec = impl_->Exchange(req, parser);
    if (ec) {
      Close();
      // A reused connection the server closed while idle: retry once on a new one.
      if (!fresh && attempt == 0 && ec != beast::error::timeout) continue;
      return Unavailable(method + " " + target + ": " + ec.message());
    }
    auto res = parser.release();
    HttpResponse out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      out.headers[name] = std::string(field.value());
    }
    out.body = std::move(res.body());
    if (!res.keep_alive()) Close();
    return out;
  }
  return Unavailable(method + " " + target + ": failed");
}

}  // namespace kamado::serving::http
