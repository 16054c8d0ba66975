#include "cli/infer_command.h"

#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/precision_flag.h"
#include "image/decode.h"
#include "model/classification.h"
#include "model/image_options.h"
#include "model/model_loader.h"
#include "runtime/session.h"

namespace kamado::cli {
namespace {

struct InferArgs {
  std::string model;
  int threads = 0;
  int top_k = 3;
  std::string precision;
  bool json = false;
  bool exact_resize = false;
  std::vector<std::string> images;
};

double MsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

int RunInfer(const InferArgs& args) {
  runtime::CompileOptions compile;
  compile.threads = args.threads;
  compile.precision = PrecisionFromFlag(args.precision);
  std::string chosen;
  auto loaded = args.precision == "auto"
                    ? model::LoadModelAutoPrecision(args.model, compile, nullptr, &chosen)
                    : model::LoadModel(args.model, compile);
  if (!chosen.empty()) std::cerr << "kamado infer: precision auto: " << chosen << "\n";
  if (!loaded.ok()) {
    std::cerr << "kamado infer: " << loaded.status().ToString() << "\n";
    return 2;
  }
  const model::ModelConfig& config = loaded->config;
  runtime::Session session(loaded->compiled, {.threads = args.threads});
  const image::PreprocessOptions pre = model::PreprocessOptionsFor(config);
  const image::DecodeOptions decode = model::DecodeOptionsFor(config, args.exact_resize);
  int failures = 0;
  for (const std::string& path : args.images) {
    using Clock = std::chrono::steady_clock;
    auto t0 = Clock::now();
    auto decoded = image::DecodeImageFile(path, decode);
    const double decode_ms = MsSince(t0);
    if (!decoded.ok()) {
      std::cerr << "kamado infer: " << decoded.status().ToString() << "\n";
      ++failures;
      continue;
    }
    t0 = Clock::now();
    auto tensor = image::Preprocess(*decoded, pre);
    const double preprocess_ms = MsSince(t0);
    if (!tensor.ok()) {
      std::cerr << "kamado infer: " << path << ": " << tensor.status().ToString() << "\n";
      ++failures;
      continue;
    }
    t0 = Clock::now();
    auto outputs = session.Run({*tensor});
    const double infer_ms = MsSince(t0);
    if (!outputs.ok()) {
      std::cerr << "kamado infer: " << path << ": " << outputs.status().ToString() << "\n";
      ++failures;
      continue;
    }
    const Tensor& probs = outputs->front();
    const std::span<const float> p = probs.span();
    const std::vector<model::ScoredClass> top = model::TopClasses(config, p, args.top_k);
    const std::optional<model::Verdict> verdict = model::Decide(config, p);
    if (args.json) {
      nlohmann::json j;
      j["image"] = path;
      j["top"] = nlohmann::json::array();
      for (const auto& c : top) {
        j["top"].push_back({{"label", c.label}, {"index", c.index}, {"score", c.score}});
      }
      j["probabilities"] = std::vector<float>(p.begin(), p.end());
      j["latency_ms"] = {{"decode", decode_ms}, {"preprocess", preprocess_ms}, {"infer", infer_ms}};
      if (verdict) {
        j["verdict"] = {{"name", verdict->name}, {"value", verdict->value}, {"score", verdict->score}};
      }
      std::cout << j.dump() << "\n";
    } else {
      std::cout << path << ":";
      for (const auto& c : top) std::cout << " " << c.label << "=" << c.score;
      if (verdict) {
        std::cout << "  " << verdict->name << "=" << (verdict->value ? "true" : "false") << " ("
                  << verdict->score << ")";
      }
      std::cout << "  (decode " << decode_ms << " ms, preprocess " << preprocess_ms
                << " ms, infer " << infer_ms << " ms)\n";
    }
    std::cout.flush();
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace

void AddInferCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<InferArgs>();
  CLI::App* cmd = app.add_subcommand("infer", "Classify images with a model, in process");
  cmd->add_option("--model", args->model, "Model directory (holds kamado.yaml)")->required();
  cmd->add_option("--threads", args->threads, "Intra-op threads (0 = all cores)");
  cmd->add_option("--top-k", args->top_k, "How many classes to print")->check(CLI::PositiveNumber);
  cmd->add_flag("--json", args->json, "One JSON object per image per line");
  AddPrecisionFlag(cmd, &args->precision);
  cmd->add_flag("--exact-resize", args->exact_resize,
                "Decode JPEG/WebP at full size (no DCT scaling), as the TF.js reference does");
  cmd->add_option("images", args->images, "Image files (JPEG, PNG, WebP)")->required();
  cmd->callback([args, &exit_code] { exit_code = RunInfer(*args); });
}

}  // namespace kamado::cli
