#include "model/model_loader.h"

#include "importers/onnx/onnx_importer.h"
#include "importers/tfjs/tfjs_importer.h"

namespace kamado::model {

Result<ir::Graph> ImportModel(const ModelConfig& config) {
  Result<ir::Graph> imported = config.format == ModelFormat::kTfjs
                                   ? importers::ImportTfjsModel(config.model_path())
                                   : importers::ImportOnnxModel(config.model_path());
  ASSIGN_OR_RETURN(ir::Graph graph, std::move(imported));
  if (graph.name.empty()) graph.name = config.name;
  if (graph.inputs().size() != 1) {
    return Unsupported("model has " + std::to_string(graph.inputs().size()) +
                       " inputs; image classifiers with one input are supported");
  }
  if (graph.input_layout != config.layout) {
    return InvalidArgument("kamado.yaml key 'input.layout' does not match the model's layout");
  }
  const Shape& s = graph.value(graph.inputs()[0]).shape;  // logical [N, C, H, W]
  if (s.size() != 4 || s[1] != 3 || s[2] != config.height || s[3] != config.width) {
    return InvalidArgument("kamado.yaml says input " + std::to_string(config.height) + "x" +
                           std::to_string(config.width) + "x3, the model's input is " +
                           ShapeToString(s) + " (N, C, H, W)");
  }
  return graph;
}

Result<LoadedModel> LoadModel(const std::filesystem::path& dir,
                              const runtime::CompileOptions& options) {
  LoadedModel loaded;
  ASSIGN_OR_RETURN(loaded.config, LoadModelConfig(dir));
  auto graph = ImportModel(loaded.config);
  if (!graph.ok()) return graph.status().WithPrefix("model '" + dir.string() + "'");
  graph->name = loaded.config.name;
  auto compiled = runtime::CompiledModel::Compile(std::move(graph).value(), options);
  if (!compiled.ok()) return compiled.status().WithPrefix("model '" + dir.string() + "'");
  loaded.compiled = std::move(compiled).value();
  const auto& out = loaded.compiled->outputs();
  if (!loaded.config.labels.empty() &&
      (out.size() != 1 || out[0].shape.size() != 2 ||
       out[0].shape[1] != static_cast<int64_t>(loaded.config.labels.size()))) {
    return InvalidArgument("model '" + dir.string() + "': kamado.yaml lists " +
                           std::to_string(loaded.config.labels.size()) +
                           " labels but the output is " +
                           (out.empty() ? "missing" : ShapeToString(out[0].shape)));
  }
  return loaded;
}

}  // namespace kamado::model
