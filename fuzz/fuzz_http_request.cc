// libFuzzer: raw bytes as a connection delivers them -> Beast's request
// parser with the server's limits and its bounded read buffer ->
// CheckRequestHead -> the body decoders the router uses (OIP JSON and binary
// extension, multipart, media types, base64). Nothing may throw or crash: a
// length_error out of the parser is what killed the server (issue 14,
// defect 1).
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

#include "serving/http/conformance.h"
#include "core/utf8.h"
#include "serving/http/encoding.h"
#include "serving/http/oip_codec.h"

namespace {
namespace bhttp = boost::beast::http;
using namespace kamado::serving::http;

constexpr size_t kHeaderLimit = 16 << 10;  // HttpServerOptions defaults, but a
constexpr size_t kBodyLimit = 1 << 20;     // smaller body to keep runs fast
constexpr size_t kReadBytes = 16 << 10;    // as http_server.cc

void Bodies(const bhttp::request<bhttp::string_body>& req) {
  const std::string& body = req.body();
  std::optional<size_t> header_length;
  if (auto it = req.find("Inference-Header-Content-Length"); it != req.end()) {
    try {
      header_length = std::stoull(std::string(it->value()));
    } catch (...) {
      return;
    }
  }
  (void)ParseInferRequest(body, header_length, 256);
  const std::string content_type(req[bhttp::field::content_type]);
  (void)MediaType(content_type);
  (void)MediaTypeParameter(content_type, "boundary");
  (void)MultipartField(body, content_type, "file");
  (void)Base64Decode(body);
  (void)kamado::IsValidUtf8(body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Pipelined requests: parse one after another from the same buffer.
  boost::beast::flat_buffer buffer(kHeaderLimit + kReadBytes);
  size_t pos = 0;
  for (int request = 0; request < 4; ++request) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(kBodyLimit);
    boost::beast::error_code ec;
    bool header_checked = false;
    for (;;) {
      if (buffer.size() > 0) {
        const size_t used = parser.put(buffer.data(), ec);
        buffer.consume(used);
      } else {
        ec = bhttp::error::need_more;
      }
      if (!ec && parser.is_header_done() && !header_checked) {
        header_checked = true;
        if (CheckRequestHead(parser.get())) return 0;  // refused: the connection closes
      }
      if (!ec && parser.is_done()) break;
      if (ec && ec != bhttp::error::need_more) return 0;  // answered 4xx, closed
      // Read more, as the server does: at most the room the buffer has.
      if (pos == size) {
        // The connection ends. Beast's read does this only after some bytes
        // of a message (put_eof asserts it); none means a clean close.
        if (!parser.got_some()) return 0;
        parser.put_eof(ec);
        if (ec || !parser.is_done()) return 0;
        break;
      }
      const size_t room = buffer.max_size() - buffer.size();
      if (room == 0) return 0;  // 431: header or trailer over the limit
      const size_t n = std::min({room, kReadBytes, size - pos});
      auto dst = buffer.prepare(n);
      std::memcpy(dst.data(), data + pos, n);
      buffer.commit(n);
      pos += n;
      ec = {};
    }
    if (!header_checked && CheckRequestHead(parser.get())) return 0;
    Bodies(parser.get());
  }
  return 0;
}
