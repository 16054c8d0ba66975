// Loading a model directory: kamado.yaml → importer → passes → CompiledModel.
#pragma once

#include <filesystem>
#include <memory>

#include "core/result.h"
#include "ir/graph.h"
#include "runtime/compiled_model.h"
#include "runtime/model_config.h"

namespace kamado::runtime {

struct LoadedModel {
  ModelConfig config;
  std::shared_ptr<const CompiledModel> compiled;
};

// The model file of `config` as an IR graph (no passes run), its input
// checked against the config's height, width and layout.
Result<ir::Graph> ImportModel(const ModelConfig& config);

// Everything: config, import, compile. Errors are prefixed with the directory.
Result<LoadedModel> LoadModel(const std::filesystem::path& dir, const CompileOptions& options = {});

}  // namespace kamado::runtime
