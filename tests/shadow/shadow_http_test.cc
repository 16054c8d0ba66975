// kamado shadow against real servers on loopback: two kamado servers with the
// same model (every answer agrees, |Δp| ≤ 1e-6 across different batch
// plans), with different models (MobileNetV2 against InceptionV3, the
// figures checked against each server's own answers), a TF Serving-style and
// a TorchServe-style endpoint (test stubs that follow those servers'
// documented request and response formats, answering with what a real kamado
// server says), a label-order mismatch, and a side that fails or times out.
// The command line end to end: build/kamado shadow --json, and a class-count
// mismatch refused before any photo is sent.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <thread>

#include "serving/http/encoding.h"
#include "serving/serving_test_util.h"
#include "shadow/comparison.h"
#include "shadow/endpoint.h"
#include "shadow/shadow_run.h"
#include "testutil/run_command.h"
#include "testutil/test_data.h"

namespace kamado::shadow {
namespace {

namespace fs = std::filesystem;
namespace bhttp = boost::beast::http;
using nlohmann::json;
using serving::ServiceOptions;
using serving::testing::FileBytes;
using serving::testing::TestServer;

const fs::path kMobileNet = "models/mobilenet_v2";
const fs::path kInception = "models/inception_v3";
const std::vector<fs::path> kImages = {
    "data/images/chelsea.png",           "data/images/coffee.png",
    "data/images/astronaut.png",         "data/images/rocket.jpg",
    "data/images/hubble_deep_field.jpg", "data/images/camera.png"};

std::vector<perf::Payload> Photos() {
  std::vector<perf::Payload> p;
  for (const auto& path : kImages) {
    p.push_back({path.filename().string(), path.extension() == ".png" ? "image/png" : "image/jpeg",
                 FileBytes(path)});
  }
  return p;
}

ServiceOptions Options(int max_batch) {
  ServiceOptions o;
  o.sessions = 1;
  o.threads = 1;
  o.max_batch = max_batch;
  return o;
}

std::string Url(uint16_t port, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(port) + path;
}

// A test's own HTTP endpoint: the project's server with a handler of its
// own, counting the requests it got.
struct StubServer {
  std::atomic<int> requests{0};
  std::unique_ptr<serving::http::HttpServer> server;
  using Handle = std::function<std::pair<int, std::string>(const serving::http::Request&)>;

