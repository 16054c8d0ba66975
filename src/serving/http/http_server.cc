#include "serving/http/http_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <nlohmann/json.hpp>
#include <sys/resource.h>

#include <algorithm>
#include <future>
#include <limits>
#include <optional>

#include "serving/http/conformance.h"

namespace kamado::serving::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

Response MakeResponse(int status, std::string body, std::string content_type) {
  Response res{static_cast<bhttp::status>(status), 11};
  res.set(bhttp::field::server, "kamado");
  res.set(bhttp::field::content_type, content_type);
  res.body() = std::move(body);
  return res;
}

namespace {

// Dumped with invalid UTF-8 replaced: an error message may quote what a
// client sent.
std::string ErrorJson(const std::string& message) {
  return nlohmann::json{{"error", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

Refusal HeaderLimitRefusal(std::string_view what, size_t max_header_bytes) {
  return {431, "the request " + std::string(what) + " is over the limit of " + std::to_string(max_header_bytes) +
                   " bytes (max_header_bytes)"};
}

std::optional<Refusal> RefusalForReadError(const boost::system::error_code& ec, const HttpServerOptions& options) {
  if (ec == bhttp::error::body_limit) {
    return Refusal{413, "the request body is over the limit of " + std::to_string(options.max_body_bytes) +
                            " bytes (max_body_bytes)"};
  }
  if (ec == bhttp::error::header_limit) return HeaderLimitRefusal("header", options.max_header_bytes);
  if (ec == bhttp::error::buffer_overflow) return HeaderLimitRefusal("trailer", options.max_header_bytes);
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
      ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
    return Refusal{400, "malformed HTTP request: " + ec.message()};
  }
  return std::nullopt;
}

void FinishResponse(Response& res, unsigned version, bool keep_alive, bool head, const HttpServerOptions& options) {
  res.version(version == 10 ? 10 : 11);
  for (const auto& [name, value] : options.response_headers) res.set(name, value);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  if (head) {
    const auto length = res.body().size();
    res.body().clear();
    res.content_length(length);  // what GET would send
  }
}

Response RefusalResponse(const Refusal& refusal) {
  Response res = MakeResponse(refusal.status, ErrorJson(refusal.message));
  if (refusal.status == 503) res.set(bhttp::field::retry_after, "1");
  return res;
}

int RaiseOpenFilesLimit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) != 0) return 1024;
  if (r.rlim_cur < r.rlim_max) {
    rlimit raised = r;
    raised.rlim_cur = r.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) r = raised;
  }
  return r.rlim_cur == RLIM_INFINITY ? std::numeric_limits<int>::max()
                                     : static_cast<int>(std::min<rlim_t>(r.rlim_cur, 1 << 30));
}

