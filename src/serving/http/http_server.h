// HttpServer: an asynchronous HTTP/1.1 server on Boost.Beast/Asio.
//
// A fixed pool of I/O threads runs one io_context; each connection lives on
// its own strand (no thread per connection). Keep-alive; pipelined requests
// are read from the connection's buffer one after another and answered in
// order. Limits: the header must arrive within `header_timeout` (this is also
// the keep-alive idle timeout), the body within `body_timeout` after the
// header (slowloris); a body over `max_body_bytes` is answered 413 and the
// connection closed.
//
// The handler is called on an I/O thread with the request and a Responder;
// it must call the Responder exactly once, from any thread, possibly later.
// The connection reads nothing more until then.
//
// Shutdown: closes the listener, closes idle keep-alive connections, lets
// every request already being read or handled finish (its response carries
// `Connection: close`), then stops the I/O threads. Thread-safe.
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"

namespace kamado::serving::http {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;
using Responder = std::function<void(Response)>;
using Handler = std::function<void(Request&&, Responder)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: an ephemeral port (see port())
  int io_threads = 2;
  size_t max_body_bytes = size_t{16} << 20;
  size_t max_header_bytes = 16 << 10;
  std::chrono::milliseconds header_timeout{30000};
  std::chrono::milliseconds body_timeout{30000};
  // Called for a request the server answers itself (413, 400 on a malformed
  // request): the status code. Optional.
  std::function<void(int status)> on_rejected;
};

class Connection;

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, Handler handler);
  ~HttpServer();  // Stop()

  // Binds, listens and starts the I/O threads. Errors name the address.
  Status Start();
  // The bound port (the real one when options.port was 0).
  uint16_t port() const { return port_; }

  // Graceful: see the file comment. Waits up to `deadline` for connections to
  // finish, then stops the I/O threads. Returns true when every connection
  // finished in time.
  bool Shutdown(std::chrono::milliseconds deadline);
  // Immediate: stops the I/O threads.
  void Stop();

  int connections() const { return connections_.load(); }

 private:
  friend class Connection;
  void DoAccept();

  const HttpServerOptions options_;
  const Handler handler_;
  // Declared before ioc_: connections destroyed with the io_context update it.
  std::atomic<int> connections_{0};
  std::atomic<bool> draining_{false};
  boost::asio::io_context ioc_;
  // Keeps the I/O threads running while requests sit in a scheduler with no
  // socket operation pending (e.g. after the acceptor closes on shutdown).
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  std::mutex mu_;
  std::list<std::weak_ptr<Connection>> live_;  // guarded by mu_
};

// A response with `status`, a JSON body and the usual headers.
Response MakeResponse(int status, std::string body, std::string content_type = "application/json");

}  // namespace kamado::serving::http
