// HttpServer: an asynchronous HTTP/1.1 server on Boost.Beast/Asio.
//
// A fixed pool of I/O threads runs one io_context; each connection lives on
// its own strand (no thread per connection). Keep-alive; pipelined requests
// are read from the connection's buffer one after another and answered in
// order.
//
// Limits and budgets (docs/RELIABILITY.md), each answered by the server
// itself with a JSON error that names the limit:
//   - the header must arrive within `header_timeout` (also the keep-alive
//     idle timeout), the body within `body_timeout` after it (slowloris),
//     and by the request's `body_deadline` when the head check set one
//     (504, the connection then closed);
//   - header over `max_header_bytes`: 431; a chunked trailer is held to the
//     same limit (the connection's read buffer cannot grow past it plus one
//     read, so no trailer field can reach Beast's 64 KiB field limit);
//   - body over `max_body_bytes`: 413;
//   - all connections together hold at most `max_buffered_bytes` of request
//     bodies (a declared Content-Length counts in full when the header
//     arrives): beyond it, 503 with Retry-After;
//   - at most `max_connections` connections: the next is answered 503 with
//     Retry-After and closed. Start() raises the open-files soft limit to
//     the hard limit and keeps max_connections below it;
//   - accept failing for want of descriptors (EMFILE/ENFILE) waits
//     `accept_backoff` before trying again and logs at most one line per
//     `accept_log_interval`;
//   - the request head must pass CheckRequestHead (conformance.h): 400/501.
// HEAD is answered as GET without the body. An exception that escapes a
// handler is logged and closes that connection only; the server goes on.
//
// Before the body is read, `check_head` (optional) may refuse a request
// from its header alone — a model whose queue is full — and its answer is
// sent at once, with the body discarded unread and the connection closed:
// under overload, refused requests cost the server no body read and no
// memory, and the bodies being read are only those that can be served.
//
// The handler is called on an I/O thread with the request, its
// RequestContext and a Responder; it must call the Responder exactly once,
// from any thread, possibly later. The connection reads nothing more until
// then.
//
// Shutdown: closes the listener, closes idle keep-alive connections and those
// that have not finished sending a header, lets every request already being
// read or handled finish (its response carries `Connection: close`), then
// stops the I/O threads. Thread-safe.
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"
#include "serving/http/conformance.h"

namespace kamado::serving::http {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;
using Responder = std::function<void(Response)>;

// What the server knows of a request besides its bytes.
struct RequestContext {
  std::chrono::steady_clock::time_point header_read_at{};  // its header had been read
  // Whatever the HeadCheck attached to the request (the Router: its place
  // in the model's queue), handed to the handler with it; released with the
  // context when the request is refused or its connection fails first.
  std::shared_ptr<void> admission;
  // Set by the HeadCheck for a request that holds a place (the Router: its
  // --timeout-ms deadline). A body not read in full by then is answered 504
  // at once and its place given back, so bodies sent slowly cannot hold a
  // model's queue for the whole body_timeout. Unset: body_timeout alone.
  std::chrono::steady_clock::time_point body_deadline{};
};
using Handler = std::function<void(Request&&, RequestContext&&, Responder)>;
// Called on the I/O thread with a request whose header has been read and
// whose body has not: a response refuses it (see the file comment),
// nullopt lets the body be read and the handler called with `context`.
using HeadCheck = std::function<std::optional<Response>(const Request& head, RequestContext& context)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: an ephemeral port (see port())
  int io_threads = 2;
  size_t max_body_bytes = size_t{16} << 20;
  size_t max_header_bytes = 16 << 10;
  std::chrono::milliseconds header_timeout{30000};
  std::chrono::milliseconds body_timeout{30000};
  // 0: the open-files limit less kReservedFiles.
  int max_connections = 0;
  size_t max_buffered_bytes = size_t{512} << 20;
  std::chrono::milliseconds accept_backoff{100};
  std::chrono::milliseconds accept_log_interval{1000};
  // Called for a request the server answers itself (413, 400 on a malformed
  // request): the status code. Optional.
  std::function<void(int status)> on_rejected;
  // A socket already bound and listening (inherited from the supervisor of
  // `kamado serve --workers`): accepted from instead of binding host:port;
  // the server owns it from Start. -1: bind host:port.
  int listen_fd = -1;
  // Refuses requests from their header (optional; see HeadCheck).
  HeadCheck check_head;
  // Header fields set on every response (X-Kamado-Worker), as name, value.
  std::vector<std::pair<std::string, std::string>> response_headers;
};

