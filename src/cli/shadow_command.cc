#include "cli/shadow_command.h"

#include <fmt/format.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <optional>

#include "cli/image_files.h"
#include "core/file_util.h"
#include "image/thumbnail.h"
#include "serving/http/http_client.h"
#include "serving/http/url.h"
#include "shadow/comparison.h"
#include "shadow/endpoint.h"
#include "shadow/shadow_html.h"
#include "shadow/shadow_report.h"
#include "shadow/shadow_run.h"

namespace kamado::cli {
namespace {

struct ShadowArgs {
  std::string a, b, noise;
  std::string a_labels, b_labels;
  std::string a_tensor, b_tensor;
  std::string images;
  int concurrency = 1;
  double rate = 0;
  double duration_s = 0;
  int top_k = 5;
  int timeout_ms = 30000;
  bool json = false;
  std::string report;
  std::string from_mirror;
  std::string cost, a_fleet, b_fleet;
};

// The endpoint of one side, its classes (a labels file wins over the
// metadata) and a connection check: all before any photo is sent.
struct Prepared {
  shadow::Endpoint endpoint;
  shadow::ClassInfo classes;
};

Result<Prepared> Prepare(const std::string& url, const char* flag, const std::string& labels_file,
                         const std::string& tensor_dir, std::chrono::milliseconds timeout) {
  Prepared p;
  ASSIGN_OR_RETURN(p.endpoint, shadow::ParseEndpoint(url, flag));
  if (!tensor_dir.empty()) RETURN_IF_ERROR(shadow::UseTensorInput(p.endpoint, tensor_dir, flag));
  serving::http::HttpClient client(p.endpoint.http.host, p.endpoint.http.port, timeout);
  ASSIGN_OR_RETURN(p.classes, shadow::FetchClassInfo(p.endpoint, client));
  if (!labels_file.empty()) {
    ASSIGN_OR_RETURN(p.classes, shadow::ReadLabelsFile(labels_file));
  }
  return p;
}

std::string CommandLine(const ShadowArgs& a) {
  std::string s = fmt::format("kamado shadow --a {} --b {}", a.a, a.b);
  if (!a.noise.empty()) s += " --noise " + a.noise;
  if (!a.a_labels.empty()) s += " --a-labels " + a.a_labels;
  if (!a.a_tensor.empty()) s += " --a-tensor " + a.a_tensor;
  if (!a.b_tensor.empty()) s += " --b-tensor " + a.b_tensor;
  if (!a.b_labels.empty()) s += " --b-labels " + a.b_labels;
  s += fmt::format(" --images {} --concurrency {}", a.images, a.concurrency);
  if (a.rate > 0) s += fmt::format(" --rate {:g}", a.rate);
  if (a.duration_s > 0) s += fmt::format(" --duration {:g}", a.duration_s);
  if (!a.cost.empty()) s += " --cost " + a.cost;
  if (!a.a_fleet.empty()) s += " --a-fleet " + a.a_fleet;
  if (!a.b_fleet.empty()) s += " --b-fleet " + a.b_fleet;
  return s;
}

// Thumbnails of the photos listed as disagreeing; a photo that cannot be
// shown is listed by name only.
std::map<std::string, std::string> Thumbnails(const shadow::ShadowResult& r,
                                              const std::vector<perf::Payload>& photos) {
  std::map<std::string, std::string> out;
  for (const auto& d : r.ab.disagreements) {
    for (const auto& p : photos) {
      if (p.name != d.photo) continue;
      auto t =
          image::JpegThumbnail({reinterpret_cast<const uint8_t*>(p.body.data()), p.body.size()});
      if (t.ok()) out[p.name] = std::move(t).value();
      break;
    }
  }
  return out;
}

bool ScoresOnly(const shadow::Endpoint& e) { return e.protocol != shadow::Protocol::kTorchServe; }

// --from-mirror URL: what `kamado serve --mirror` has recorded (GET
// /v2/mirror), summarised, and its page written with --report.
int RunFromMirror(const ShadowArgs& args) {
  auto fail = [](const Status& s, int code) {
    std::cerr << "kamado shadow: " << s.message() << "\n";
    return code;
  };
  auto url = serving::http::ParseHttpUrl(args.from_mirror, "--from-mirror");
  if (!url.ok()) return fail(url.status(), 2);
  serving::http::HttpClient client(url->host, url->port,
                                   std::chrono::milliseconds(args.timeout_ms));
  auto r = client.Get("/v2/mirror");
  if (!r.ok())
    return fail(Unavailable("cannot reach " + args.from_mirror + ": " + r.status().message()), 1);
  if (r->status != 200) {
    return fail(Unavailable(fmt::format("GET /v2/mirror at {}: HTTP {} {}", args.from_mirror,
                                        r->status, r->body)),
                1);
  }
  const nlohmann::json j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.contains("a_vs_b") || !j.contains("mirror")) {
    return fail(InvalidArgument("GET /v2/mirror at " + args.from_mirror + ": not a mirror's JSON"),
                1);
  }
  // A foreign or damaged document: JSON's type errors become this message.
  std::string summary;
  try {
    const auto& m = j.at("mirror");
    const auto& ab = j.at("a_vs_b");
    const auto& sides = j.at("sides");
    summary = fmt::format(
        "mirror of model {} to {}: {} sent, {} dropped (queue full), {} waiting; top-1 agreement "
        "{:.2f}% of {} "
        "compared, |Δp| max {:.3g}; live p50/p99 {:.1f}/{:.1f} ms, mirror {:.1f}/{:.1f} ms\n",
        m.value("model", ""), m.value("target", ""), j.value("photos", 0), m.value("dropped", 0),
        m.value("queued", 0), 100 * ab.value("top1_agreement", 0.0), ab.value("compared", 0),
        ab.value("max_abs_dp", 0.0), sides.at(0).at("latency_ms").value("p50", 0.0),
        sides.at(0).at("latency_ms").value("p99", 0.0),
        sides.at(1).at("latency_ms").value("p50", 0.0),
        sides.at(1).at("latency_ms").value("p99", 0.0));
  } catch (const nlohmann::json::exception& e) {
    return fail(InvalidArgument("GET /v2/mirror at " + args.from_mirror +
                                ": not a mirror's JSON (" + e.what() + ")"),
                1);
  }
  std::cout << summary;
  if (!args.report.empty()) {
    auto html = client.Get("/v2/mirror?format=html");
    if (!html.ok() || html->status != 200)
      return fail(Unavailable("GET /v2/mirror?format=html failed"), 1);
    if (Status s = WriteFileAtomically(args.report, html->body); !s.ok()) return fail(s, 1);
    std::cout << "report: " << args.report << "\n";
  }
  if (args.json) std::cout << j.dump() << "\n";
  return 0;
}

int RunShadowCommand(const ShadowArgs& args) {
  auto fail = [](const Status& s, int code) {
    std::cerr << "kamado shadow: " << s.message() << "\n";
    return code;
  };
  if (!args.from_mirror.empty()) return RunFromMirror(args);
  if (args.a.empty() || args.b.empty() || args.images.empty()) {
    return fail(InvalidArgument("give --a URL, --b URL and --images DIR (or --from-mirror URL)"),
                2);
  }
  const auto timeout = std::chrono::milliseconds(args.timeout_ms);
  auto photos = ReadImagePayloads(args.images, "kamado shadow");
  if (!photos.ok()) return fail(photos.status(), 2);
  auto a = Prepare(args.a, "--a", args.a_labels, args.a_tensor, timeout);
  if (!a.ok()) return fail(a.status(), 2);
  auto b = Prepare(args.b, "--b", args.b_labels, args.b_tensor, timeout);
  if (!b.ok()) return fail(b.status(), 2);
  std::optional<Prepared> noise;
  if (!args.noise.empty()) {
    auto n = Prepare(args.noise, "--noise", args.a_labels, args.a_tensor, timeout);
    if (!n.ok()) return fail(n.status(), 2);
    if (n->endpoint.protocol != a->endpoint.protocol || n->classes.labels != a->classes.labels) {
      return fail(
          InvalidArgument("--noise must be a second instance of A: the same protocol and classes"),
          2);
    }
    noise = std::move(n).value();
  }
  const std::string a_name = fmt::format("A ({})", shadow::ProtocolName(a->endpoint.protocol));
  const std::string b_name = fmt::format("B ({})", shadow::ProtocolName(b->endpoint.protocol));
  auto space = shadow::LabelSpace::Resolve(a->classes, b->classes, a_name, b_name,
                                           ScoresOnly(a->endpoint), ScoresOnly(b->endpoint));
  if (!space.ok()) return fail(space.status(), 2);

  std::optional<shadow::CostLine> cost;
  if (!args.cost.empty()) {
    auto text = ReadFile(args.cost);
    if (!text.ok()) return fail(text.status(), 2);
    auto c = shadow::ParseCostLine(*text, args.cost, args.a_fleet, args.b_fleet);
    if (!c.ok()) return fail(c.status(), 2);
    cost = std::move(c).value();
  }

  shadow::ShadowOptions options;
  options.concurrency = args.concurrency;
  options.rate = args.rate;
  options.duration_s = args.duration_s;
  options.top_k = args.top_k;
  auto factory = [timeout](const shadow::Endpoint& e) -> shadow::SideFactory {
    return [e, timeout] { return shadow::MakeHttpSide(e, timeout); };
  };
  std::cerr << fmt::format("kamado shadow: {} photos to A {} and B {}{}\n", photos->size(), args.a,
                           args.b, noise ? " and A′ " + args.noise : "");
  auto result = shadow::RunShadow(
      *photos, std::move(space).value(), factory(a->endpoint), factory(b->endpoint),
      noise ? factory(noise->endpoint) : shadow::SideFactory{}, options);
  if (!result.ok()) return fail(result.status(), 1);
  result->a.url = args.a;
  result->b.url = args.b;
  if (result->noise) result->noise->url = args.noise;
  std::cout << shadow::ShadowText(*result);
  if (cost) std::cout << shadow::CostSentence(*cost) << "\n";
  if (!args.report.empty()) {
    shadow::HtmlInputs html;
    html.command = CommandLine(args);
    html.thumbnails = Thumbnails(*result, *photos);
    html.cost = cost;
    if (Status s = WriteFileAtomically(args.report, shadow::RenderShadowHtml(*result, html));
        !s.ok())
      return fail(s, 1);
    std::cout << "report: " << args.report << "\n";
  }
  if (args.json) {
    nlohmann::json j = shadow::ShadowJson(*result);
    if (cost) {
      j["cost"] = {{"a_fleet", cost->a.name},
                   {"a_usd_month", cost->a.usd_month},
                   {"b_fleet", cost->b.name},
                   {"b_usd_month", cost->b.usd_month}};
    }
    std::cout << j.dump() << "\n";
  }
  std::cout << std::flush;
  if (result->ab.compared == 0) return fail(Unavailable("no photo was answered by both sides"), 1);
  return 0;
}

}  // namespace

void AddShadowCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ShadowArgs>();
  CLI::App* cmd = app.add_subcommand(
      "shadow",
      "Send the same photos to two classifier servers and compare their answers and latency");
  const char* url_help =
      "the URL a photo is posted to: http://H:P/v2/models/M/classify (kamado), /v2/models/M/infer "
      "(OIP v2), "
      "/v1/models/M:predict (TF Serving) or /predictions/M (TorchServe)";
  cmd->add_option("--a", args->a, std::string("Side A (the server in production), ") + url_help);
  cmd->add_option("--b", args->b, "Side B (the candidate), the same forms");
  cmd->add_option("--noise", args->noise,
                  "A second instance of A: the A-vs-A disagreement is the floor");
  cmd->add_option("--a-labels", args->a_labels,
                  "A's labels, one per line in its output order (else its metadata)");
  cmd->add_option("--b-labels", args->b_labels, "B's labels, the same");
  cmd->add_option(
      "--a-tensor", args->a_tensor,
      "A is an OIP v2 server that wants tensors: preprocess each photo as this kamado model "
      "directory's kamado.yaml says and send FP32");
  cmd->add_option("--b-tensor", args->b_tensor, "The same for B");
  cmd->add_option("--images", args->images, "Directory of .jpg/.jpeg/.png/.webp photos");
  cmd->add_option(
      "--from-mirror", args->from_mirror,
      "Instead: what `kamado serve --mirror` at http://HOST:PORT has recorded (GET /v2/mirror)");
  cmd->add_option("--concurrency", args->concurrency,
                  "Photos in flight (each to every side in turn)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--rate", args->rate,
                  "Photos per second (open loop, constant spacing; 0: as fast as answered)")
      ->check(CLI::Range(0.0, 1e5));
  cmd->add_option("--duration", args->duration_s,
                  "Seconds to repeat the photos for (0: each photo once)")
      ->check(CLI::Range(0.0, 86400.0));
  cmd->add_option("--top-k", args->top_k, "k of the top-k overlap")->check(CLI::Range(1, 1000));
  cmd->add_option("--timeout-ms", args->timeout_ms, "Per-request timeout")
      ->check(CLI::Range(1, 3600000));
  cmd->add_flag("--json", args->json, "Last line: one JSON object with every figure");
  cmd->add_option("--report", args->report,
                  "Write the cut-over page here (self-contained HTML, thumbnails)");
  cmd->add_option("--cost", args->cost,
                  "A `kamado cost --format json` file: both fleets' monthly bills on the page and "
                  "in the summary");
  cmd->add_option("--a-fleet", args->a_fleet, "A's fleet in --cost (default: its baseline)");
  cmd->add_option("--b-fleet", args->b_fleet,
                  "B's fleet in --cost (default: the cheapest other one)");
  cmd->callback([args, &exit_code] { exit_code = RunShadowCommand(*args); });
}

}  // namespace kamado::cli
