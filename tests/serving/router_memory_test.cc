// The Router over a stub service, fed bytes as a connection reads them
// (memory_connection.h): the harness the request fuzzer runs
// (fuzz/fuzz_http_request.cc). These tests show it answers as the real
// server does — the whole bad-request corpus gets the statuses and errors
// http_hardening_test.cc asserts over loopback — so what the fuzzer checks
// is the server's behaviour, not the harness's.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "core/file_util.h"

#include "image/decode.h"
#include "image/test_images.h"
#include "serving/http/router.h"
#include "serving/http_corpus.h"
#include "serving/memory_connection.h"
#include "serving/stub_model_service.h"

namespace kamado::serving::testing {
namespace {

using nlohmann::json;

// A Router over a StubModelService, with the server's default limits.
struct StubServer {
  explicit StubServer(ServiceOptions options = {}) : service(std::move(options)), router(service, metrics) {
    http_options.check_head = router.AsHeadCheck();
  }
  MemoryExchange Send(std::string_view bytes) { return ExchangeInMemory(bytes, http_options, router.AsHandler()); }
  StubModelService service;
  Metrics metrics;
  http::Router router;
  http::HttpServerOptions http_options;
};

std::string Post(const std::string& target, const std::string& body, const std::string& content_type) {
  return "POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Type: " + content_type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string ErrorOf(const http::Response& r) {
  const json j = json::parse(r.body(), nullptr, false);
  return j.is_object() ? j.value("error", "") : "";
}

TEST(RouterInMemory, TheBadRequestCorpusGetsTheRealServersAnswers) {
  StubServer s;
  const std::vector<CorpusCase> cases = BadRequestCorpus();
  ASSERT_GE(cases.size(), 32u);
  for (const auto& c : cases) {
    ASSERT_FALSE(c.bytes.empty()) << c.file;
    MemoryExchange e = s.Send(c.bytes);
    EXPECT_FALSE(e.unanswered || e.answered_twice || e.handler_threw) << c.file;
    ASSERT_EQ(e.responses.size(), 1u) << c.file;
    const http::Response& r = e.responses.front();
    EXPECT_EQ(r.result_int(), c.status) << c.file << ": " << r.body();
    EXPECT_NE(ErrorOf(r).find(c.needle), std::string::npos) << c.file << ": " << r.body();
    for (const char* leak : kAnswerLeaks) EXPECT_EQ(r.body().find(leak), std::string::npos) << c.file << ": " << leak;
    if (r.result_int() == 405) {
      EXPECT_FALSE(r[boost::beast::http::field::allow].empty()) << c.file;
    }
  }
  // Only requests that may run reach a model: a model whose input and shape
  // are right (none in the corpus but obs_fold, which is not a model's).
  EXPECT_EQ(s.service.submits(), 2) << "classify_text and bytes_not_an_image reach the decoders";
}

TEST(RouterInMemory, TinyModelAnswersInferAndClassify) {
  StubServer s;
  const std::string infer =
      R"({"inputs":[{"name":"pixels","datatype":"FP32","shape":[2,2,2,3],"data":[)" + std::string("0") +
      [] {
        std::string v;
        for (int i = 1; i < 24; ++i) v += "," + std::to_string(i);
        return v;
      }() + "]}]}";
  MemoryExchange e = s.Send(Post("/v2/models/tiny/infer", infer, "application/json"));
  ASSERT_EQ(e.responses.size(), 1u);
  ASSERT_EQ(e.responses[0].result_int(), 200) << e.responses[0].body();
  const json out = json::parse(e.responses[0].body());
  EXPECT_EQ(out["outputs"][0]["name"], "probs");
  EXPECT_EQ(out["outputs"][0]["shape"], json::array({2, 3}));

  const auto jpeg = image::testimg::EncodeJpeg(image::testimg::SmoothRgb(8, 8, 1), 8, 8);
  e = s.Send(Post("/v2/models/tiny/classify?top_k=2", std::string(jpeg.begin(), jpeg.end()), "image/jpeg"));
  ASSERT_EQ(e.responses.size(), 1u);
  ASSERT_EQ(e.responses[0].result_int(), 200) << e.responses[0].body();
  const json c = json::parse(e.responses[0].body());
  EXPECT_EQ(c["label"], "c");
  EXPECT_EQ(c["top"].size(), 2u);
  EXPECT_EQ(c["verdict"]["name"], "is_c");
  EXPECT_EQ(s.service.decoded(), 1);
}

TEST(RouterInMemory, PipelinedRequestsAreAnsweredInOrderAndHeadHasNoBody) {
  StubServer s;
  MemoryExchange e = s.Send(
      "GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n"
      "HEAD /v2/models/tiny HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /v2/models/nope HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(e.responses.size(), 3u);
  EXPECT_EQ(e.responses[0].result_int(), 200);
  EXPECT_EQ(e.responses[0].body(), R"({"live":true})");
  EXPECT_EQ(e.responses[1].result_int(), 200);
  EXPECT_TRUE(e.responses[1].body().empty());
  EXPECT_GT(std::stoul(std::string(e.responses[1][boost::beast::http::field::content_length])), 20u);
  EXPECT_EQ(e.responses[2].result_int(), 404);
}

// A tensor of the wrong row shape that gets past a front-end (the Router
// refuses it first, in its own words: "input 'pixels' must have shape …") is
// refused by Submit with CheckRowShape's message, the real service's and
// the stub's alike, naming both shapes, and never runs.
TEST(ModelServiceRows, SubmitRefusesAnotherRowShapeNamingBoth) {
  StubModelService service;
  auto tiny = service.FindModel("tiny");
  ASSERT_TRUE(tiny.ok()) << tiny.status().ToString();
  const std::string want = "model 'tiny' takes tensors of shape [?, 2, 2, 3], got [1, 3, 2, 2]";
  EXPECT_EQ(CheckRowShape(**tiny, {1, 3, 2, 2}).message(), want);
  EXPECT_TRUE(CheckRowShape(**tiny, {5, 2, 2, 3}).ok());
  EXPECT_FALSE(CheckRowShape(**tiny, {2, 2, 3}).ok());
  bool ran = false;
  Status s = service.Submit(**tiny, Tensor({1, 3, 2, 2}), [&](Result<JobOutput>) { ran = true; }, Clock::now(), {});
  EXPECT_EQ(s.message(), want);
  EXPECT_FALSE(ran);
  EXPECT_EQ(service.submits(), 0);
}

// Defect 6 through the harness: more rows than the queue can ever hold is
// 413 at once, and nothing of it reaches a model.
TEST(RouterInMemory, RowsOverTheQueueAre413AndNeverRun) {
  ServiceOptions o;
  o.max_queue = 2;
  StubServer s(o);
  std::string data = "0";
  for (int i = 1; i < 3 * 12; ++i) data += ",0";
  MemoryExchange e = s.Send(Post("/v2/models/tiny/infer",
                                 R"({"inputs":[{"name":"pixels","datatype":"FP32","shape":[3,2,2,3],"data":[)" +
                                     data + "]}]}",
                                 "application/json"));
  ASSERT_EQ(e.responses.size(), 1u);
  EXPECT_EQ(e.responses[0].result_int(), 413) << e.responses[0].body();
  EXPECT_NE(ErrorOf(e.responses[0]).find("max_queue 2"), std::string::npos) << e.responses[0].body();
  EXPECT_EQ(s.service.submits(), 0);
}

// A request cut off mid-body gets no answer and the connection just closes,
// as on a real socket; a header over the limit is 431.
TEST(RouterInMemory, ACutOffBodyClosesAndAnOversizedHeaderIs431) {
  StubServer s;
  std::string cut = Post("/v2/models/tiny/infer", std::string(100, '{'), "application/json");
  cut.resize(cut.size() - 10);
  EXPECT_TRUE(s.Send(cut).responses.empty());
  MemoryExchange e = s.Send("GET /v2 HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
  ASSERT_EQ(e.responses.size(), 1u);
  EXPECT_EQ(e.responses[0].result_int(), 431);
}

// The fuzzer's seeds of success paths (fuzz/seeds/make_http_seeds.py): each
// request in each still gets 200, or the fuzzer would start from errors.
TEST(RouterInMemory, TheFuzzersSeedsAreAnswered200) {
  StubServer s;
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator("fuzz/seeds/http")) {
    ++files;
    auto bytes = ReadFile(entry.path());
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    MemoryExchange e = s.Send(*bytes);
    ASSERT_FALSE(e.responses.empty()) << entry.path();
    for (const auto& r : e.responses) EXPECT_EQ(r.result_int(), 200) << entry.path() << ": " << r.body();
  }
  EXPECT_GE(files, 7);
}

}  // namespace
}  // namespace kamado::serving::testing
