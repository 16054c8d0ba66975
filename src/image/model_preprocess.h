// The preprocessing a model directory's kamado.yaml asks for.
#pragma once

#include "image/preprocess.h"
#include "runtime/model_config.h"

namespace kamado {

PreprocessOptions PreprocessOptionsFor(const runtime::ModelConfig& config);

}  // namespace kamado