// One TCP connection; every handler runs on its strand.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket&& socket, HttpServer* server)
      : stream_(std::move(socket)), server_(server),
        buffer_(server->options_.max_header_bytes + kReadBytes), body_timer_(stream_.get_executor()) {
    server_->connections_.fetch_add(1);
  }
  ~Connection() {
    Release();
    server_->connections_.fetch_sub(1);
  }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadHeader(); });
  }

  // Over max_connections: answered 503 and closed, nothing read.
  void Refuse() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      self->Reject(503, "the server has " + std::to_string(self->server_->max_connections_) +
                            " connections open, its limit (max_connections); retry later");
    });
  }

  // Server shutdown: a connection waiting for (the rest of) a request header
  // closes now; one with a request being read or handled closes after its
  // response.
  void Drain() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->idle_) self->Close();
    });
  }

 private:
  const HttpServerOptions& options() const { return server_->options_; }
  bool draining() const { return server_->draining_.load(); }

  void ReadHeader() {
    if (draining() && buffer_.size() == 0) return Close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(options().max_header_bytes));
    parser_->body_limit(options().max_body_bytes);
    idle_ = true;
    head_ = false;
    stream_.expires_after(options().header_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             beast::bind_front_handler(&Connection::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, size_t) {
    idle_ = false;
    const auto header_read_at = std::chrono::steady_clock::now();
    if (ec) return OnReadError(ec);
    const auto& req = parser_->get();
    version_ = req.version();
    head_ = req.method() == bhttp::verb::head;
    if (auto refusal = CheckRequestHead(req)) return Reject(*refusal);
    context_ = RequestContext{header_read_at, nullptr};
    if (options().check_head) {
      if (std::optional<Response> refused = options().check_head(req, context_)) {
        return RefuseWith(std::move(*refused));
      }
    }
    // string_body reserves a declared length when the body starts: count it now.
    declared_ = parser_->content_length().value_or(0);
    if (declared_ > 0 && !Hold(declared_)) return RejectBusy();
    if (beast::iequals(req[bhttp::field::expect], "100-continue")) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(kContinue),
                       [self = shared_from_this()](beast::error_code ec, size_t) {
                         if (ec) return self->Close();
                         self->ReadBody();
                       });
      return;
    }
    ReadBody();
  }


  void ReadBody() {
    stream_.expires_after(options().body_timeout);  // for the whole body
    body_late_ = false;
    if (context_.body_deadline != std::chrono::steady_clock::time_point{}) {
      // A timer, not the stream's expiry: that would close the socket, and
      // this request is owed an answer.
      body_timer_.expires_at(context_.body_deadline);
      body_timer_.async_wait([self = shared_from_this(), generation = ++body_generation_](beast::error_code ec) {
        if (ec || generation != self->body_generation_) return;
        self->body_late_ = true;
        self->stream_.cancel();  // the read in progress ends; ReadMore/OnReadError answer 504
      });
    }
    ReadMore();
  }

  void ReadMore() {
    if (parser_->is_done()) return OnBody();
    if (body_late_) return RejectLateBody();
    bhttp::async_read_some(stream_, buffer_, *parser_,
                           beast::bind_front_handler(&Connection::OnSome, shared_from_this()));
  }

  void OnSome(beast::error_code ec, size_t) {
    if (ec) return OnReadError(ec);
    // Unparsed bytes beyond a header's worth: a chunked trailer (or chunk
    // line) that would otherwise grow without bound.
    if (buffer_.size() > options().max_header_bytes) {
      return Reject(HeaderLimitRefusal("trailer", options().max_header_bytes));
    }
    if (!Hold(std::max<size_t>(parser_->get().body().capacity(), declared_) + buffer_.size())) {
      return RejectBusy();
    }
    ReadMore();
  }

  void OnBody() {
    stream_.expires_never();
    StopBodyTimer();
    Request req = parser_->release();
    keep_alive_ = req.keep_alive();
    RequestContext context = std::move(context_);
    context_ = RequestContext{};
    auto self = shared_from_this();
    auto answered = std::make_shared<std::atomic<bool>>(false);
    Responder respond = [self, answered](Response res) {
      if (answered->exchange(true)) return;
      net::post(self->stream_.get_executor(),
                [self, res = std::move(res)]() mutable { self->Write(std::move(res)); });
    };
    try {
      server_->handler_(std::move(req), std::move(context), respond);
    } catch (const std::exception& e) {
      spdlog::error("handler: {}", e.what());
      respond(MakeResponse(500, ErrorJson("internal error")));
    } catch (...) {
      respond(MakeResponse(500, ErrorJson("internal error")));
    }
  }

  void OnReadError(beast::error_code ec) {
    if (body_late_) return RejectLateBody();
    if (auto refusal = RefusalForReadError(ec, options())) return Reject(*refusal);
    Close();  // end of stream, timeout (slowloris), reset, or closed by Drain
  }

  // A wait already due runs anyway; the new generation makes it do nothing.
  void StopBodyTimer() {
    ++body_generation_;
    body_late_ = false;
    body_timer_.cancel();
  }

  // The body had not arrived by the request's deadline (set by the head
  // check; RequestContext::body_deadline).
  void RejectLateBody() {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(context_.body_deadline -
                                                                          context_.header_read_at);
    Reject(504, "the request body had not arrived " + std::to_string(ms.count()) +
                    " ms after its header, the request's deadline (timeout_ms); its place in the queue is "
                    "given back");
  }

  void RejectBusy() {
    Reject(503, "the server holds its limit of " + std::to_string(options().max_buffered_bytes) +
                    " bytes of request bodies (max_buffered_bytes); retry later");
  }

  // Answers a request the server refuses on its own, then closes.
  void Reject(int status, const std::string& message) { Reject(Refusal{status, message}); }
  void Reject(const Refusal& refusal) {
    if (options().on_rejected) options().on_rejected(refusal.status);
    RefuseWith(RefusalResponse(refusal));
  }
  // Sends `res` for a request whose body is left unread, then closes.
  void RefuseWith(Response res) {
    StopBodyTimer();
    context_ = RequestContext{};  // gives back what the head check attached
    Release();
    keep_alive_ = false;
    lingering_ = true;
    Write(std::move(res));
  }

  // This connection holds `bytes` of request data; false when the server's
  // total is over its budget.
  bool Hold(size_t bytes) {
    const bool ok = server_->HoldBytes(static_cast<int64_t>(bytes) - static_cast<int64_t>(held_));
    held_ = bytes;
    return ok;
  }
  void Release() {
    if (held_ > 0) server_->HoldBytes(-static_cast<int64_t>(held_));
    held_ = 0;
  }

  void Write(Response res) {
    FinishResponse(res, version_, keep_alive_ && !draining(), head_, options());
    auto sp = std::make_shared<Response>(std::move(res));
    stream_.expires_after(options().body_timeout);
    bhttp::async_write(stream_, *sp, [self = shared_from_this(), sp](beast::error_code ec, size_t) {
      self->Release();  // the request and its body are gone by now
      if (ec) return self->Close();
      if (sp->need_eof()) return self->lingering_ ? self->Linger() : self->Close();
      self->ReadHeader();
    });
  }

  // After refusing a request whose body was not read: stop sending, then
  // read and discard what the client still sends (closing with unread data
  // would reset the connection and could destroy the response in flight).
  void Linger() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(std::chrono::seconds(2));
    discard_.resize(16 << 10);
    stream_.async_read_some(net::buffer(discard_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->Close();
                              self->Linger();
                            });
  }

  void Close() {
    StopBodyTimer();  // a pending wait would keep this connection, and the server's shutdown, alive
    context_ = RequestContext{};
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  HttpServer* server_;
  beast::flat_buffer buffer_;  // bounded: see kReadBytes
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::vector<char> discard_;
  net::steady_timer body_timer_;  // the body's deadline (RequestContext::body_deadline)
  uint64_t body_generation_ = 0;  // the body being read; a timer for another does nothing
  bool body_late_ = false;  // the deadline passed while the body was being read
  RequestContext context_;  // of the request whose body is being read
  size_t held_ = 0;      // request bytes counted against max_buffered_bytes
  size_t declared_ = 0;  // the request's Content-Length (0 when chunked)
  bool idle_ = false;  // waiting for a request header
  bool head_ = false;  // a HEAD request: the response goes without its body
  bool keep_alive_ = true;
  bool lingering_ = false;
  unsigned version_ = 11;
};

