// ExchangeInMemory: the bytes a client sends on one connection, read as
// HttpServer's connections read them — Beast's parser with the server's
// header and body limits, the bounded read buffer (a trailer held to the
// header limit), CheckRequestHead, the head check, the handler, the server's
// own refusals (RefusalForReadError) and FinishResponse — in memory and on
// the caller's thread, for the request fuzzer and router tests. Not
// modelled: what spans connections (max_buffered_bytes, max_connections),
// timers (header/body timeouts, body_deadline), 100-continue and draining.
#pragma once

#include <string_view>
#include <vector>

#include "serving/http/http_server.h"

namespace kamado::serving::testing {

struct MemoryExchange {
  std::vector<http::Response> responses;  // in the order they would be written
  // The handler returned without answering (this harness needs handlers that
  // answer before they return), or answered twice.
  bool unanswered = false;
  bool answered_twice = false;
  // What the handler threw, if it did (the server answers 500 and goes on).
  bool handler_threw = false;
};

// Reads at most `max_requests` pipelined requests from `bytes` (then the
// connection ends, as when the client closes it).
MemoryExchange ExchangeInMemory(std::string_view bytes, const http::HttpServerOptions& options,
                                const http::Handler& handler, int max_requests = 8);

}  // namespace kamado::serving::testing