  explicit StubServer(Handle handle) {
    serving::http::HttpServerOptions o;
    o.port = 0;
    o.io_threads = 4;
    server = std::make_unique<serving::http::HttpServer>(
        o, [this, handle](serving::http::Request&& req, serving::http::RequestContext&&,
                          serving::http::Responder respond) {
          ++requests;
          auto [status, body] = handle(req);
          serving::http::Response res{static_cast<bhttp::status>(status), req.version()};
          res.set(bhttp::field::content_type, "application/json");
          res.body() = body;
          res.prepare_payload();
          respond(std::move(res));
        });
    Status st = server->Start();
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
  ~StubServer() { server->Shutdown(std::chrono::seconds(5)); }
  uint16_t port() const { return server->port(); }
};

// What kamado's /classify at `port` says to `photo`: its probabilities.
std::vector<float> KamadoScores(uint16_t port, const std::string& photo) {
  serving::http::HttpClient c("127.0.0.1", port);
  auto r = c.Post("/v2/models/mobilenet_v2/classify", photo, "application/octet-stream");
  if (!r.ok() || r->status != 200) return {};
  return json::parse(r->body)["probabilities"].get<std::vector<float>>();
}

// TF Serving's REST predict: {"instances": [{"b64": ...}]} in,
// {"predictions": [[scores...]]} out, errors as {"error": ...} with 400.
// `order[i]` is the class whose score goes out at position i.
StubServer::Handle TfServingStub(uint16_t kamado, std::vector<int> order) {
  return [kamado, order](const serving::http::Request& req) -> std::pair<int, std::string> {
    if (req.method() != bhttp::verb::post || req.target() != "/v1/models/food:predict") {
      return {404, R"({"error": "Servable not found"})"};
    }
    json j = json::parse(req.body(), nullptr, false);
    if (j.is_discarded() || !j.contains("instances") || !j["instances"][0].contains("b64")) {
      return {400, R"({"error": "JSON Parse error"})"};
    }
    auto bytes = serving::http::Base64Decode(j["instances"][0]["b64"].get<std::string>());
    if (!bytes.ok()) return {400, R"({"error": "bad base64"})"};
    const std::vector<float> p = KamadoScores(kamado, *bytes);
    std::vector<float> out;
    for (int i : order) out.push_back(p.at(static_cast<size_t>(i)));
    return {200, json{{"predictions", {out}}}.dump()};
  };
}

// TorchServe's image classifier: the photo as the body of
// POST /predictions/{model}, {"label": score, ...} (top 5) out.
StubServer::Handle TorchServeStub(uint16_t kamado, std::vector<std::string> labels) {
  return [kamado, labels](const serving::http::Request& req) -> std::pair<int, std::string> {
    if (req.target() != "/predictions/food")
      return {404, R"({"code": 404, "message": "Model not found"})"};
    const std::vector<float> p = KamadoScores(kamado, req.body());
    json out = json::object();
    for (size_t i = 0; i < p.size() && i < labels.size(); ++i) out[labels[i]] = p[i];
    return {200, out.dump()};
  };
}

struct Peer {
  Endpoint endpoint;
  ClassInfo classes;
};

Peer Connect(const std::string& url) {
  auto e = ParseEndpoint(url, "--a");
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  Peer s{*e, {}};
  serving::http::HttpClient client(s.endpoint.http.host, s.endpoint.http.port);
  auto info = FetchClassInfo(s.endpoint, client);
  EXPECT_TRUE(info.ok()) << info.status().ToString();
  if (info.ok()) s.classes = *info;
  return s;
}

SideFactory Http(const Endpoint& e, int timeout_ms = 60000) {
  return [e, timeout_ms] { return MakeHttpSide(e, std::chrono::milliseconds(timeout_ms)); };
}

Result<ShadowResult> Shadow(const Peer& a, const Peer& b, int concurrency = 1,
                            int timeout_ms = 60000, const std::vector<perf::Payload>& photos = Photos()) {
  ASSIGN_OR_RETURN(LabelSpace space,
                   LabelSpace::Resolve(a.classes, b.classes, "A", "B",
                                       a.endpoint.protocol != Protocol::kTorchServe,
                                       b.endpoint.protocol != Protocol::kTorchServe));
  ShadowOptions options;
  options.concurrency = concurrency;
  return RunShadow(photos, std::move(space), Http(a.endpoint), Http(b.endpoint, timeout_ms), {},
                   options);
}

void ExpectSameAnswers(const ShadowResult& r, size_t photos) {
  EXPECT_EQ(r.ab.compared, photos);
  EXPECT_DOUBLE_EQ(r.ab.top1_agreement, 1.0);
  EXPECT_DOUBLE_EQ(r.ab.topk_overlap, 1.0);
  EXPECT_LE(r.ab.max_abs_dp, 1e-6);
  EXPECT_TRUE(r.a.errors.empty());
  EXPECT_TRUE(r.b.errors.empty()) << r.b.errors.begin()->first;
  EXPECT_EQ(r.ab.disagreeing_photos, 0u);
}

class ShadowHttp : public ::testing::Test {
 protected:
  void SetUp() override {
    KAMADO_REQUIRE_DATA(kMobileNet / "kamado.yaml");
    for (const auto& i : kImages) KAMADO_REQUIRE_DATA(i);
  }
};

TEST_F(ShadowHttp, SameModelAgreesOnEveryPhotoAcrossBatchPlansAndProtocols) {
  TestServer a(Options(1));
  TestServer b(Options(8));
  ASSERT_NE(a.server, nullptr);
  ASSERT_NE(b.server, nullptr);
  // B over OIP v2 /infer (the photo as a BYTES tensor, binary extension),
  // three photos in flight so its batches hold several rows.
  Peer sa = Connect(Url(a.port(), "/v2/models/mobilenet_v2/classify"));
  Peer sb = Connect(Url(b.port(), "/v2/models/mobilenet_v2/infer"));
  EXPECT_EQ(sb.endpoint.input_name, "input_1");
  EXPECT_EQ(sa.classes.labels, sb.classes.labels);
  auto r = Shadow(sa, sb, /*concurrency=*/3);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ExpectSameAnswers(*r, kImages.size());
  EXPECT_EQ(r->labels, sa.classes.labels);
  EXPECT_EQ(r->a.latency.count, kImages.size());
}

// A server that wants tensors: the photos preprocessed here, as the model's
// kamado.yaml says, give the same answers as the server's own decoding; a
// photo that does not decode is that side's error, not the run's.
TEST_F(ShadowHttp, OipTensorInputsFromKamadosOwnPreprocessing) {
  TestServer a(Options(8));
  TestServer b(Options(8));
  ASSERT_NE(a.server, nullptr);
  ASSERT_NE(b.server, nullptr);
  Peer sa = Connect(Url(a.port(), "/v2/models/mobilenet_v2/classify"));
  Peer sb = Connect(Url(b.port(), "/v2/models/mobilenet_v2/infer"));
  ASSERT_TRUE(UseTensorInput(sb.endpoint, kMobileNet.string(), "--b").ok());
  std::vector<perf::Payload> photos = Photos();
  photos.push_back({"junk.jpg", "image/jpeg", "not a jpeg"});
  auto r = Shadow(sa, sb, 1, 60000, photos);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->ab.compared, kImages.size());
  EXPECT_DOUBLE_EQ(r->ab.top1_agreement, 1.0);
  EXPECT_LE(r->ab.max_abs_dp, 1e-6);
  EXPECT_EQ(r->a.errors.at("HTTP 400"), 1u);  // the server refuses it
  ASSERT_EQ(r->b.errors.size(), 1u);          // never sent
  EXPECT_EQ(r->b.errors.begin()->first.rfind("not sent: junk.jpg: ", 0), 0u)
      << r->b.errors.begin()->first;
}

TEST_F(ShadowHttp, DifferentModelsAreComparedPhotoByPhoto) {
  KAMADO_REQUIRE_DATA(kInception / "kamado.yaml");
  TestServer a(Options(8));
  TestServer b(Options(8), {}, {kInception});
  ASSERT_NE(a.server, nullptr);
  ASSERT_NE(b.server, nullptr);
  Peer sa = Connect(Url(a.port(), "/v2/models/mobilenet_v2/classify"));
  Peer sb = Connect(Url(b.port(), "/v2/models/inception_v3/classify"));
  auto r = Shadow(sa, sb);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->ab.compared, kImages.size());
  // The servers' own answers, asked directly, say what the figures must be.
  uint64_t agree = 0;
  std::map<std::pair<std::string, std::string>, uint64_t> confusion;
  double max_dp = 0;
  for (const auto& path : kImages) {
    serving::http::HttpClient ca("127.0.0.1", a.port()), cb("127.0.0.1", b.port());
    const json ja = json::parse(
        ca.Post("/v2/models/mobilenet_v2/classify", FileBytes(path), "image/png")->body);
    const json jb = json::parse(
        cb.Post("/v2/models/inception_v3/classify", FileBytes(path), "image/png")->body);
    agree += ja["label"] == jb["label"];
    ++confusion[{ja["label"].get<std::string>(), jb["label"].get<std::string>()}];
    for (size_t c = 0; c < ja["probabilities"].size(); ++c) {
      max_dp = std::max(max_dp, std::fabs(ja["probabilities"][c].get<double>() -
                                          jb["probabilities"][c].get<double>()));
    }
  }
  EXPECT_EQ(r->ab.top1_agree, agree);
  EXPECT_EQ(r->ab.confusion, confusion);
  EXPECT_EQ(r->ab.disagreeing_photos, kImages.size() - agree);
  EXPECT_NEAR(r->ab.max_abs_dp, max_dp, 1e-6);
  EXPECT_GT(r->ab.max_abs_dp, 1e-3);  // two different networks
  for (const auto& d : r->ab.per_class) EXPECT_EQ(d.count, kImages.size()) << d.label;
}

TEST_F(ShadowHttp, TfServingAndTorchServeStyleEndpoints) {
  TestServer kamado(Options(8));
  ASSERT_NE(kamado.server, nullptr);
  Peer sa = Connect(Url(kamado.port(), "/v2/models/mobilenet_v2/classify"));
  const std::vector<std::string>& labels = sa.classes.labels;
  ASSERT_GE(labels.size(), 2u);
  std::vector<int> identity(labels.size());
  std::iota(identity.begin(), identity.end(), 0);

  StubServer tf(TfServingStub(kamado.port(), identity));
  Peer st = Connect(Url(tf.port(), "/v1/models/food:predict"));
  EXPECT_TRUE(st.classes.labels.empty());  // TF Serving's metadata names no labels
  auto refused = Shadow(sa, st);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("--b-labels"), std::string::npos)
      << refused.status().message();
  EXPECT_EQ(tf.requests.load(), 0);  // refused before anything was sent
  st.classes.labels = labels;
  auto r = Shadow(sa, st);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ExpectSameAnswers(*r, kImages.size());
  EXPECT_EQ(tf.requests.load(), static_cast<int>(kImages.size()));