HttpServer::HttpServer(HttpServerOptions options, Handler handler)
    : options_(std::move(options)), handler_(std::move(handler)),
      work_(boost::asio::make_work_guard(ioc_)),
      accept_strand_(boost::asio::make_strand(ioc_)), acceptor_(accept_strand_), accept_timer_(accept_strand_) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() {
  beast::error_code ec;
  const auto address = net::ip::make_address(options_.host, ec);
  if (ec) return InvalidArgument("'" + options_.host + "' is not an IP address: " + ec.message());
  const int files = RaiseOpenFilesLimit();
  const int by_files = std::max(1, files - kReservedFiles);
  max_connections_ = options_.max_connections > 0 ? std::min(options_.max_connections, by_files) : by_files;
  if (options_.max_connections > by_files) {
    spdlog::warn("max_connections {} is over the open-files limit {} less {} reserved: using {}",
                 options_.max_connections, files, kReservedFiles, max_connections_);
  }
  const tcp::endpoint endpoint(address, options_.port);
  const std::string where = options_.host + ":" + std::to_string(options_.port);
  if (options_.listen_fd >= 0) {
    acceptor_.assign(endpoint.protocol(), options_.listen_fd, ec);
    if (ec) return Unavailable("cannot accept on the inherited socket: " + ec.message());
  } else {
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return Unavailable("cannot listen on " + where + ": " + ec.message());
  }
  port_ = acceptor_.local_endpoint().port();
  DoAccept();
  for (int i = 0; i < std::max(1, options_.io_threads); ++i) {
    threads_.emplace_back([this] {
      for (;;) {
        try {
          ioc_.run();
          return;
        } catch (const std::exception& e) {
          // The handler that threw is gone, and with it its connection.
          spdlog::error("I/O thread: {} (one connection closed)", e.what());
        }
      }
    });
  }
  return Status::Ok();
}

