// What the server refuses in a request's head before it reads the body, by
// RFC 9110 and RFC 9112. A pure function of the parsed head, so the fuzzer
// and the server run the same code.
#pragma once

#include <boost/beast/http/message.hpp>
#include <optional>
#include <string>

namespace kamado::serving::http {

struct Refusal {
  int status = 400;
  std::string message;
};

// nullopt when the head is acceptable; otherwise the status and a message
// naming what was wrong:
//   400  the target or a header value is not valid UTF-8 (naming the header);
//        an HTTP/1.1 request without exactly one Host header (RFC 9112 §3.2);
//        Transfer-Encoding together with Content-Length, or a
//        Transfer-Encoding whose last coding is not chunked (RFC 9112 §6.1);
//   501  a transfer coding other than chunked (gzip, deflate, ...), which
//        kamado does not decode (RFC 9112 §6.1: "SHOULD respond with 501").
std::optional<Refusal> CheckRequestHead(const boost::beast::http::request_header<>& head);

}  // namespace kamado::serving::http