class Connection;

// Descriptors kept free for everything but connections (model files, logs).
inline constexpr int kReservedFiles = 64;

// Raises this process's open-files soft limit to its hard limit; returns the
// soft limit now in force.
int RaiseOpenFilesLimit();

// What the server has done since it started; for tests and logs.
struct HttpServerStats {
  uint64_t accept_attempts = 0;   // async_accept completions
  uint64_t accept_failures = 0;   // of which failed (EMFILE, ...)
  uint64_t accept_warnings = 0;   // log lines about them
  uint64_t refused_connections = 0;  // answered 503 over max_connections
  size_t buffered_bytes = 0;      // request bytes held now
};

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
  // The limit in force (after Start): options.max_connections, or the
  // open-files limit less kReservedFiles, whichever is smaller.
  int max_connections() const { return max_connections_; }
  HttpServerStats stats() const;

 private:
  friend class Connection;
  void DoAccept();
  void OnAcceptFailure(const boost::system::error_code& ec);
  // Moves this server's count of buffered request bytes by `delta`; false
  // when the total is then over max_buffered_bytes.
  bool HoldBytes(int64_t delta);

  const HttpServerOptions options_;
  const Handler handler_;
  // Declared before ioc_: connections destroyed with the io_context update it.
  std::atomic<int> connections_{0};
  std::atomic<int64_t> buffered_bytes_{0};
  std::atomic<uint64_t> accept_attempts_{0}, accept_failures_{0}, accept_warnings_{0},
      refused_connections_{0};
  int max_connections_ = 0;
  std::chrono::steady_clock::time_point last_accept_warning_{};
  std::atomic<bool> draining_{false};
  boost::asio::io_context ioc_;
  // Keeps the I/O threads running while requests sit in a scheduler with no
  // socket operation pending (e.g. after the acceptor closes on shutdown).
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  // The acceptor and its back-off timer are not thread-safe and are touched by
  // their completion handlers and by Shutdown's close: all of them run on
  // this strand (the objects' executor), never two at once.
  boost::asio::strand<boost::asio::io_context::executor_type> accept_strand_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer accept_timer_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  std::mutex mu_;
  std::list<std::weak_ptr<Connection>> live_;  // guarded by mu_
};

// A response with `status`, a JSON body and the usual headers.
Response MakeResponse(int status, std::string body, std::string content_type = "application/json");

// The server's own answers while it reads a request (the connection closes
// after them), shared with tests/serving/memory_connection.h so that the
// request fuzzer reads bytes as a connection does:
//   a read that failed with `ec`: 413 (body over max_body_bytes), 431
//   (header over max_header_bytes, or the buffer full: a trailer), 400
//   (malformed); nullopt when the connection just closes (end of stream,
//   timeout, reset).
std::optional<Refusal> RefusalForReadError(const boost::system::error_code& ec, const HttpServerOptions& options);
// 431: the request's `what` ("header", "trailer") is over max_header_bytes.
Refusal HeaderLimitRefusal(std::string_view what, size_t max_header_bytes);
// A refusal's response: {"error": message} (invalid UTF-8 replaced: it may
// quote the client), Retry-After on 503.
Response RefusalResponse(const Refusal& refusal);
// What a connection does to a response before it sends it: the request's
// HTTP version (1.0 or 1.1), options.response_headers, keep-alive,
// Content-Length; the answer to a HEAD request loses its body and keeps the
// Content-Length GET would send.
void FinishResponse(Response& res, unsigned version, bool keep_alive, bool head, const HttpServerOptions& options);
// A connection's read buffer: a header (or trailer) of max_header_bytes and
// one read of a body (kReadBytes) at most.
inline constexpr size_t kReadBytes = 16 << 10;

}  // namespace kamado::serving::http
