// Loading a model directory: kamado.yaml → importer → passes → CompiledModel,
// and the product's policy for what a served model is (one image input of
// 3 channels, as large as kamado.yaml says; one output per label).
#pragma once

#include <filesystem>
#include <memory>

#include "core/result.h"
#include "ir/graph.h"
#include "model/model_config.h"
#include "runtime/compiled_model.h"

namespace kamado::model {

struct LoadedModel {
  ModelConfig config;
  std::shared_ptr<const runtime::CompiledModel> compiled;
};

// The model file of `config` as an IR graph (no passes run), its input
// checked against the config's height, width and layout.
Result<ir::Graph> ImportModel(const ModelConfig& config);

// Everything: config, import, compile. Errors are prefixed with the directory.
Result<LoadedModel> LoadModel(const std::filesystem::path& dir,
                              const runtime::CompileOptions& options = {});

}  // namespace kamado::model
