#include "cli/compare_command.h"

#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/image_files.h"
#include "core/build_info.h"
#include "image/decode.h"
#include "image/preprocess.h"
#include "model/classification.h"
#include "model/image_options.h"
#include "model/model_loader.h"
#include "model/precision_gate.h"
#include "perf/progress.h"
#include "runtime/dnnl/dnnl_util.h"
#include "runtime/precision.h"
#include "runtime/session.h"

namespace kamado::cli {
namespace {

struct CompareArgs {
  std::string model;
  std::vector<std::string> images;
  std::string precision;
  std::string against = "fp32";
  int threads = 0;
  int min_photos = 50;
  int min_classes = 3;
  bool json = false;
  bool no_write = false;
};

struct Disagreement {
  std::string path, reference, candidate;
};

int RunCompare(const CompareArgs& args) {
  auto precision = runtime::ParsePrecision(args.precision);
  auto against = runtime::ParsePrecision(args.against);
  if (!precision.ok() || !against.ok()) {
    std::cerr << "kamado compare: " << (precision.ok() ? against : precision).status().message() << "\n";
    return 2;
  }
  auto collected = CollectImages(args.images);
  if (!collected.ok()) {
    std::cerr << "kamado compare: " << collected.status().message() << "\n";
    return 2;
  }
  const std::vector<std::filesystem::path>& paths = *collected;
  runtime::CompileOptions options;
  options.threads = args.threads;
  options.precision = *against;
  auto reference = model::LoadModel(args.model, options);
  options.precision = *precision;
  auto candidate = reference.ok() ? model::LoadModel(args.model, options) : reference;
  auto hash = model::HashModelFiles(args.model);
  for (const Status& s : {reference.status(), candidate.status(), hash.status()}) {
    if (!s.ok()) {
      std::cerr << "kamado compare: " << s.message() << "\n";
      return 2;
    }
  }
  const model::ModelConfig& config = reference->config;
  runtime::Session ref_session(reference->compiled, {.threads = args.threads});
  runtime::Session cand_session(candidate->compiled, {.threads = args.threads});
  const image::DecodeOptions decode = model::DecodeOptionsFor(config);
  const image::PreprocessOptions pre = model::PreprocessOptionsFor(config);
  model::AgreementStats stats;
  std::vector<Disagreement> disagreements;
  std::vector<std::string> unreadable;
  int num_classes = 0;
  perf::Progress progress("compare " + config.name + " " + args.precision + " vs " + args.against,
                          static_cast<int>(paths.size()));
  for (size_t i = 0; i < paths.size(); ++i) {
    progress.Update(static_cast<int>(i) + 1, paths[i].filename().string());
    auto decoded = image::DecodeImageFile(paths[i], decode);
    auto tensor = decoded.ok() ? image::Preprocess(*decoded, pre) : Result<Tensor>(decoded.status());
    if (!tensor.ok()) {
      unreadable.push_back(paths[i].string() + ": " + tensor.status().message());
      continue;
    }
    auto p = ref_session.Run({*tensor});
    auto q = p.ok() ? cand_session.Run({*tensor}) : p;
    if (!p.ok() || !q.ok()) {
      progress.Finish();
      std::cerr << "kamado compare: " << paths[i].string() << ": "
                << (p.ok() ? q : p).status().message() << "\n";
      return 2;
    }
    const std::span<const float> ps = p->front().span(), qs = q->front().span();
    num_classes = static_cast<int>(ps.size());
    if (!stats.Add(ps, qs)) {
      disagreements.push_back({paths[i].string(), model::TopClasses(config, ps, 1)[0].label,
                               model::TopClasses(config, qs, 1)[0].label});
    }
  }
  progress.Finish();
  model::GateThresholds t = model::DefaultThresholds(*precision);
  t.min_photos = args.min_photos;
  t.min_classes = args.min_classes;
  model::GateResult r = model::Judge(stats, num_classes, *precision, t);
  r.against = args.against;
  r.isa = runtime::EffectiveIsaName();
  r.onednn = runtime::OneDnnVersion();
  r.build = CurrentBuild().ToString();
  r.model_hash = *hash;
  for (const std::string& a : args.images) r.images += (r.images.empty() ? "" : " ") + a;

  bool wrote = false;
  if (!args.no_write) {
    if (Status s = model::WriteGate(args.model, r); !s.ok()) {
      std::cerr << "kamado compare: " << s.message() << "\n";
      return 2;
    }
    wrote = true;
  }
  if (args.json) {
    nlohmann::json j = model::GateToJson(r);
    j["model"] = config.name;
    j["disagreements"] = nlohmann::json::array();
    for (const auto& d : disagreements) {
      j["disagreements"].push_back({{"image", d.path}, {args.against, d.reference}, {args.precision, d.candidate}});
    }
    j["unreadable"] = unreadable;
    std::cout << j.dump() << "\n";
  } else {
    std::cout << fmt::format(
        "{} {} against {} on {} photos ({} CPU ISA): top-1 agreement {:.2f}% ({} differ), "
        "max |dp| {:.4f}, mean |dp| {:.5f}; {}'s top-1 covers {} of {} classes\n",
        config.name, args.precision, args.against, r.photos, r.isa, r.top1_agreement * 100,
        disagreements.size(), r.max_abs_dp, r.mean_abs_dp, args.against, r.reference_classes,
        r.num_classes);
    if (r.topk_overlap >= 0) std::cout << fmt::format("top-5 overlap {:.2f}%\n", r.topk_overlap * 100);
    for (const auto& d : disagreements) {
      std::cout << "  differs: " << d.path << ": " << args.against << " " << d.reference << ", "
                << args.precision << " " << d.candidate << "\n";
    }
    for (const auto& u : unreadable) std::cout << "  skipped: " << u << "\n";
    std::cout << "gate: " << (r.passed ? "PASSED" : "FAILED");
    for (const auto& f : r.failures) std::cout << "\n  " << f;
    std::cout << "\n";
    if (wrote) std::cout << "written to " << model::GateFile(args.model).string() << "\n";
  }
  return r.passed ? 0 : 1;
}

}  // namespace

void AddCompareCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<CompareArgs>();
  CLI::App* cmd = app.add_subcommand(
      "compare",
      "A model at a reduced precision against fp32 on photos: top-1 agreement and |dp|, the gate "
      "kamado serve checks (written to MODEL/.kamado/gate.json)");
  cmd->add_option("--model", args->model, "Model directory")->required();
  cmd->add_option("--images", args->images, "Photos: files or directories (not the calibration set)")
      ->required();
  cmd->add_option("--precision", args->precision, "The precision to gate: bf16 | int8")
      ->required()
      ->check(CLI::IsMember({"bf16", "int8"}));
  cmd->add_option("--against", args->against, "The reference precision")
      ->check(CLI::IsMember({"fp32", "bf16"}));
  cmd->add_option("--threads", args->threads, "Intra-op threads (0 = all cores)");
  cmd->add_option("--min-photos", args->min_photos, "Photos the gate needs")->check(CLI::PositiveNumber);
  cmd->add_option("--min-classes", args->min_classes,
                  "Distinct fp32 top-1 classes the photos must cover")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--json", args->json, "One JSON object (the gate entry, disagreements listed)");
  cmd->add_flag("--no-write", args->no_write, "Report only; leave the model directory as it is");
  cmd->callback([args, &exit_code] { exit_code = RunCompare(*args); });
}

}  // namespace kamado::cli
