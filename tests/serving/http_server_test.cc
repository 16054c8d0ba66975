// The HTTP server over loopback, in process: every endpoint and error code,
// /classify against the in-process Session, batching under concurrent load,
// overload, deadlines, keep-alive, pipelining and read timeouts.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/file_util.h"
#include "image/decode.h"
#include "image/preprocess.h"
#include "runtime/session.h"
#include "serving/http/encoding.h"
#include "serving/http/router.h"
#include "serving/http/http_server.h"
#include "serving/http/http_client.h"
#include "serving/inference_service.h"
#include "serving/metrics.h"
#include "serving/serving_test_util.h"
#include "testutil/test_data.h"
#include "tests/image/test_images.h"

namespace kamado::serving {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::FileBytes;
using testing::MetricValue;
using testing::TestServer;

const fs::path kModel = "models/mobilenet_v2";
const std::vector<std::string> kImages = {"data/images/chelsea.png", "data/images/coffee.png",
                                          "data/images/astronaut.png", "data/images/rocket.jpg",
                                          "data/images/hubble_deep_field.jpg"};

// What the in-process Session says for `path` (decode + preprocess + run).
std::vector<float> Expected(const InferenceService& service, const std::string& path) {
  const ServedModel* model = *service.Find("mobilenet_v2");
  const std::string bytes = FileBytes(path);
  auto item = service.PrepareImages(
      *model, {{reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}});
  EXPECT_TRUE(item.ok()) << item.status().ToString();
  runtime::Session session(model->shared_compiled(), runtime::SessionOptions{.threads = 1});
  auto out = session.Run({*item});
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return std::vector<float>(out->front().data(), out->front().data() + out->front().size());
}

void ExpectClose(const json& got, const std::vector<float>& want, double tol, const std::string& what) {
  ASSERT_TRUE(got.is_array()) << what;
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(got[i].get<double>(), want[i], tol) << what << " class " << i;
  }
}

std::string ErrorOf(const http::HttpResponse& r) {
  try {
    return json::parse(r.body).value("error", "");
  } catch (...) {
    return "";
  }
}

class HttpServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(kModel / "kamado.yaml")) return;
    ServiceOptions o;
    o.sessions = 1;
    o.threads = 1;
    o.max_batch = 8;
    o.batch_delay_us = 20000;  // wide, so concurrent requests batch on a small machine
    o.max_queue = 256;
    http::HttpServerOptions h;
    h.max_body_bytes = 8 << 20;  // a JSON [1,224,224,3] tensor is ~3 MiB
    h.io_threads = 2;
    server_ = new TestServer(o, h);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    KAMADO_REQUIRE_DATA(kModel / "kamado.yaml");
    for (const auto& i : kImages) KAMADO_REQUIRE_DATA(i);
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(server_->server, nullptr);
  }
  static TestServer* server_;
};
TestServer* HttpServerTest::server_ = nullptr;

TEST_F(HttpServerTest, HealthAndMetadata) {
  http::HttpClient c = server_->Client();
  auto r = c.Get("/v2");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["name"], "kamado");
  EXPECT_EQ(c.Get("/v2/health/live")->status, 200);
  EXPECT_EQ(c.Get("/v2/health/ready")->status, 200);
  r = c.Get("/v2/models/mobilenet_v2");
  EXPECT_EQ(r->status, 200);
  const json meta = json::parse(r->body);
  EXPECT_EQ(meta["name"], "mobilenet_v2");
  EXPECT_EQ(meta["inputs"][0]["shape"], json({-1, 224, 224, 3}));
  EXPECT_EQ(meta["outputs"][0]["shape"], json({-1, 5}));
  EXPECT_EQ(c.Get("/v2/models/mobilenet_v2/versions/1")->status, 200);
  EXPECT_EQ(c.Get("/v2/models/mobilenet_v2/ready")->status, 200);
  EXPECT_EQ(c.Get("/v2/models/mobilenet_v2/versions/1/ready")->status, 200);
}

