// kamado shadow without a network: the URL forms, each protocol's response
// parsed, the classes of two sides resolved (reordered, mismatched,
// unknown), the comparison figures on hand-made answers, and RunShadow over
// scripted sides (errors counted, order alternating).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <mutex>

#include "shadow/comparison.h"
#include "shadow/cost_line.h"
#include "shadow/endpoint.h"
#include "shadow/shadow_html.h"
#include "shadow/shadow_report.h"
#include "shadow/shadow_run.h"

namespace kamado::shadow {
namespace {

Endpoint Parse(const std::string& url) {
  auto e = ParseEndpoint(url, "--a");
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? *e : Endpoint{};
}

TEST(ShadowEndpoint, EachProtocolByItsPath) {
  Endpoint c = Parse("http://127.0.0.1:8080/v2/models/mobilenet_v2/classify");
  EXPECT_EQ(c.protocol, Protocol::kClassify);
  EXPECT_EQ(c.model, "mobilenet_v2");
  EXPECT_EQ(c.http.port, 8080);
  EXPECT_EQ(c.http.target, "/v2/models/mobilenet_v2/classify");
  Endpoint o = Parse("http://[::1]:9000/v2/models/resnet/versions/3/infer");
  EXPECT_EQ(o.protocol, Protocol::kOipV2);
  EXPECT_EQ(o.http.host, "::1");
  EXPECT_EQ(o.model, "resnet");
  EXPECT_EQ(o.version, "3");
  Endpoint t = Parse("http://localhost:8501/v1/models/food:predict");
  EXPECT_EQ(t.protocol, Protocol::kTfServing);
  EXPECT_EQ(t.model, "food");
  Endpoint tv = Parse("http://localhost:8501/v1/models/food/versions/7:predict");
  EXPECT_EQ(tv.model, "food");
  EXPECT_EQ(tv.version, "7");
  Endpoint ts = Parse("http://localhost:8080/predictions/densenet161");
  EXPECT_EQ(ts.protocol, Protocol::kTorchServe);
  EXPECT_EQ(ts.model, "densenet161");
  EXPECT_EQ(ts.http.port, 8080);
}

TEST(ShadowEndpoint, RefusesWhatItCannotSpeak) {
  for (const char* bad :
       {"https://h:1/v2/models/m/classify", "http://h:1", "http://h:1/v2/models/m",
        "http://h:1/v1/models/m:classify", "http://h:99999/predictions/m", "ftp://h/x",
        "http://h:1/v2/models/m/versions/1/ready"}) {
    auto e = ParseEndpoint(bad, "--b");
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(e.status().message().find("--b"), std::string::npos) << e.status().message();
  }
  auto e = ParseEndpoint("http://h:1/metrics", "--a");
  EXPECT_NE(e.status().message().find("/v1/models/M:predict (TF Serving)"), std::string::npos);
}

TEST(ShadowEndpoint, RequestsFollowEachProtocol) {
  const perf::Payload photo{"x.jpg", "image/jpeg", std::string("\xff\xd8\x00rest", 7)};
  WireRequest c = *BuildRequest(Parse("http://h:1/v2/models/m/classify"), photo);
  EXPECT_EQ(c.body, photo.body);
  EXPECT_EQ(c.content_type, "image/jpeg");
  Endpoint oip = Parse("http://h:1/v2/models/m/infer");
  oip.input_name = "input_1";
  WireRequest o = *BuildRequest(oip, photo);
  ASSERT_EQ(o.headers.size(), 1u);
  EXPECT_EQ(o.headers[0].first, "Inference-Header-Content-Length");
  const size_t header = std::stoul(o.headers[0].second);
  auto j = nlohmann::json::parse(o.body.substr(0, header));
  EXPECT_EQ(j["inputs"][0]["name"], "input_1");
  EXPECT_EQ(j["inputs"][0]["datatype"], "BYTES");
  EXPECT_EQ(j["inputs"][0]["parameters"]["binary_data_size"], 11);
  EXPECT_EQ(o.body.substr(header), std::string("\x07\x00\x00\x00", 4) + photo.body);
  WireRequest t = *BuildRequest(Parse("http://h:1/v1/models/m:predict"), photo);
  EXPECT_EQ(nlohmann::json::parse(t.body)["instances"][0]["b64"], "/9gAcmVzdA==");
}

TEST(ShadowEndpoint, TensorsGoToOipOnly) {
  Endpoint c = Parse("http://h:1/v2/models/m/classify");
  Status s = UseTensorInput(c, "models/mobilenet_v2", "--b");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("--b: tensors can be sent to an OIP v2 /infer endpoint only"),
            std::string::npos);
  Endpoint o = Parse("http://h:1/v2/models/m/infer");
  EXPECT_FALSE(UseTensorInput(o, "/nonexistent/model", "--b").ok());
}

TEST(ShadowEndpoint, ParsesEachProtocolsAnswer) {
  auto c = ParseAnswer(
      Parse("http://h:1/v2/models/m/classify"),
      R"({"label":"b","probabilities":[0.25,0.75],"top":[{"label":"b","score":0.75}]})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->scores, (std::vector<float>{0.25f, 0.75f}));
  auto o = ParseAnswer(
      Parse("http://h:1/v2/models/m/infer"),
      R"({"outputs":[{"name":"y","datatype":"FP32","shape":[1,3],"data":[0.1,0.2,0.7]}]})");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->scores.size(), 3u);
  auto t = ParseAnswer(Parse("http://h:1/v1/models/m:predict"), R"({"predictions":[[0.9,0.1]]})");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->scores, (std::vector<float>{0.9f, 0.1f}));
  auto tn = ParseAnswer(Parse("http://h:1/v1/models/m:predict"),
                        R"({"predictions":[{"classes":3,"probabilities":[0.2,0.8]}]})");
  ASSERT_TRUE(tn.ok());
  EXPECT_EQ(tn->scores, (std::vector<float>{0.2f, 0.8f}));
  auto ts = ParseAnswer(Parse("http://h:1/predictions/m"), R"({"tabby":0.27,"tiger_cat":0.6})");
  ASSERT_TRUE(ts.ok());
  ASSERT_EQ(ts->labelled.size(), 2u);
  EXPECT_EQ(ts->labelled[0].first, "tiger_cat");  // best first
  for (const char* bad : {"not json", R"({"outputs":[]})", R"({"error":"x"})"}) {
    EXPECT_FALSE(ParseAnswer(Parse("http://h:1/v2/models/m/infer"), bad).ok()) << bad;
  }
  EXPECT_FALSE(
      ParseAnswer(Parse("http://h:1/v1/models/m:predict"), R"({"error":"Bad input"})").ok());
  EXPECT_FALSE(
      ParseAnswer(Parse("http://h:1/predictions/m"), R"({"code":503,"message":"busy"})").ok());
}