  StubServer torch(TorchServeStub(kamado.port(), labels));
  Peer sts = Connect(Url(torch.port(), "/predictions/food"));
  auto rt = Shadow(sa, sts);  // labels come with its answers
  ASSERT_TRUE(rt.ok()) << rt.status().ToString();
  ExpectSameAnswers(*rt, kImages.size());
}

TEST_F(ShadowHttp, ALabelOrderMismatchIsMappedByName) {
  TestServer kamado(Options(8));
  ASSERT_NE(kamado.server, nullptr);
  Peer sa = Connect(Url(kamado.port(), "/v2/models/mobilenet_v2/classify"));
  const std::vector<std::string>& labels = sa.classes.labels;
  // B's outputs in reverse class order, and its labels file says so.
  std::vector<int> reversed(labels.size());
  std::iota(reversed.rbegin(), reversed.rend(), 0);
  StubServer tf(TfServingStub(kamado.port(), reversed));
  Peer sb = Connect(Url(tf.port(), "/v1/models/food:predict"));
  for (int i : reversed) sb.classes.labels.push_back(labels[static_cast<size_t>(i)]);
  auto r = Shadow(sa, sb);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_NE(r->label_note.find("another order"), std::string::npos);
  ExpectSameAnswers(*r, kImages.size());
  // Read in A's order instead (no mapping), the same answers disagree.
  sb.classes.labels = labels;
  auto wrong = Shadow(sa, sb);
  ASSERT_TRUE(wrong.ok());
  EXPECT_LT(wrong->ab.top1_agreement, 1.0);
  EXPECT_GT(wrong->ab.max_abs_dp, 1e-3);
}

