// The image path a model directory asks for: kamado.yaml's preprocess and
// decode blocks as the image layer's options. Pure functions.
#pragma once

#include "image/decode.h"
#include "image/preprocess.h"
#include "model/model_config.h"

namespace kamado::model {

image::PreprocessOptions PreprocessOptionsFor(const ModelConfig& config);

// Decode options for images fed to the model: the config's limits and alpha
// handling, and reduced-size decoding down to the input size unless
// `exact_resize` (or the config's preprocess.exact_resize) asks for full size.
image::DecodeOptions DecodeOptionsFor(const ModelConfig& config, bool exact_resize = false);

}  // namespace kamado::model