ClassInfo Classes(std::vector<std::string> labels, std::string source = "metadata") {
  return ClassInfo{std::move(labels), std::move(source)};
}

TEST(ShadowLabels, SameClassesInAnotherOrderAreMappedByName) {
  auto space = LabelSpace::Resolve(Classes({"cat", "dog", "fox"}),
                                   Classes({"fox", "cat", "dog"}, "b.txt"), "A", "B", true, true);
  ASSERT_TRUE(space.ok()) << space.status().ToString();
  EXPECT_NE(space->note().find("another order"), std::string::npos);
  auto b = space->Place(1, Answer{{0.7f, 0.2f, 0.1f}, {}});  // fox 0.7, cat 0.2, dog 0.1
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, (std::vector<float>{0.2f, 0.1f, 0.7f}));
  EXPECT_EQ(Top1(*b), 2);
  EXPECT_FALSE(space->Place(1, Answer{{0.5f, 0.5f}, {}}).ok());  // wrong length
}

TEST(ShadowLabels, DifferentClassesAreRefusedBeforeAnythingIsSent) {
  auto count = LabelSpace::Resolve(Classes({"a", "b"}), Classes({"a", "b", "c"}, "labels.txt"), "A",
                                   "B", true, true);
  ASSERT_FALSE(count.ok());
  EXPECT_NE(count.status().message().find("A has 2 classes (metadata), B has 3 (labels.txt)"),
            std::string::npos)
      << count.status().message();
  auto names = LabelSpace::Resolve(Classes({"a", "b"}), Classes({"a", "x"}), "A", "B", true, true);
  ASSERT_FALSE(names.ok());
  EXPECT_NE(names.status().message().find("'x'"), std::string::npos);
  auto unlabelled = LabelSpace::Resolve(Classes({"a", "b"}), ClassInfo{}, "A",
                                        "B (TF Serving predict)", true, true);
  ASSERT_FALSE(unlabelled.ok());
  EXPECT_NE(unlabelled.status().message().find("--b-labels"), std::string::npos);
  EXPECT_FALSE(
      LabelSpace::Resolve(Classes({"a", "a"}), Classes({"a", "a"}), "A", "B", true, true).ok());
}

