// The preprocessing a model directory's kamado.yaml asks for.
#pragma once

#include "image/decode.h"
#include "image/preprocess.h"
#include "runtime/model_config.h"

namespace kamado {

PreprocessOptions PreprocessOptionsFor(const runtime::ModelConfig& config);

// Decode options for images fed to the model: the config's limits and alpha
// handling, and reduced-size decoding down to the input size unless
// `exact_resize` (or the config's preprocess.exact_resize) asks for full size.
DecodeOptions DecodeOptionsFor(const runtime::ModelConfig& config, bool exact_resize = false);

// bytes -> model input tensor ([1, H, W, 3] or [1, 3, H, W]): DecodeImage then
// Preprocess. Thread-safe; never throws.
Result<Tensor> DecodeToTensor(std::span<const uint8_t> bytes, const DecodeOptions& decode,
                              const PreprocessOptions& preprocess);

}  // namespace kamado
