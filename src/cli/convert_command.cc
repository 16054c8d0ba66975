#include "cli/convert_command.h"

#include <filesystem>
#include <fstream>
#include <iostream>

#include "exporters/onnx/onnx_exporter.h"
#include "ir/shape_inference.h"
#include "model/model_loader.h"

namespace kamado::cli {
namespace {

namespace fs = std::filesystem;

struct ConvertArgs {
  std::string model;
  std::string output;
  std::string layout;  // empty = the model's own
};

// OUT_DIR/kamado.yaml: the source's config (every key kept) pointing at model.onnx.
Status WriteConfig(model::ModelConfig config, Layout layout, const fs::path& dir) {
  config.format = model::ModelFormat::kOnnx;
  config.file = "model.onnx";
  config.layout = layout;
  config.converted_from = fs::absolute(config.dir).lexically_normal().string();
  const fs::path path = dir / "kamado.yaml";
  std::ofstream out(path);
  out << model::FormatModelConfig(config);
  if (!out) return Internal("cannot write '" + path.string() + "'");
  return Status::Ok();
}

Status Convert(const ConvertArgs& args) {
  ASSIGN_OR_RETURN(model::ModelConfig config, model::LoadModelConfig(args.model));
  ASSIGN_OR_RETURN(ir::Graph graph, model::ImportModel(config));
  RETURN_IF_ERROR(ir::InferShapes(graph));
  exporters::OnnxExportOptions options;
  options.input_layout = config.layout;
  if (args.layout == "NHWC") options.input_layout = Layout::kNHWC;
  if (args.layout == "NCHW") options.input_layout = Layout::kNCHW;

  const fs::path out = args.output;
  if (out.extension() == ".onnx") {
    RETURN_IF_ERROR(exporters::WriteOnnxFile(graph, out, options));
    std::cout << "wrote " << out.string() << "\n";
    return Status::Ok();
  }
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) return NotFound("cannot create '" + out.string() + "': " + ec.message());
  RETURN_IF_ERROR(exporters::WriteOnnxFile(graph, out / "model.onnx", options));
  RETURN_IF_ERROR(WriteConfig(config, options.input_layout, out));
  std::cout << "wrote " << (out / "model.onnx").string() << " and " << (out / "kamado.yaml").string()
            << "\n";
  return Status::Ok();
}

}  // namespace

void AddConvertCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ConvertArgs>();
  CLI::App* cmd = app.add_subcommand(
      "convert", "Export a model to ONNX (input \"input\", output \"output\", batch \"N\")");
  cmd->add_option("model", args->model, "Model directory (holds kamado.yaml)")->required();
  cmd->add_option("-o,--output", args->output,
                  "OUT.onnx, or a directory to get model.onnx + kamado.yaml")
      ->required();
  cmd->add_option("--layout", args->layout, "Input layout of the export (default: the model's)")
      ->check(CLI::IsMember({"NHWC", "NCHW"}));
  cmd->callback([args, &exit_code] {
    const Status s = Convert(*args);
    if (!s.ok()) std::cerr << "kamado convert: " << s.ToString() << "\n";
    exit_code = s.ok() ? 0 : 1;
  });
}

}  // namespace kamado::cli
