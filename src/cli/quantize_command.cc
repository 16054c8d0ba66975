#include "cli/quantize_command.h"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/image_files.h"
#include "model/model_config.h"
#include "model/quantize.h"
#include "runtime/quantization.h"

namespace kamado::cli {
namespace {

struct QuantizeArgs {
  std::string model;
  std::vector<std::string> images;
  std::string output;
  std::string method = "percentile";
  double percentile = 99.99;
  int max_images = 0;
  int threads = 0;
  std::vector<std::string> fp32_layers;
  int auto_fp32 = 0;
};

int RunQuantize(const QuantizeArgs& args) {
  auto fail = [](const Status& s) {
    std::cerr << "kamado quantize: " << s.message() << "\n";
    return 2;
  };
  model::QuantizeOptions options;
  auto method = model::ParseCalibrationMethod(args.method);
  if (!method.ok()) return fail(method.status());
  options.method = *method;
  options.percentile = args.percentile;
  options.threads = args.threads;
  options.fp32_layers = args.fp32_layers;
  options.auto_fp32 = args.auto_fp32;
  auto config = model::LoadModelConfig(args.model);
  if (!config.ok()) return fail(config.status());
  auto photos = CollectImages(args.images);
  if (!photos.ok()) return fail(photos.status());
  if (args.max_images > 0 && static_cast<int>(photos->size()) > args.max_images) {
    photos->resize(static_cast<size_t>(args.max_images));
  }
  const auto start = std::chrono::steady_clock::now();
  auto cal = model::Calibrate(*config, *photos, options);
  if (!cal.ok()) return fail(cal.status().WithPrefix("model '" + args.model + "'"));
  if (Status s = model::WriteQuantizedModel(*config, args.output, *cal, options); !s.ok()) return fail(s);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const int bits = runtime::WeightBits();
  std::cout << fmt::format(
      "{}: calibrated on {} photos ({}{}) in {:.1f} s; {} tensors ranged, {} of {} convolutions "
      "int8 (weights {}-bit on this CPU{})\n",
      config->name, cal->photos, args.method,
      options.method == model::CalibrationMethod::kPercentile ? fmt::format(" {}", args.percentile) : "",
      seconds, cal->table.activations.size(),
      cal->convolutions - static_cast<int>(cal->table.fp32_nodes.size()), cal->convolutions, bits,
      bits == 7 ? ": no VNNI, so vpmaddubsw's int16 pairs cannot saturate" : "");
  if (!cal->sensitivity.empty()) {
    std::cout << "most costly convolutions at int8 (mean |dp| each causes alone):";
    for (size_t i = 0; i < std::min<size_t>(8, cal->sensitivity.size()); ++i) {
      std::cout << fmt::format(" {} {:.4f}", cal->sensitivity[i].first, cal->sensitivity[i].second);
    }
    std::cout << "\n";
  }
  if (cal->table.fp32_nodes.empty()) {
    std::cout << "fp32 layers: none\n";
  } else {
    std::cout << "fp32 layers:";
    for (const std::string& n : cal->table.fp32_nodes) std::cout << " " << n;
    std::cout << "\n";
  }
  for (const std::string& s : cal->skipped) std::cout << "  skipped: " << s << "\n";
  std::cout << "written to " << args.output << " (precision: int8); gate it with: kamado compare --model "
            << args.output << " --images PHOTOS --precision int8\n";
  return 0;
}

}  // namespace

void AddQuantizeCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<QuantizeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "quantize",
      "Post-training int8 quantization: measure every tensor's range on calibration photos and "
      "write a model directory that loads at int8");
  cmd->add_option("--model", args->model, "Model directory (fp32)")->required();
  cmd->add_option("--images", args->images, "Calibration photos: files or directories (not the gate's)")
      ->required();
  cmd->add_option("-o,--output", args->output, "The int8 model directory to write")->required();
  cmd->add_option("--method", args->method, "Range of each tensor: minmax | percentile | entropy")
      ->check(CLI::IsMember({"minmax", "percentile", "entropy"}));
  cmd->add_option("--percentile", args->percentile, "For --method percentile: the percentile of |x| kept")
      ->check(CLI::Range(50.0, 100.0));
  cmd->add_option("--max-images", args->max_images, "Use at most this many photos (0: all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--threads", args->threads, "Intra-op threads (0 = all cores)");
  cmd->add_option("--fp32-layer", args->fp32_layers,
                  "A convolution to keep at fp32 (node name after the passes; repeatable)");
  cmd->add_option("--auto-fp32", args->auto_fp32,
                  "Also keep the N convolutions that cost the most accuracy at int8 fp32 (each "
                  "measured alone on the calibration photos)")
      ->check(CLI::NonNegativeNumber);
  cmd->callback([args, &exit_code] { exit_code = RunQuantize(*args); });
}

}  // namespace kamado::cli