TEST_F(HttpServerTest, NotFoundAndWrongMethod) {
  http::HttpClient c = server_->Client();
  auto r = c.Get("/v2/models/resnet");
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(ErrorOf(*r).find("resnet"), std::string::npos) << r->body;
  r = c.Post("/v2/models/resnet/classify", FileBytes(kImages[0]), "image/png");
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(c.Get("/v2/models/mobilenet_v2/versions/2")->status, 404);
  EXPECT_EQ(c.Get("/nope")->status, 404);
  r = c.Get("/v2/models/mobilenet_v2/infer");
  EXPECT_EQ(r->status, 405);
  EXPECT_FALSE(ErrorOf(*r).empty());
}

TEST_F(HttpServerTest, ClassifyMatchesTheInProcessSession) {
  http::HttpClient c = server_->Client();
  for (const std::string& path : kImages) {
    const std::vector<float> want = Expected(*server_->service, path);
    const std::string type = path.ends_with(".png") ? "image/png" : "image/jpeg";
    auto r = c.Post("/v2/models/mobilenet_v2/classify", FileBytes(path), type);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->status, 200) << r->body;
    const json j = json::parse(r->body);
    EXPECT_EQ(j["model_name"], "mobilenet_v2");
    ExpectClose(j["probabilities"], want, 1e-5, path);
    const int best = static_cast<int>(std::max_element(want.begin(), want.end()) - want.begin());
    const std::vector<std::string> labels = {"Drawing", "Hentai", "Neutral", "Porn", "Sexy"};
    EXPECT_EQ(j["label"], labels[static_cast<size_t>(best)]) << path;
    EXPECT_EQ(j["top"][0]["label"], j["label"]);
    EXPECT_EQ(j["top"].size(), 3u);
    for (const char* k : {"queue", "decode", "infer", "total"}) EXPECT_TRUE(j["timing_ms"].contains(k));
    EXPECT_FALSE(j.contains("verdict"));  // the default models have no decision block
  }
}

TEST_F(HttpServerTest, ClassifyAcceptsMultipartAndOctetStream) {
  http::HttpClient c = server_->Client();
  const std::string image = FileBytes(kImages[0]);
  const std::vector<float> want = Expected(*server_->service, kImages[0]);
  const std::string body = "--BOUNDARY\r\nContent-Disposition: form-data; name=\"file\"; "
                           "filename=\"chelsea.png\"\r\nContent-Type: image/png\r\n\r\n" +
                           image + "\r\n--BOUNDARY--\r\n";
  auto r = c.Post("/v2/models/mobilenet_v2/classify?top_k=5", body,
                  "multipart/form-data; boundary=BOUNDARY");
  ASSERT_EQ(r->status, 200) << r->body;
  ExpectClose(json::parse(r->body)["probabilities"], want, 1e-5, "multipart");
  EXPECT_EQ(json::parse(r->body)["top"].size(), 5u);
  r = c.Post("/v2/models/mobilenet_v2/classify", image, "application/octet-stream");
  ASSERT_EQ(r->status, 200) << r->body;
}

// A WebP upload: decoded server-side like any image, and answered with what
// the in-process path (decode with the model's options, preprocess, Session)
// gives for the same bytes. Lossless from chelsea.png, lossy from astronaut.png
// (512×512: decoded through libwebp's scaler, as the model's options ask).
TEST_F(HttpServerTest, ClassifyAcceptsWebp) {
  http::HttpClient c = server_->Client();
  const ServedModel& model = **server_->service->Find("mobilenet_v2");
  runtime::Session session(model.shared_compiled(), runtime::SessionOptions{.threads = 1});
  for (const auto& [path, quality] : {std::pair<std::string, float>{kImages[0], -1.0f},
                                      std::pair<std::string, float>{kImages[2], 90.0f}}) {
    const std::string png = FileBytes(path);
    auto decoded = image::DecodeImage({reinterpret_cast<const uint8_t*>(png.data()), png.size()});
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    const image::testimg::Bytes webp =
        image::testimg::EncodeWebp(decoded->rgb, decoded->width, decoded->height, 3, quality);
    ASSERT_EQ(image::SniffImageFormat(webp), image::ImageFormat::kWebp);

    auto image = image::DecodeImage(webp, model.decode());
    ASSERT_TRUE(image.ok()) << image.status().ToString();
    auto item = image::Preprocess(*image, model.preprocess());
    ASSERT_TRUE(item.ok()) << item.status().ToString();
    auto out = session.Run({*item});
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    const std::vector<float> want(out->front().data(), out->front().data() + out->front().size());

    const std::string body(webp.begin(), webp.end());
    const std::string what = path + (quality < 0 ? " (lossless WebP)" : " (lossy WebP)");
    auto r = c.Post("/v2/models/mobilenet_v2/classify", body, "image/webp");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->status, 200) << what << ": " << r->body;
    const json j = json::parse(r->body);
    ExpectClose(j["probabilities"], want, 1e-5, what);
    const int best = static_cast<int>(std::max_element(want.begin(), want.end()) - want.begin());
    EXPECT_EQ(j["label"], model.config().labels[static_cast<size_t>(best)]) << what;
    // The same bytes as octet-stream: the format is sniffed, not taken from the type.
    r = c.Post("/v2/models/mobilenet_v2/classify", body, "application/octet-stream");
    ASSERT_EQ(r->status, 200) << what << ": " << r->body;
    ExpectClose(json::parse(r->body)["probabilities"], want, 1e-5, what + " as octet-stream");
  }
}