TEST_F(ShadowHttp, ErrorsAndTimeoutsOfOneSideAreCountedNeverFatal) {
  TestServer kamado(Options(8));
  ASSERT_NE(kamado.server, nullptr);
  Peer sa = Connect(Url(kamado.port(), "/v2/models/mobilenet_v2/classify"));
  const std::vector<std::string> labels = sa.classes.labels;
  std::vector<int> identity(labels.size());
  std::iota(identity.begin(), identity.end(), 0);
  const StubServer::Handle ok = TfServingStub(kamado.port(), identity);
  std::atomic<int> n{0};
  // Request 1: HTTP 500; request 3: answered after the client gave up; 4:
  // not JSON. The others answer.
  StubServer flaky([&](const serving::http::Request& req) -> std::pair<int, std::string> {
    const int i = n++;
    if (i == 1) return {500, R"({"error": "Internal"})"};
    if (i == 3) std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    if (i == 4) return {200, "<html>proxy error</html>"};
    return ok(req);
  });
  Peer sb = Connect(Url(flaky.port(), "/v1/models/food:predict"));
  sb.classes.labels = labels;
  auto r = Shadow(sa, sb, 1, /*timeout_ms=*/500);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->photos, kImages.size());
  EXPECT_EQ(r->b.requests, kImages.size());
  EXPECT_EQ(r->b.answered, kImages.size() - 3);
  EXPECT_EQ(r->b.errors.at("HTTP 500"), 1u);
  EXPECT_EQ(r->b.errors.at("no response (refused, reset or timed out)"), 1u);
  EXPECT_EQ(r->b.errors.at("bad response: TF Serving predict: the response is not JSON"), 1u);
  EXPECT_TRUE(r->a.errors.empty());
  EXPECT_EQ(r->ab.compared, kImages.size() - 3);
  EXPECT_DOUBLE_EQ(r->ab.top1_agreement, 1.0);
}