bool HttpServer::HoldBytes(int64_t delta) {
  const int64_t total = buffered_bytes_.fetch_add(delta) + delta;
  return delta <= 0 || total <= static_cast<int64_t>(options_.max_buffered_bytes);
}

HttpServerStats HttpServer::stats() const {
  HttpServerStats s;
  s.accept_attempts = accept_attempts_.load();
  s.accept_failures = accept_failures_.load();
  s.accept_warnings = accept_warnings_.load();
  s.refused_connections = refused_connections_.load();
  s.buffered_bytes = static_cast<size_t>(std::max<int64_t>(0, buffered_bytes_.load()));
  return s;
}

void HttpServer::DoAccept() {
  acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
    accept_attempts_.fetch_add(1);
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) return OnAcceptFailure(ec);
    if (draining_.load()) return;
    const bool over = connections_.load() >= max_connections_;
    auto connection = std::make_shared<Connection>(std::move(socket), this);
    if (over) {
      refused_connections_.fetch_add(1);
      connection->Refuse();  // Reject counts it (on_rejected)
    } else {
      {
        std::lock_guard<std::mutex> lock(mu_);
        live_.remove_if([](const std::weak_ptr<Connection>& w) { return w.expired(); });
        live_.push_back(connection);
      }
      connection->Start();
    }
    DoAccept();
  });
}

// Out of descriptors (EMFILE/ENFILE): accepting again at once would fail at
// once, a busy loop. Wait, and log one line per interval, not per attempt.
// Other failures (a connection reset before it was accepted) retry now.
void HttpServer::OnAcceptFailure(const beast::error_code& ec) {
  accept_failures_.fetch_add(1);
  const bool no_files = ec == net::error::no_descriptors ||
                        ec == boost::system::errc::too_many_files_open_in_system;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_accept_warning_ >= options_.accept_log_interval) {
    last_accept_warning_ = now;
    accept_warnings_.fetch_add(1);
    spdlog::warn("accept: {} ({} failures so far){}", ec.message(), accept_failures_.load(),
                 no_files ? "; waiting before accepting again" : "");
  }
  if (!no_files) return DoAccept();
  accept_timer_.expires_after(options_.accept_backoff);
  accept_timer_.async_wait([this](beast::error_code ec) {
    if (ec || !acceptor_.is_open()) return;
    DoAccept();
  });
}

bool HttpServer::Shutdown(std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  if (!draining_.exchange(true)) {
    // The acceptor is not thread-safe: close it on its strand, between its
    // handlers, and wait.
    std::promise<void> closed;
    net::post(accept_strand_, [this, &closed] {
      beast::error_code ec;
      acceptor_.close(ec);
      accept_timer_.cancel();
      closed.set_value();
    });
    if (!threads_.empty()) closed.get_future().wait();
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& w : live_) {
      if (auto c = w.lock()) c->Drain();
    }
  }
  while (connections_.load() > 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const bool clean = connections_.load() == 0;
  if (!clean) spdlog::warn("shutdown: {} connections still open at the deadline", connections_.load());
  Stop();
  return clean;
}

void HttpServer::Stop() {
  work_.reset();
  ioc_.stop();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

}  // namespace kamado::serving::http