TEST(ShadowLabels, LabelledAnswersOfAnUnknownSideMapByName) {
  auto space = LabelSpace::Resolve(Classes({"cat", "dog"}), ClassInfo{}, "A", "B", true, false);
  ASSERT_TRUE(space.ok());
  auto b = space->Place(1, Answer{{}, {{"dog", 0.9f}}});
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(std::isnan((*b)[0]));
  EXPECT_FLOAT_EQ((*b)[1], 0.9f);
  EXPECT_FALSE(space->Place(1, Answer{{}, {{"wolf", 0.9f}}}).ok());
}

TEST(ShadowComparison, AgreementOverlapConfusionAndDeltas) {
  const std::vector<std::string> labels{"cat", "dog", "fox"};
  PairComparison c(/*top_k=*/2, /*max_listed=*/1);
  c.Add("1.jpg", {0.7f, 0.2f, 0.1f}, {0.6f, 0.3f, 0.1f}, labels);  // agree; top-2 {cat,dog} both
  c.Add("2.jpg", {0.1f, 0.8f, 0.1f}, {0.1f, 0.3f, 0.6f},
        labels);  // disagree dog→fox; top-2 {dog,cat|fox}
  c.Add("3.jpg", {0.2f, 0.1f, 0.7f}, {0.6f, 0.1f, 0.3f}, labels);  // disagree fox→cat
  c.Add("2.jpg", {0.1f, 0.8f, 0.1f}, {0.1f, 0.3f, 0.6f}, labels);  // same photo again
  PairStats s = c.Finish(labels);
  EXPECT_EQ(s.compared, 4u);
  EXPECT_EQ(s.top1_agree, 1u);
  EXPECT_DOUBLE_EQ(s.top1_agreement, 0.25);
  // Photo 1: 2/2; photo 2: A {dog, cat}, B {fox, dog}: 1/2; photo 3: A {fox, cat}, B {cat, fox}:
  // 2/2.
  EXPECT_DOUBLE_EQ(s.topk_overlap, (1.0 + 0.5 + 1.0 + 0.5) / 4);
  EXPECT_EQ((s.confusion[{"dog", "fox"}]), 2u);
  EXPECT_EQ((s.confusion[{"fox", "cat"}]), 1u);
  EXPECT_EQ((s.confusion[{"cat", "cat"}]), 1u);
  EXPECT_EQ(s.disagreeing_photos, 2u);
  ASSERT_EQ(s.disagreements.size(), 1u);  // max_listed
  EXPECT_EQ(s.disagreements[0].photo, "2.jpg");
  EXPECT_EQ(s.disagreements[0].b_label, "fox");
  ASSERT_EQ(s.per_class.size(), 3u);
  EXPECT_NEAR(s.per_class[2].max, 0.5, 1e-6);  // fox: 0, .5, .4, .5
  EXPECT_NEAR(s.per_class[2].mean, 1.4 / 4, 1e-6);
  EXPECT_NEAR(s.per_class[2].p99, 0.5, 1e-6);
  EXPECT_NEAR(s.max_abs_dp, 0.5, 1e-6);
}