TEST_F(HttpServerTest, ClassifyErrors) {
  http::HttpClient c = server_->Client();
  // Not an image at all.
  auto r = c.Post("/v2/models/mobilenet_v2/classify", "hello, this is text", "application/octet-stream");
  EXPECT_EQ(r->status, 400);
  EXPECT_FALSE(ErrorOf(*r).empty()) << r->body;
  // A format kamado does not decode.
  r = c.Post("/v2/models/mobilenet_v2/classify", "GIF89a\x01\x00\x01\x00", "image/gif");
  EXPECT_EQ(r->status, 415);
  r = c.Post("/v2/models/mobilenet_v2/classify", std::string("GIF89a\x01\x00\x01\x00\x00\x00", 12),
             "application/octet-stream");
  EXPECT_EQ(r->status, 422) << r->body;
  EXPECT_NE(ErrorOf(*r).find("GIF"), std::string::npos) << r->body;
  // Wrong content type.
  r = c.Post("/v2/models/mobilenet_v2/classify", "{}", "application/json");
  EXPECT_EQ(r->status, 415);
  EXPECT_NE(ErrorOf(*r).find("application/json"), std::string::npos);
  // Empty body; multipart without the field; truncated PNG.
  EXPECT_EQ(c.Post("/v2/models/mobilenet_v2/classify", "", "image/png")->status, 400);
  r = c.Post("/v2/models/mobilenet_v2/classify", "--B\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--B--\r\n",
             "multipart/form-data; boundary=B");
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(ErrorOf(*r).find("file"), std::string::npos);
  const std::string png = FileBytes(kImages[0]);
  EXPECT_EQ(c.Post("/v2/models/mobilenet_v2/classify", png.substr(0, png.size() / 2), "image/png")->status, 400);
  EXPECT_EQ(c.Post("/v2/models/mobilenet_v2/classify?top_k=0", png, "image/png")->status, 400);
  // The connection still works after errors.
  EXPECT_EQ(c.Get("/v2/health/live")->status, 200);
}

TEST_F(HttpServerTest, BodyOverTheLimitIs413) {
  http::HttpClient c = server_->Client();
  auto r = c.Post("/v2/models/mobilenet_v2/classify", std::string(9 << 20, 'x'), "image/png");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(ErrorOf(*r).find("limit"), std::string::npos) << r->body;
  // A new connection is served normally.
  EXPECT_EQ(c.Get("/v2/health/live")->status, 200);
}

// The tensor the model sees for kImages[0], as the client would send it.
Tensor Preprocessed(const InferenceService& service, const std::string& path) {
  const std::string bytes = FileBytes(path);
  auto t = service.PrepareImages(**service.Find("mobilenet_v2"),
                                 {{reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}});
  EXPECT_TRUE(t.ok());
  return *t;
}

