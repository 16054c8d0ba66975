// Internal to the TF.js importer: loading the binary weights that a TF.js
// model.json's `weightsManifest` describes.
//
// Each manifest group lists shard files (`paths`, relative to model.json's
// folder) whose concatenation holds the group's weights back to back, in the
// order of its `weights` entries. Stored dtypes: float32, int32, or quantised
// (uint8/uint16 with value = q·scale + min, or float16). Every weight comes
// back as an fp32 Tensor with the manifest's shape (TF.js/Keras order; the
// layer converters transpose).
#pragma once

#include <filesystem>
#include <string>
#include <unordered_map>

#include "core/result.h"
#include "core/tensor.h"
#include "importers/tfjs/tfjs_json.h"

namespace kamado::importers::tfjs {

using WeightMap = std::unordered_map<std::string, Tensor>;

// Reads every group of `manifest` (the `weightsManifest` array) from files
// under `dir`. The bytes of a group's files must add up exactly to what its
// entries need; the error names the file and the expected and actual sizes.
// NotFound for a missing shard file; InvalidArgument for a malformed manifest
// or a size mismatch; Unsupported for other dtypes.
Result<WeightMap> LoadWeights(const Json& manifest, const std::filesystem::path& dir);

// IEEE 754 binary16 -> binary32 (exact; handles subnormals, inf and NaN).
float HalfToFloat(uint16_t h);

}  // namespace kamado::importers::tfjs
