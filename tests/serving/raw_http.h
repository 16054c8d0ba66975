// Raw bytes to a server on loopback, and the one response that comes back:
// for requests no well-behaved client (HttpClient) would send.
#pragma once

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <string>

#include "serving/http/http_client.h"

namespace kamado::serving::testing {

// A blocking socket to 127.0.0.1:port whose reads give up after `timeout`.
inline boost::asio::ip::tcp::socket Connect(boost::asio::io_context& ioc, uint16_t port,
                                            std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  namespace net = boost::asio;
  net::ip::tcp::socket socket(ioc);
  socket.connect({net::ip::make_address("127.0.0.1"), port});
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return socket;
}

// Reads one response from `socket`; status 0 when none came (closed, timed out).
inline http::HttpResponse ReadResponse(boost::asio::ip::tcp::socket& socket, bool head = false) {
  namespace bhttp = boost::beast::http;
  boost::beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 << 20);
  parser.skip(head);
  boost::beast::error_code ec;
  bhttp::read(socket, buffer, parser, ec);
  http::HttpResponse r;
  if (ec) return r;
  const auto& res = parser.get();
  r.status = static_cast<int>(res.result_int());
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = std::string(f.value());
  }
  r.body = res.body();
  return r;
}

// Sends `bytes` on a new connection (write errors ignored: the server may
// close early) and reads one response.
inline http::HttpResponse RawExchange(uint16_t port, const std::string& bytes, bool head = false) {
  boost::asio::io_context ioc;
  auto socket = Connect(ioc, port);
  boost::system::error_code ec;
  boost::asio::write(socket, boost::asio::buffer(bytes), ec);
  return ReadResponse(socket, head);
}

}  // namespace kamado::serving::testing
