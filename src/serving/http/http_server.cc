#include "serving/http/http_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <nlohmann/json.hpp>
#include <future>
#include <optional>

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

std::string ErrorJson(const std::string& message) {
  return nlohmann::json{{"error", message}}.dump();
}

}  // namespace

// One TCP connection; every handler runs on its strand.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket&& socket, HttpServer* server) : stream_(std::move(socket)), server_(server) {
    server_->connections_.fetch_add(1);
  }
  ~Connection() { server_->connections_.fetch_sub(1); }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadHeader(); });
  }

  // Server shutdown: an idle keep-alive connection closes now; one with a
  // request being read or handled closes after its response.
  void Drain() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->idle_ && self->buffer_.size() == 0) self->Close();
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
    stream_.expires_after(options().header_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             beast::bind_front_handler(&Connection::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, size_t) {
    idle_ = false;
    if (ec) return OnReadError(ec);
    const auto& req = parser_->get();
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
    stream_.expires_after(options().body_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Connection::OnBody, shared_from_this()));
  }

  void OnBody(beast::error_code ec, size_t) {
    if (ec) return OnReadError(ec);
    stream_.expires_never();
    Request req = parser_->release();
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    auto self = shared_from_this();
    auto answered = std::make_shared<std::atomic<bool>>(false);
    Responder respond = [self, answered](Response res) {
      if (answered->exchange(true)) return;
      net::post(self->stream_.get_executor(),
                [self, res = std::move(res)]() mutable { self->Write(std::move(res)); });
    };
    try {
      server_->handler_(std::move(req), respond);
    } catch (const std::exception& e) {
      respond(MakeResponse(500, ErrorJson(std::string("internal error: ") + e.what())));
    } catch (...) {
      respond(MakeResponse(500, ErrorJson("internal error")));
    }
  }

  void OnReadError(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {
      return Reject(413, "the request body is over the limit of " +
                             std::to_string(options().max_body_bytes) + " bytes");
    }
    if (ec == bhttp::error::header_limit) {
      return Reject(431, "the request header is over the limit of " +
                             std::to_string(options().max_header_bytes) + " bytes");
    }
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
        ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      return Reject(400, "malformed HTTP request: " + ec.message());
    }
    Close();  // end of stream, timeout (slowloris), reset, or closed by Drain
  }

  // Answers a request the server refuses on its own, then closes.
  void Reject(int status, const std::string& message) {
    if (options().on_rejected) options().on_rejected(status);
    keep_alive_ = false;
    lingering_ = true;
    Write(MakeResponse(status, ErrorJson(message)));
  }

  void Write(Response res) {
    res.version(version_ == 10 ? 10 : 11);
    res.keep_alive(keep_alive_ && !draining());
    res.prepare_payload();
    auto sp = std::make_shared<Response>(std::move(res));
    stream_.expires_after(options().body_timeout);
    bhttp::async_write(stream_, *sp, [self = shared_from_this(), sp](beast::error_code ec, size_t) {
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
    discard_.resize(64 << 10);
    stream_.async_read_some(net::buffer(discard_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->Close();
                              self->Linger();
                            });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  HttpServer* server_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::vector<char> discard_;
  bool idle_ = false;  // waiting for a request's first bytes
  bool keep_alive_ = true;
  bool lingering_ = false;
  unsigned version_ = 11;
};

HttpServer::HttpServer(HttpServerOptions options, Handler handler)
    : options_(std::move(options)), handler_(std::move(handler)),
      work_(boost::asio::make_work_guard(ioc_)),
      acceptor_(ioc_) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() {
  beast::error_code ec;
  const auto address = net::ip::make_address(options_.host, ec);
  if (ec) return InvalidArgument("'" + options_.host + "' is not an IP address: " + ec.message());
  const tcp::endpoint endpoint(address, options_.port);
  const std::string where = options_.host + ":" + std::to_string(options_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Unavailable("cannot listen on " + where + ": " + ec.message());
  port_ = acceptor_.local_endpoint().port();
  DoAccept();
  for (int i = 0; i < std::max(1, options_.io_threads); ++i) {
    threads_.emplace_back([this] { ioc_.run(); });
  }
  return Status::Ok();
}

void HttpServer::DoAccept() {
  acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      if (draining_.load()) return;
      auto connection = std::make_shared<Connection>(std::move(socket), this);
      {
        std::lock_guard<std::mutex> lock(mu_);
        live_.remove_if([](const std::weak_ptr<Connection>& w) { return w.expired(); });
        live_.push_back(connection);
      }
      connection->Start();
    } else {
      spdlog::warn("accept: {}", ec.message());
    }
    DoAccept();
  });
}

bool HttpServer::Shutdown(std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  if (!draining_.exchange(true)) {
    // The acceptor is not thread-safe: close it on the I/O threads, and wait.
    std::promise<void> closed;
    net::post(ioc_, [this, &closed] {
      beast::error_code ec;
      acceptor_.close(ec);
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