// The command end to end, and a class-count mismatch stopped before a photo
// is sent.
TEST_F(ShadowHttp, CommandLine) {
  TestServer a(Options(8));
  TestServer b(Options(1));
  ASSERT_NE(a.server, nullptr);
  ASSERT_NE(b.server, nullptr);
  const fs::path dir = fs::temp_directory_path() / ("kamado_shadow_" + std::to_string(getpid()));
  fs::create_directories(dir);
  for (const auto& p : kImages)
    fs::copy_file(p, dir / p.filename(), fs::copy_options::overwrite_existing);
  const std::string common = std::string(KAMADO_BINARY) + " shadow --images " + dir.string();
  int rc = -1;
  const std::string out = testutil::RunCommand(
      common + " --a " + Url(a.port(), "/v2/models/mobilenet_v2/classify") + " --b " +
          Url(b.port(), "/v2/models/mobilenet_v2/infer") + " --noise " +
          Url(b.port(), "/v2/models/mobilenet_v2/classify") + " --concurrency 2 --json",
      rc);
  EXPECT_EQ(rc, 0) << out;
  const std::string last = out.substr(out.rfind('\n', out.size() - 2) + 1);
  json j = json::parse(last, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << out;
  EXPECT_EQ(j["photos"], kImages.size());
  EXPECT_EQ(j["a_vs_b"]["top1_agreement"], 1.0);
  EXPECT_LE(j["a_vs_b"]["max_abs_dp"].get<double>(), 1e-6);
  EXPECT_EQ(j["noise_floor"]["compared"], kImages.size());
  EXPECT_EQ(j["sides"].size(), 3u);
  EXPECT_NE(out.find("top-1 agreement 100.00%"), std::string::npos) << out;

  // The cost line, from what kamado cost itself writes.
  const fs::path cost = dir / "cost.json";
  testutil::RunCommand(
      std::string(KAMADO_BINARY) +
          " cost --capacity-rps 4 --vcpus 4 --peak-rps 20 --stated g2.2xlarge=0.0723s "
          "--types c5.xlarge,g2.2xlarge --baseline g2.2xlarge --format json -o " +
          cost.string(),
      rc);
  ASSERT_EQ(rc, 0);
  const fs::path page = dir / "cutover.html";
  const std::string with_cost =
      testutil::RunCommand(common + " --a " + Url(a.port(), "/v2/models/mobilenet_v2/classify") +
                               " --b " + Url(b.port(), "/v2/models/mobilenet_v2/classify") +
                               " --cost " + cost.string() + " --report " + page.string(),
                           rc);
  EXPECT_EQ(rc, 0) << with_cost;
  EXPECT_NE(with_cost.find("B's fleet (c5.xlarge): 8 replicas at peak"), std::string::npos)
      << with_cost;
  EXPECT_NE(with_cost.find("against A's (g2.2xlarge)"), std::string::npos) << with_cost;
  const std::string html = FileBytes(page);
  EXPECT_NE(html.find("Cost of each fleet"), std::string::npos);
  EXPECT_NE(html.find("top-1 label on 6 of 6 photos"), std::string::npos);

  StubServer tf(TfServingStub(a.port(), {0, 1}));
  const fs::path labels = dir / "labels.txt";
  std::ofstream(labels) << "a\nb\n";
  const std::string refused = testutil::RunCommand(
      common + " --a " + Url(a.port(), "/v2/models/mobilenet_v2/classify") + " --b " +
          Url(tf.port(), "/v1/models/food:predict") + " --b-labels " + labels.string() + " 2>&1",
      rc);
  EXPECT_EQ(rc, 2) << refused;
  EXPECT_NE(refused.find("has 2 ("), std::string::npos) << refused;
  EXPECT_EQ(tf.requests.load(), 0);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kamado::shadow
