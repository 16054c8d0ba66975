#include "serving/memory_connection.h"

#include <boost/beast/core/flat_buffer.hpp>
#include <cstring>
#include <optional>

namespace kamado::serving::testing {

namespace bhttp = boost::beast::http;
using boost::beast::error_code;

namespace {

// One connection's read side: the parser, the bounded buffer, and the bytes
// still "in the socket".
class Reader {
 public:
  Reader(std::string_view bytes, const http::HttpServerOptions& options)
      : bytes_(bytes), options_(options), buffer_(options.max_header_bytes + http::kReadBytes) {}

  void NewRequest() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
    parser_->body_limit(options_.max_body_bytes);
  }
  bhttp::request_parser<bhttp::string_body>& parser() { return *parser_; }
  size_t buffered() const { return buffer_.size(); }
  bool at_end() const { return buffer_.size() == 0 && pos_ == bytes_.size(); }

  // Parses until the header is done (header) or the message is (body), reading
  // more as a socket read would: at most one read's worth, at most the room
  // the buffer has. `after_read` runs after each read of the body and may
  // refuse it (the trailer bound).
  error_code Read(bool header, const std::function<bool()>& after_read = {}) {
    for (;;) {
      if (Done(header)) return {};
      if (buffer_.size() > 0) {
        error_code ec;
        const size_t used = parser_->put(buffer_.data(), ec);
        buffer_.consume(used);
        if (ec && ec != bhttp::error::need_more) return ec;
        if (Done(header)) return {};
        if (!ec && used > 0) continue;
      }
      if (pos_ == bytes_.size()) {  // the client closed the connection
        if (!parser_->got_some()) return bhttp::error::end_of_stream;
        error_code ec;
        parser_->put_eof(ec);
        if (ec) return ec;
        return Done(header) ? error_code{} : error_code(bhttp::error::partial_message);
      }
      const size_t room = buffer_.max_size() - buffer_.size();
      if (room == 0) return bhttp::error::buffer_overflow;
      const size_t n = std::min({room, http::kReadBytes, bytes_.size() - pos_});
      std::memcpy(buffer_.prepare(n).data(), bytes_.data() + pos_, n);
      buffer_.commit(n);
      pos_ += n;
      if (!header && after_read && !after_read()) return bhttp::error::buffer_overflow;
    }
  }

 private:
  bool Done(bool header) const { return header ? parser_->is_header_done() : parser_->is_done(); }

  std::string_view bytes_;
  size_t pos_ = 0;
  const http::HttpServerOptions& options_;
  boost::beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
};

}  // namespace

MemoryExchange ExchangeInMemory(std::string_view bytes, const http::HttpServerOptions& options,
                                const http::Handler& handler, int max_requests) {
  MemoryExchange out;
  Reader reader(bytes, options);
  unsigned version = 11;
  bool head = false;
  // A refusal: sent, then the connection closes.
  auto refuse = [&](http::Response res) {
    http::FinishResponse(res, version, false, head, options);
    out.responses.push_back(std::move(res));
  };
  for (int request = 0; request < max_requests && !reader.at_end(); ++request) {
    reader.NewRequest();
    version = 11;
    head = false;
    if (error_code ec = reader.Read(true)) {
      if (auto refusal = http::RefusalForReadError(ec, options)) refuse(http::RefusalResponse(*refusal));
      return out;
    }
    const auto& req = reader.parser().get();
    version = req.version();
    head = req.method() == bhttp::verb::head;
    if (auto refusal = http::CheckRequestHead(req)) {
      refuse(http::RefusalResponse(*refusal));
      return out;
    }
    http::RequestContext context{std::chrono::steady_clock::now(), nullptr};
    if (options.check_head) {
      if (std::optional<http::Response> refused = options.check_head(req, context)) {
        refuse(std::move(*refused));
        return out;
      }
    }
    // The trailer bound: unparsed bytes past a header's worth.
    bool trailer_over = false;
    error_code ec = reader.Read(false, [&] { return !(trailer_over = reader.buffered() > options.max_header_bytes); });
    if (trailer_over) {
      refuse(http::RefusalResponse(http::HeaderLimitRefusal("trailer", options.max_header_bytes)));
      return out;
    }
    if (ec) {
      if (auto refusal = http::RefusalForReadError(ec, options)) refuse(http::RefusalResponse(*refusal));
      return out;
    }
    http::Request full = reader.parser().release();
    const bool keep_alive = full.keep_alive();
    int answers = 0;
    std::optional<http::Response> answer;
    http::Responder respond = [&](http::Response res) {
      if (++answers == 1) answer = std::move(res);
    };
    try {
      handler(std::move(full), std::move(context), respond);
    } catch (...) {
      out.handler_threw = true;
      if (answers == 0) respond(http::MakeResponse(500, R"({"error":"internal error"})"));
    }
    if (answers == 0) {
      out.unanswered = true;
      return out;
    }
    if (answers > 1) out.answered_twice = true;
    http::FinishResponse(*answer, version, keep_alive, head, options);
    const bool close = answer->need_eof();
    out.responses.push_back(std::move(*answer));
    if (close) return out;
  }
  return out;
}

}  // namespace kamado::serving::testing