// A scripted server: answers from a table keyed by photo name, fails the
// photos listed, and logs which side was asked in which order.
struct Script {
  std::mutex mu;
  std::vector<std::string> log;  // "A:1.jpg"
};

class ScriptedSide : public Side {
 public:
  ScriptedSide(std::string name, Script* script, std::map<std::string, std::vector<float>> answers,
               std::set<std::string> failing)
      : name_(std::move(name)),
        script_(script),
        answers_(std::move(answers)),
        failing_(std::move(failing)) {}
  Reply Ask(const perf::Payload& photo) override {
    {
      std::lock_guard<std::mutex> lock(script_->mu);
      script_->log.push_back(name_ + ":" + photo.name);
    }
    Reply r;
    if (failing_.count(photo.name)) {
      r.status = 500;
      r.error = "HTTP 500";
      return r;
    }
    r.status = 200;
    r.answer = Answer{answers_.at(photo.name), {}};
    return r;
  }

 private:
  std::string name_;
  Script* script_;
  std::map<std::string, std::vector<float>> answers_;
  std::set<std::string> failing_;
};

TEST(ShadowRun, ComparesWhereBothAnsweredCountsErrorsAndAlternatesTheOrder) {
  std::vector<perf::Payload> photos;
  for (const char* n : {"0.jpg", "1.jpg", "2.jpg", "3.jpg"}) photos.push_back({n, "image/jpeg", n});
  const std::map<std::string, std::vector<float>> a{{"0.jpg", {0.9f, 0.1f}},
                                                    {"1.jpg", {0.8f, 0.2f}},
                                                    {"2.jpg", {0.3f, 0.7f}},
                                                    {"3.jpg", {0.4f, 0.6f}}};
  std::map<std::string, std::vector<float>> b = a;
  b["2.jpg"] = {0.6f, 0.4f};  // disagrees
  Script script;
  auto space = LabelSpace::Resolve(Classes({"x", "y"}), Classes({"x", "y"}), "A", "B", true, true);
  ASSERT_TRUE(space.ok());
  ShadowOptions options;
  options.concurrency = 1;
  auto result = RunShadow(
      photos, *space,
      [&] { return std::make_unique<ScriptedSide>("A", &script, a, std::set<std::string>{}); },
      [&] {
        return std::make_unique<ScriptedSide>("B", &script, b, std::set<std::string>{"3.jpg"});
      },
      [&] { return std::make_unique<ScriptedSide>("N", &script, a, std::set<std::string>{}); },
      options);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->photos, 4u);
  EXPECT_EQ(result->a.requests, 4u);
  EXPECT_EQ(result->b.answered, 3u);
  EXPECT_EQ(result->b.errors.at("HTTP 500"), 1u);
  EXPECT_TRUE(result->a.errors.empty());
  EXPECT_EQ(result->ab.compared, 3u);  // 3.jpg: B failed
  EXPECT_EQ(result->ab.top1_agree, 2u);
  ASSERT_EQ(result->ab.disagreements.size(), 1u);
  EXPECT_EQ(result->ab.disagreements[0].photo, "2.jpg");
  ASSERT_TRUE(result->noise_floor.has_value());
  EXPECT_EQ(result->noise_floor->compared, 4u);
  EXPECT_DOUBLE_EQ(result->noise_floor->top1_agreement, 1.0);
  EXPECT_DOUBLE_EQ(result->noise_floor->max_abs_dp, 0.0);
  const std::vector<std::string> order{"A:0.jpg", "B:0.jpg", "N:0.jpg", "N:1.jpg",
                                       "B:1.jpg", "A:1.jpg", "A:2.jpg", "B:2.jpg",
                                       "N:2.jpg", "N:3.jpg", "B:3.jpg", "A:3.jpg"};
  EXPECT_EQ(script.log, order);
  auto j = ShadowJson(*result);
  EXPECT_EQ(j["a_vs_b"]["compared"], 3);
  EXPECT_EQ(j["sides"][1]["errors"]["HTTP 500"], 1);
  EXPECT_NEAR(j["disagreement_over_floor"].get<double>(), 1.0 / 3, 1e-9);
  EXPECT_NE(ShadowText(*result).find("2.jpg: A y (0.700), B x (0.600)"), std::string::npos)
      << ShadowText(*result);

  // The page: the disagreeing photo with its thumbnail, the floor column,
  // the confusion cells, user strings escaped.
  result->a.url = "http://a/<x>";
  HtmlInputs in;
  in.thumbnails["2.jpg"] = "JPEG";
  const std::string html = RenderShadowHtml(*result, in);
  EXPECT_NE(html.find("src=\"data:image/jpeg;base64,SlBFRw==\""), std::string::npos);
  EXPECT_NE(html.find("<b>2.jpg</b><br/>A: y (0.700)<br/>B: x (0.600)"), std::string::npos);
  EXPECT_NE(html.find("A vs A′ (floor)"), std::string::npos);
  EXPECT_NE(html.find("on 2 of 3 photos (66.67%)"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"off\">1</td>"), std::string::npos);  // y → x
  EXPECT_NE(html.find("http://a/&lt;x&gt;"), std::string::npos);
  EXPECT_EQ(html.find("<x>"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
}

TEST(ShadowCost, BothFleetsFromKamadoCostJson) {
  const std::string doc = R"({"baseline": "g2.2xlarge", "command": "kamado cost ...", "fleets": [
      {"name": "c5.xlarge", "type": "c5.xlarge", "peak_replicas": 8, "capacity_rps": 4, "usd_month": 992.8},
      {"name": "g2.2xlarge", "type": "g2.2xlarge", "peak_replicas": 3, "capacity_rps": 13.8, "usd_month": 1423.5},
      {"name": "c5.2xlarge", "type": "c5.2xlarge", "peak_replicas": 4, "capacity_rps": 8, "usd_month": 1100}]})";
  auto c = ParseCostLine(doc, "cost.json", "", "");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->a.name, "g2.2xlarge");  // the baseline
  EXPECT_EQ(c->b.name, "c5.xlarge");   // the cheapest other
  EXPECT_EQ(c->fleets.size(), 3u);
  EXPECT_EQ(CostSentence(*c),
            "B's fleet (c5.xlarge): 8 replicas at peak, $993 a month, against A's (g2.2xlarge): 3, "
            "$1,424 — "
            "0.70× A's bill.");
  auto chosen = ParseCostLine(doc, "cost.json", "c5.2xlarge", "g2.2xlarge");
  ASSERT_TRUE(chosen.ok());
  EXPECT_EQ(chosen->a.name, "c5.2xlarge");
  EXPECT_EQ(chosen->b.name, "g2.2xlarge");
  auto missing = ParseCostLine(doc, "cost.json", "p3.2xlarge", "");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("cost.json: no fleet 'p3.2xlarge'"), std::string::npos);
  EXPECT_FALSE(ParseCostLine("[]", "x.json", "", "").ok());
  EXPECT_FALSE(ParseCostLine(R"({"fleets": [{"name": "a", "usd_month": 1}]})", "x.json", "", "")
                   .ok());  // no baseline

  ShadowResult r;
  HtmlInputs in;
  in.cost = *c;
  const std::string html = RenderShadowHtml(r, in);
  EXPECT_NE(html.find("0.70× A&#39;s bill."), std::string::npos) << html.substr(0, 2000);
  EXPECT_NE(html.find("<td>g2.2xlarge (A)</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>c5.xlarge (B)</td>"), std::string::npos);
}

TEST(ShadowRun, RefusesNoPhotosAndBadOptions) {
  auto space = LabelSpace::Resolve(Classes({"x"}), Classes({"x"}), "A", "B", true, true);
  ASSERT_TRUE(space.ok());
  SideFactory none = [] { return std::unique_ptr<Side>(); };
  EXPECT_FALSE(RunShadow({}, *space, none, none, {}, {}).ok());
  ShadowOptions bad;
  bad.concurrency = 0;
  EXPECT_FALSE(RunShadow({{"a", "", "x"}}, *space, none, none, {}, bad).ok());
}

}  // namespace
}  // namespace kamado::shadow
