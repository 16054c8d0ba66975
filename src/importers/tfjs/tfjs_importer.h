// TF.js layers-model importer: model.json + weight shards -> ir::Graph.
//
// Reads the format that `tensorflowjs_converter --output_format tfjs_layers_model`
// writes from a Keras (2.2.x) model: `modelTopology` (a functional `Model` or
// a `Sequential`, optionally wrapped in `{model_config: ...}`) and
// `weightsManifest` (shard files relative to model.json's folder; float32 or
// int32 weights, optionally quantised to uint8/uint16/float16).
//
// The graph follows the IR conventions (ir/op_type.h): activations in logical
// NCHW, 4-D graph inputs marked Layout::kNHWC, weights transposed to IR order,
// every value shaped (batch -1). Nodes are named after the Keras layers.
// Activations of Conv/Dense layers are separate nodes (no fusion here).
//
// Supported layers: InputLayer, Conv2D, DepthwiseConv2D, BatchNormalization,
// Activation, ReLU, LeakyReLU, ZeroPadding2D, MaxPooling2D, AveragePooling2D,
// GlobalAveragePooling2D, Concatenate, Add, Flatten, Dense, Dropout, Softmax
// (channels_last only; shared layers are not supported).
//
// Errors (every message starts with the model.json path):
//   NotFound        model.json or a shard file is missing; a layer's weight
//                   is not in the manifest.
//   InvalidArgument malformed JSON, a missing or mistyped field (named), shard
//                   sizes that differ from the manifest (file, expected and
//                   actual bytes), inconsistent shapes.
//   Unsupported     an unknown layer class or an attribute value kamado cannot
//                   run: "layer 'conv2d_3' (Conv2D): attribute
//                   data_format='channels_first' is not supported".
// Never throws. Thread-safe (no shared state).
#pragma once

#include <filesystem>

#include "core/result.h"
#include "ir/graph.h"

namespace kamado::importers {

Result<ir::Graph> ImportTfjsModel(const std::filesystem::path& model_json);

}  // namespace kamado::importers