TEST_F(HttpServerTest, InferWithJsonTensor) {
  http::HttpClient c = server_->Client();
  const ServedModel& model = **server_->service->Find("mobilenet_v2");
  const std::string input = model.compiled().inputs().front().name;
  const std::string output = model.compiled().outputs().front().name;
  const Tensor t = Preprocessed(*server_->service, kImages[0]);
  const std::vector<float> want = Expected(*server_->service, kImages[0]);
  json req{{"id", "r1"},
           {"inputs", {{{"name", input}, {"datatype", "FP32"}, {"shape", {1, 224, 224, 3}},
                        {"data", std::vector<float>(t.data(), t.data() + t.size())}}}}};
  auto r = c.Post("/v2/models/mobilenet_v2/infer", req.dump(), "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  json j = json::parse(r->body);
  EXPECT_EQ(j["id"], "r1");
  EXPECT_EQ(j["outputs"][0]["name"], output);
  EXPECT_EQ(j["outputs"][0]["shape"], json({1, 5}));
  ExpectClose(j["outputs"][0]["data"], want, 1e-5, "infer json");

  // Same, through /versions/1, asking for the top 2 as "score:index:label".
  req["outputs"] = {{{"name", output}, {"parameters", {{"classification", 2}}}}};
  r = c.Post("/v2/models/mobilenet_v2/versions/1/infer", req.dump(), "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  j = json::parse(r->body);
  EXPECT_EQ(j["outputs"][0]["datatype"], "BYTES");
  EXPECT_EQ(j["outputs"][0]["shape"], json({1, 2}));
  const std::string first = j["outputs"][0]["data"][0];
  const int best = static_cast<int>(std::max_element(want.begin(), want.end()) - want.begin());
  EXPECT_NE(first.find(":" + std::to_string(best) + ":"), std::string::npos) << first;
  EXPECT_NEAR(std::stod(first.substr(0, first.find(':'))), want[static_cast<size_t>(best)], 1e-5);
}

TEST_F(HttpServerTest, InferWithBinaryTensorsAndEncodedImages) {
  http::HttpClient c = server_->Client();
  const ServedModel& model = **server_->service->Find("mobilenet_v2");
  const std::string input = model.compiled().inputs().front().name;
  const std::string output = model.compiled().outputs().front().name;
  const Tensor t = Preprocessed(*server_->service, kImages[1]);
  const std::vector<float> want = Expected(*server_->service, kImages[1]);

  // FP32 binary in, FP32 binary out.
  const std::string header =
      json{{"inputs", {{{"name", input}, {"datatype", "FP32"}, {"shape", {1, 224, 224, 3}},
                        {"parameters", {{"binary_data_size", t.size() * 4}}}}}},
           {"outputs", {{{"name", output}, {"parameters", {{"binary_data", true}}}}}}}
          .dump();
  std::string body = header + std::string(reinterpret_cast<const char*>(t.data()), t.size() * 4);
  auto r = c.Request("POST", "/v2/models/mobilenet_v2/infer", body, "application/octet-stream",
                     {{"Inference-Header-Content-Length", std::to_string(header.size())}});
  ASSERT_EQ(r->status, 200) << r->body;
  const size_t n = std::stoul(r->header("inference-header-content-length"));
  const json j = json::parse(r->body.substr(0, n));
  EXPECT_EQ(j["outputs"][0]["parameters"]["binary_data_size"], 20);
  ASSERT_EQ(r->body.size(), n + 20);
  std::vector<float> got(5);
  std::memcpy(got.data(), r->body.data() + n, 20);
  for (size_t i = 0; i < 5; ++i) EXPECT_NEAR(got[i], want[i], 1e-5);

  // Two encoded images as a BYTES tensor, base64 in JSON: batch of 2.
  const std::vector<float> want0 = Expected(*server_->service, kImages[0]);
  json req{{"inputs", {{{"name", input}, {"datatype", "BYTES"}, {"shape", {2}},
                        {"data", {http::Base64Encode(FileBytes(kImages[0])),
                                  http::Base64Encode(FileBytes(kImages[1]))}}}}}};
  r = c.Post("/v2/models/mobilenet_v2/infer", req.dump(), "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  json out = json::parse(r->body)["outputs"][0];
  EXPECT_EQ(out["shape"], json({2, 5}));
  std::vector<float> both = want0;
  both.insert(both.end(), want.begin(), want.end());
  ExpectClose(out["data"], both, 1e-4, "bytes json");

  // BYTES through the binary extension (4-byte length prefix per element).
  const std::string png = FileBytes(kImages[1]);
  std::string element(4, '\0');
  for (int i = 0; i < 4; ++i) element[static_cast<size_t>(i)] = static_cast<char>((png.size() >> (8 * i)) & 0xFF);
  element += png;
  const std::string h2 = json{{"inputs", {{{"name", input}, {"datatype", "BYTES"}, {"shape", {1}},
                                           {"parameters", {{"binary_data_size", element.size()}}}}}}}
                             .dump();
  r = c.Request("POST", "/v2/models/mobilenet_v2/infer", h2 + element, "application/octet-stream",
                {{"Inference-Header-Content-Length", std::to_string(h2.size())}});
  ASSERT_EQ(r->status, 200) << r->body;
  ExpectClose(json::parse(r->body)["outputs"][0]["data"], want, 1e-5, "bytes binary");
}

TEST_F(HttpServerTest, InferErrors) {
  http::HttpClient c = server_->Client();
  const std::string input = (*server_->service->Find("mobilenet_v2"))->compiled().inputs().front().name;
  auto post = [&](const std::string& body) { return c.Post("/v2/models/mobilenet_v2/infer", body, "application/json"); };
  auto r = post("{not json");
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(ErrorOf(*r).find("JSON"), std::string::npos);
  r = post(json{{"inputs", {{{"name", input}, {"datatype", "FP32"}, {"shape", {1, 2}}, {"data", {1, 2}}}}}}.dump());
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(ErrorOf(*r).find("shape"), std::string::npos) << r->body;
  r = post(json{{"inputs", {{{"name", "nope"}, {"datatype", "FP32"}, {"shape", {1}}, {"data", {1}}}}}}.dump());
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(ErrorOf(*r).find("nope"), std::string::npos);
  r = post(json{{"inputs", {{{"name", input}, {"datatype", "INT64"}, {"shape", {1}}, {"data", {1}}}}}}.dump());
  EXPECT_EQ(r->status, 422);
  r = post(json{{"inputs", {{{"name", input}, {"datatype", "BYTES"}, {"shape", {1}},
                             {"data", {http::Base64Encode("not an image")}}}}}}.dump());
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(ErrorOf(*r).find("element 0"), std::string::npos) << r->body;
}

// Every counter moves by what one request does, and nothing else does.
TEST_F(HttpServerTest, MetricsExport) {
  http::HttpClient c = server_->Client();
  const std::string m = "{model=\"mobilenet_v2\"}";
  auto before = c.Get("/metrics");
  ASSERT_EQ(before->status, 200);
  EXPECT_NE(before->header("content-type").find("text/plain"), std::string::npos);
  ASSERT_EQ(c.Post("/v2/models/mobilenet_v2/classify", FileBytes(kImages[0]), "image/png")->status, 200);
  auto after = c.Get("/metrics");
  ASSERT_EQ(after->status, 200);
  // A series appears with its first sample: absent before means 0.
  auto moved = [&](const std::string& series) {
    const double a = MetricValue(before->body, series), b = MetricValue(after->body, series);
    EXPECT_GE(b, 0) << series << " is missing\n" << after->body;
    return b - std::max(a, 0.0);
  };
  EXPECT_EQ(moved("kamado_requests_total{model=\"mobilenet_v2\",code=\"200\"}"), 1);
  for (const char* family : {"kamado_request_duration_seconds_count", "kamado_queue_duration_seconds_count",
                             "kamado_decode_duration_seconds_count", "kamado_infer_duration_seconds_count",
                             "kamado_batch_size_count"}) {
    EXPECT_EQ(moved(family + m), 1) << family;
  }
  EXPECT_EQ(moved("kamado_batch_size_sum" + m), 1);  // one run of one row
  EXPECT_GT(moved("kamado_decode_duration_seconds_sum" + m), 0);
  // Scraped while answering only the scrape itself; nothing queued.
  EXPECT_EQ(MetricValue(after->body, "kamado_in_flight_requests"), 1);
  EXPECT_EQ(MetricValue(after->body, "kamado_queue_depth" + m), 0);
  EXPECT_GE(moved("process_cpu_seconds_total"), 0);
  EXPECT_GT(MetricValue(after->body, "process_resident_memory_bytes"), 1e7);  // the model alone
}

// 10,000 one-pixel images in one request: refused with 400 naming the limit
// before a single decode (counted by the decoder), in JSON and in the binary
// extension. 20 images: one job of 20 rows, run as 8 + 8 + 4 (max batch 8),
// answered as one [20, 5] output that matches each image run alone.
TEST_F(HttpServerTest, RowsPerRequestAreLimitedBeforeDecodingAndRunAsOneJob) {
  http::HttpClient c = server_->Client();
  const ServedModel& model = **server_->service->Find("mobilenet_v2");
  const std::string input = model.compiled().inputs().front().name;
  std::vector<std::string> pngs;
  for (int i = 0; i < 20; ++i) {
    const uint8_t px[3] = {static_cast<uint8_t>(12 * i), static_cast<uint8_t>(255 - 9 * i), 77};
    const image::testimg::Bytes png = image::testimg::EncodePng({.width = 1, .height = 1}, px, 3);
    pngs.emplace_back(png.begin(), png.end());
  }

  json many = json::array();
  for (int i = 0; i < 10000; ++i) many.push_back(http::Base64Encode(pngs[i % 20]));
  const uint64_t decodes = image::DecodeImageCalls();
  auto r = c.Post("/v2/models/mobilenet_v2/infer",
                  json{{"inputs", {{{"name", input}, {"datatype", "BYTES"}, {"shape", {10000}},
                                    {"data", many}}}}}.dump(),
                  "application/json");
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_NE(ErrorOf(*r).find("over the limit of 256"), std::string::npos) << r->body;
  std::string elements;
  for (int i = 0; i < 10000; ++i) {
    const std::string& png = pngs[i % 20];
    for (int b = 0; b < 4; ++b) elements.push_back(static_cast<char>((png.size() >> (8 * b)) & 0xFF));
    elements += png;
  }
  const std::string header =
      json{{"inputs", {{{"name", input}, {"datatype", "BYTES"}, {"shape", {10000}},
                        {"parameters", {{"binary_data_size", elements.size()}}}}}}}.dump();
  r = c.Request("POST", "/v2/models/mobilenet_v2/infer", header + elements, "application/octet-stream",
                {{"Inference-Header-Content-Length", std::to_string(header.size())}});
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_NE(ErrorOf(*r).find("over the limit of 256"), std::string::npos) << r->body;
  EXPECT_EQ(image::DecodeImageCalls(), decodes) << "a refused request was decoded";

  auto before = c.Get("/metrics");
  json twenty = json::array();
  for (const std::string& png : pngs) twenty.push_back(http::Base64Encode(png));
  r = c.Post("/v2/models/mobilenet_v2/infer",
             json{{"inputs", {{{"name", input}, {"datatype", "BYTES"}, {"shape", {20}},
                               {"data", twenty}}}}}.dump(),
             "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(image::DecodeImageCalls(), decodes + 20);
  auto after = c.Get("/metrics");
  const std::string m = "{model=\"mobilenet_v2\"}";
  auto moved = [&](const std::string& series) {
    return MetricValue(after->body, series) - std::max(MetricValue(before->body, series), 0.0);
  };
  EXPECT_EQ(moved("kamado_batch_size_count" + m), 3);  // 8 + 8 + 4
  EXPECT_EQ(moved("kamado_batch_size_sum" + m), 20);
  EXPECT_EQ(moved("kamado_decode_duration_seconds_count" + m), 20);
  const json out = json::parse(r->body)["outputs"][0];
  ASSERT_EQ(out["shape"], json({20, 5}));
  runtime::Session session(model.shared_compiled(), runtime::SessionOptions{.threads = 1});
  for (int i = 0; i < 20; ++i) {
    auto row = server_->service->PrepareImages(
        model, {{reinterpret_cast<const uint8_t*>(pngs[i].data()), pngs[i].size()}});
    ASSERT_TRUE(row.ok()) << row.status().ToString();
    auto want = session.Run({*row});
    ASSERT_TRUE(want.ok());
    for (int k = 0; k < 5; ++k) {
      EXPECT_NEAR(out["data"][static_cast<size_t>(i * 5 + k)].get<double>(), want->front()[k], 1e-5)
          << "image " << i << " class " << k;
    }
  }
}

// Concurrent requests share a run and each gets its own answer. With a batch
// delay of 1000 s and max batch 8, a batch forms only when 8 rows are queued:
// 8 clients × 2 rounds give exactly 2 runs of 8, however slow the machine.
TEST(HttpServerBatching, ConcurrentRequestsFormOneBatchAndGetTheirOwnAnswers) {
  KAMADO_REQUIRE_DATA(kModel / "kamado.yaml");
  for (const auto& i : kImages) KAMADO_REQUIRE_DATA(i);
  ServiceOptions o;
  o.sessions = 1;
  o.threads = 1;
  o.max_batch = 8;
  o.batch_delay_us = 1'000'000'000;  // never the reason a batch starts
  o.timeout_ms = 0;
  TestServer server(o);
  ASSERT_NE(server.server, nullptr);
  std::vector<std::vector<float>> want;
  for (const auto& path : kImages) want.push_back(Expected(*server.service, path));
  http::HttpClient probe = server.Client();
  const std::string before = probe.Get("/metrics")->body;

  constexpr int kClients = 8, kRounds = 2;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<std::thread> threads;
    std::atomic<int> ok{0};
    for (int t = 0; t < kClients; ++t) {
      threads.emplace_back([&, t] {
        http::HttpClient c = server.Client();
        const size_t img = static_cast<size_t>(t + round) % kImages.size();
        auto r = c.Post("/v2/models/mobilenet_v2/classify", FileBytes(kImages[img]),
                        "application/octet-stream");
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        ASSERT_EQ(r->status, 200) << r->body;
        const json j = json::parse(r->body);
        EXPECT_EQ(j["batch_size"], kClients);
        // A batched run may round differently from batch 1, but each answer
        // must be its own image's.
        ExpectClose(j["probabilities"], want[img], 1e-4, kImages[img]);
        ++ok;
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(ok.load(), kClients);
  }
  const std::string after = probe.Get("/metrics")->body;
  const std::string m = "{model=\"mobilenet_v2\"}";
  auto moved = [&](const std::string& series) {
    return MetricValue(after, series) - std::max(MetricValue(before, series), 0.0);
  };
  EXPECT_EQ(moved("kamado_batch_size_count" + m), kRounds);
  EXPECT_EQ(moved("kamado_batch_size_sum" + m), kRounds * kClients);
  EXPECT_EQ(moved("kamado_requests_total{model=\"mobilenet_v2\",code=\"200\"}"), kRounds * kClients);
}

TEST_F(HttpServerTest, KeepAliveAndPipelining) {
  namespace net = boost::asio;
  net::io_context ioc;
  net::ip::tcp::socket socket(ioc);
  socket.connect({net::ip::make_address("127.0.0.1"), server_->port()});
  const std::string two = "GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n"
                          "GET /v2/models/mobilenet_v2/ready HTTP/1.1\r\nHost: x\r\n\r\n";
  net::write(socket, net::buffer(two));
  std::string got;
  char buf[4096];
  boost::system::error_code ec;
  while (got.find("\"ready\"") == std::string::npos) {
    const size_t n = socket.read_some(net::buffer(buf), ec);
    if (ec) break;
    got.append(buf, n);
  }
  const size_t first = got.find("HTTP/1.1 200");
  ASSERT_NE(first, std::string::npos) << got;
  EXPECT_NE(got.find("HTTP/1.1 200", first + 1), std::string::npos) << got;
  EXPECT_LT(got.find("\"live\""), got.find("\"ready\"")) << "responses out of order";
}

TEST(HttpServerLimits, SlowHeaderIsCutOffAndDeadlinesGive504) {
  KAMADO_REQUIRE_DATA(kModel / "kamado.yaml");
  KAMADO_REQUIRE_DATA(kImages[0]);
  ServiceOptions o;
  o.sessions = 1;
  o.threads = 1;
  o.batch_delay_us = 300000;  // a lone request waits 300 ms for company...
  o.max_batch = 4;
  o.timeout_ms = 1;           // ...past its 1 ms deadline, so it never runs
  http::HttpServerOptions h;
  h.header_timeout = std::chrono::milliseconds(300);
  TestServer s(o, h);
  ASSERT_NE(s.server, nullptr);
  http::HttpClient c = s.Client();
  auto r = c.Post("/v2/models/mobilenet_v2/classify", FileBytes(kImages[0]), "image/png");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 504) << r->body;
  EXPECT_NE(ErrorOf(*r).find("deadline"), std::string::npos) << r->body;
  EXPECT_EQ(MetricValue(c.Get("/metrics")->body, "kamado_infer_duration_seconds_count{model=\"mobilenet_v2\"}"),
            -1) << "the expired request ran";

  // Slowloris: half a header, then silence; the server closes the connection.
  namespace net = boost::asio;
  net::io_context ioc;
  net::ip::tcp::socket socket(ioc);
  socket.connect({net::ip::make_address("127.0.0.1"), s.port()});
  net::write(socket, net::buffer(std::string("GET /v2 HTTP/1.1\r\nHost: x\r\n")));
  char buf[256];
  boost::system::error_code ec;
  socket.read_some(net::buffer(buf), ec);  // returns when the server closes
  EXPECT_TRUE(ec == net::error::eof || ec == net::error::connection_reset) << ec.message();
}

// Overload, made exact: with a 1000 s batch delay and max batch 8 the worker
// never starts while 4 rows (the whole queue) wait, so the next requests find
// the queue full and get 503 with Retry-After; when the server drains, the
// 4 queued requests run and get 200. Nothing else is ever answered.
TEST(HttpServerLimits, OverloadGivesOnly200And503) {
  KAMADO_REQUIRE_DATA(kModel / "kamado.yaml");
  KAMADO_REQUIRE_DATA(kImages[0]);
  ServiceOptions o;
  o.sessions = 1;
  o.threads = 1;
  o.max_batch = 8;
  o.batch_delay_us = 1'000'000'000;
  o.max_queue = 4;
  o.timeout_ms = 0;
  TestServer s(o);
  ASSERT_NE(s.server, nullptr);
  const std::string image = FileBytes(kImages[0]);
  const std::string depth = "kamado_queue_depth{model=\"mobilenet_v2\"}";
  std::vector<std::thread> queued;
  std::vector<int> codes(4, 0);
  for (int t = 0; t < 4; ++t) {
    queued.emplace_back([&, t] {
      http::HttpClient c = s.Client();
      auto r = c.Post("/v2/models/mobilenet_v2/classify", image, "image/png");
      codes[static_cast<size_t>(t)] = r.ok() ? r->status : -1;
    });
  }
  http::HttpClient c = s.Client();
  // Wait (by state, not by time) until all four are queued.
  double d = 0;
  for (int polls = 0; polls < 10000 && d < 4; ++polls) {
    d = MetricValue(c.Get("/metrics")->body, depth);
    if (d < 4) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(d, 4) << "the four requests never queued";
  for (int k = 0; k < 6; ++k) {
    auto r = c.Post("/v2/models/mobilenet_v2/classify", image, "image/png");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 503) << r->body;
    EXPECT_EQ(r->header("retry-after"), "1");
    EXPECT_NE(ErrorOf(*r).find("queue is full"), std::string::npos) << r->body;
  }
  EXPECT_EQ(MetricValue(c.Get("/metrics")->body, depth), 4);
  s.service->BeginShutdown();  // drain: what is queued runs now
  for (auto& t : queued) t.join();
  EXPECT_EQ(codes, (std::vector<int>{200, 200, 200, 200}));
  const std::string metrics = c.Get("/metrics")->body;
  EXPECT_EQ(MetricValue(metrics, "kamado_requests_total{model=\"mobilenet_v2\",code=\"503\"}"), 6);
  EXPECT_EQ(MetricValue(metrics, "kamado_requests_total{model=\"mobilenet_v2\",code=\"200\"}"), 4);
  EXPECT_EQ(MetricValue(metrics, depth), 0);
}

}  // namespace
}  // namespace kamado::serving
