// libFuzzer: raw bytes as a connection delivers them, through the server's
// whole request path — Beast's parser with the server's limits and bounded
// read buffer, CheckRequestHead, the Router's head check and handler, the OIP
// JSON / binary / multipart / base64 / image decoders — over a stub service
// (tests/serving/memory_connection.h, stub_model_service.h; router_memory_test
// shows the harness answers the bad-request corpus as the real server does).
// Nothing may crash or throw, and every answer must be one the server may
// give: each request answered exactly once; no 500 (the stub never fails
// inside); a status from the documented set; a JSON body that parses, with an
// "error" for every 4xx/5xx; Allow on 405; no library internals or source
// paths in any body (unless the client sent them: errors quote what was
// wrong).
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "serving/http/router.h"
#include "serving/http_corpus.h"
#include "serving/memory_connection.h"
#include "serving/stub_model_service.h"

namespace {
namespace bhttp = boost::beast::http;
using namespace kamado::serving;

[[noreturn]] void Fail(const char* what, const http::Response& res) {
  std::fprintf(stderr, "fuzz_http_request: %s: %d %s\n", what, res.result_int(), res.body().substr(0, 400).c_str());
  std::abort();
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// `sent_lower`: the connection's bytes, lower-cased; an error may quote them
// (a path, a header, a media type, which is compared lower-cased).
void Check(const http::Response& res, const std::string& sent_lower) {
  const int status = res.result_int();
  switch (status) {
    case 200: case 400: case 404: case 405: case 413: case 415: case 422: case 431: case 501:
      break;
    default:
      Fail("a status the server must not give here", res);
  }
  const std::string& body = res.body();
  for (const char* leak : testing::kAnswerLeaks) {
    if (body.find(leak) != std::string::npos && sent_lower.find(Lower(leak)) == std::string::npos) Fail(leak, res);
  }
  if (status == 405 && res[bhttp::field::allow].empty()) Fail("405 without Allow", res);
  if (res[bhttp::field::content_type] == "application/json" && !body.empty()) {
    const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded()) Fail("a JSON body that does not parse", res);
    if (status >= 400 && !(j.is_object() && j.contains("error") && j["error"].is_string())) {
      Fail("an error without its message", res);
    }
  }
}

struct Harness {
  Harness() : router(service, metrics) {
    options.max_body_bytes = 1 << 20;  // smaller than the server's, to keep runs fast
    options.check_head = router.AsHeadCheck();
  }
  testing::StubModelService service;
  Metrics metrics;
  http::Router router;
  http::HttpServerOptions options;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness* h = new Harness();  // one server for the whole run, as in production
  const std::string_view sent(reinterpret_cast<const char*>(data), size);
  static const http::Handler handler = h->router.AsHandler();
  const testing::MemoryExchange e = testing::ExchangeInMemory(sent, h->options, handler, 4);
  if (e.unanswered || e.answered_twice || e.handler_threw) {
    std::fprintf(stderr, "fuzz_http_request: a request answered %s\n",
                 e.unanswered ? "never" : e.answered_twice ? "twice" : "by the server's catch (the handler threw)");
    std::abort();
  }
  if (e.responses.empty()) return 0;
  const std::string sent_lower = Lower(sent);
  for (const auto& res : e.responses) Check(res, sent_lower);
  return 0;
}
