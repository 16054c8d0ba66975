// A model whose kamado.yaml has a `decision` block: POST /classify answers
// with "verdict": {"name", "value", "score"} where score is the sum of the
// positive classes' probabilities and value is score ≥ threshold; GET
// /v2/models/{m} describes the decision; and `kamado infer` (this build's
// binary) prints the same verdict for the same photo, as JSON and as text.
//
// The models are temporary copies of models/mobilenet_v2 (labels Drawing,
// Hentai, Neutral, Porn, Sexy) with a decision block appended.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "image/decode.h"
#include "image/preprocess.h"
#include "runtime/session.h"
#include "serving/serving_test_util.h"
#include "testutil/run_command.h"
#include "testutil/test_data.h"

namespace kamado::serving {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::FileBytes;
using testing::TestServer;

const fs::path kModel = "models/mobilenet_v2";
const std::vector<std::string> kPhotos = {"data/images/chelsea.png", "data/images/rocket.jpg",
                                          "data/images/coffee.png"};
constexpr int kDrawing = 0, kHentai = 1, kNeutral = 2, kPorn = 3, kSexy = 4;

// Runs `kamado infer --threads 1 ARGS`; stdout and the exit status.
std::pair<int, std::string> RunInfer(const std::string& args) {
  int rc = 0;
  std::string out = testutil::RunCommand(std::string(KAMADO_BINARY) + " infer --threads 1 " + args + " 2>&1", rc);
  return {rc, out};
}

// The first line of `out` that is a JSON object (infer prints one per image).
json FirstJsonLine(const std::string& out) {
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("{")) return json::parse(line);
  }
  ADD_FAILURE() << "no JSON line in:\n" << out;
  return json::object();
}

class VerdictTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KAMADO_REQUIRE_DATA(kModel / "kamado.yaml");
    for (const auto& p : kPhotos) KAMADO_REQUIRE_DATA(p);
    dir_ = fs::temp_directory_path() / ("kamado_verdict_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    safe_ = CopyModel("nsfw_safe", "{name: safe, positive: [Neutral, Drawing], threshold: 0.5}");
    unsafe_ =
        CopyModel("nsfw_unsafe", "{name: unsafe, positive: [Porn, Sexy, Hentai], threshold: 0.5}");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // models/mobilenet_v2 under `name`, with `decision: DECISION` appended.
  fs::path CopyModel(const std::string& name, const std::string& decision) {
    const fs::path to = dir_ / name;
    fs::create_directories(to);
    for (const auto& entry : fs::directory_iterator(kModel)) {
      // Files only: a `.kamado/` (kamado compare's gate) is not the model's.
      if (entry.is_regular_file() && entry.path().filename() != "kamado.yaml")
        fs::copy_file(entry.path(), to / entry.path().filename());
    }
    std::istringstream in(FileBytes(kModel / "kamado.yaml"));
    std::ofstream out(to / "kamado.yaml");
    for (std::string line; std::getline(in, line);) {
      out << (line.rfind("name:", 0) == 0 ? "name: " + name : line) << "\n";
    }
    out << "decision: " << decision << "\n";
    return to;
  }

  // The in-process probabilities for `photo` (decode, preprocess, Session),
  // as `kamado infer` computes them.
  static std::vector<float> InProcess(const ServedModel& model, const std::string& photo) {
    auto image = DecodeImageFile(photo, model.decode());
    EXPECT_TRUE(image.ok()) << image.status().ToString();
    auto item = Preprocess(*image, model.preprocess());
    EXPECT_TRUE(item.ok()) << item.status().ToString();
    runtime::Session session(model.shared_compiled(), runtime::SessionOptions{.threads = 1});
    auto out = session.Run({*item});
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return std::vector<float>(out->front().data(), out->front().data() + out->front().size());
  }

  fs::path dir_, safe_, unsafe_;
};

TEST_F(VerdictTest, ClassifyAndInferReportTheDecision) {
  ServiceOptions o;
  o.sessions = 1;
  o.threads = 1;
  o.batch_delay_us = 0;
  TestServer server(o, {}, {safe_, unsafe_});
  ASSERT_NE(server.server, nullptr);
  http::HttpClient c = server.Client();

  // The metadata describes the decision.
  auto meta = c.Get("/v2/models/nsfw_safe");
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  ASSERT_EQ(meta->status, 200) << meta->body;
  EXPECT_EQ(json::parse(meta->body)["decision"],
            json({{"name", "safe"}, {"positive", {"Neutral", "Drawing"}}, {"threshold", 0.5}}));

  const ServedModel& safe_model = **server.service->Find("nsfw_safe");
  for (const std::string& photo : kPhotos) {
    const std::vector<float> p = InProcess(safe_model, photo);
    const double safe_score = p[kNeutral] + p[kDrawing];
    const double unsafe_score = p[kPorn] + p[kSexy] + p[kHentai];

    // Over HTTP, from both models.
    const std::string bytes = FileBytes(photo);
    auto r = c.Post("/v2/models/nsfw_safe/classify", bytes, "application/octet-stream");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->status, 200) << r->body;
    const json safe = json::parse(r->body);
    ASSERT_TRUE(safe.contains("verdict")) << r->body;
    const json& v = safe["verdict"];
    EXPECT_EQ(v["name"], "safe");
    EXPECT_NEAR(v["score"].get<double>(), safe_score, 1e-5) << photo;
    EXPECT_EQ(v["value"].get<bool>(), v["score"].get<double>() >= 0.5) << photo;
    // score is the sum of the positive classes' probabilities in this very response.
    const json& probs = safe["probabilities"];
    EXPECT_NEAR(v["score"].get<double>(),
                probs[kNeutral].get<double>() + probs[kDrawing].get<double>(), 1e-6);

    r = c.Post("/v2/models/nsfw_unsafe/classify", bytes, "application/octet-stream");
    ASSERT_EQ(r->status, 200) << r->body;
    const json u = json::parse(r->body)["verdict"];
    EXPECT_EQ(u["name"], "unsafe");
    EXPECT_NEAR(u["score"].get<double>(), unsafe_score, 1e-5) << photo;
    EXPECT_EQ(u["value"].get<bool>(), u["score"].get<double>() >= 0.5) << photo;

    // `kamado infer --json` on the same file and model prints the same verdict.
    auto [rc, out] = RunInfer("--json --model " + safe_.string() + " " + photo);
    ASSERT_EQ(rc, 0) << out;
    const json line = FirstJsonLine(out);
    ASSERT_TRUE(line.contains("verdict")) << out;
    EXPECT_EQ(line["verdict"]["name"], "safe");
    EXPECT_EQ(line["verdict"]["value"], v["value"]) << photo;
    EXPECT_NEAR(line["verdict"]["score"].get<double>(), v["score"].get<double>(), 1e-5) << photo;

    // And as text: "PATH: top classes  safe=true (0.97)  (timings)".
    std::tie(rc, out) = RunInfer("--model " + safe_.string() + " " + photo);
    ASSERT_EQ(rc, 0) << out;
    const std::string want =
        std::string("safe=") + (v["value"].get<bool>() ? "true" : "false") + " (";
    EXPECT_NE(out.find(want), std::string::npos) << out;
  }

  // A cat photo is safe and not unsafe: both values of the verdict occur.
  auto r = c.Post("/v2/models/nsfw_safe/classify", FileBytes(kPhotos[0]), "image/png");
  EXPECT_EQ(json::parse(r->body)["verdict"]["value"], true) << r->body;
  r = c.Post("/v2/models/nsfw_unsafe/classify", FileBytes(kPhotos[0]), "image/png");
  EXPECT_EQ(json::parse(r->body)["verdict"]["value"], false) << r->body;

  // A model without a decision block has no verdict (infer prints none either).
  auto [rc, out] = RunInfer("--json --model " + kModel.string() + " " + kPhotos[0]);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_FALSE(FirstJsonLine(out).contains("verdict")) << out;
}

}  // namespace
}  // namespace kamado::serving
