// ModelConfig: a model directory's kamado.yaml, parsed once into typed
// values. Other tools write these files too, so keys are only ever added,
// never renamed.
//
//   name: inception_v3
//   format: tfjs              # tfjs | onnx
//   file: model.json          # or model.onnx
//   input: {layout: NHWC, height: 299, width: 299}
//   preprocess: {scale: 0.00392156862745098, mean: [0, 0, 0], std: [1, 1, 1],
//                resize: bilinear_align_corners, fit: stretch,
//                exact_resize: false, alpha: drop, background: [255, 255, 255]}
//   decode: {max_input_bytes: 67108864, max_pixels: 100000000, max_side: 65535}   # optional
//   labels: [Drawing, Hentai, Neutral, Porn, Sexy]
//   decision: {name: safe, positive: [Neutral, Drawing], threshold: 0.5}   # optional
//   source: nsfwjs@4.3.0      # optional, where the model came from (kept, not used)
//   converted_from: DIR       # optional, written by `kamado convert`
//   precision: bf16           # optional: fp32 (default) | bf16 | int8 (runtime/precision.h)
//   quantization: {table: quantization.json, method: percentile,   # optional, written
//                  calibration: 64, fp32_layers: [conv_0]}           # by `kamado quantize`
//
// Every error names the file, the line and column, and the key
// ("models/m/kamado.yaml:4:17: key 'input.layout': 'HWC' is not one of NHWC,
// NCHW"): a missing or repeated key, a value of the wrong type or out of
// range, an unknown value of an enumerated key (Unsupported for `format`,
// `preprocess.resize`, `preprocess.fit` and `preprocess.alpha`, whose other
// values kamado may support one day), and an unknown key (a typo must not be
// silently ignored).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/layout.h"
#include "core/result.h"
#include "core/shape.h"
#include "image/decode.h"
#include "image/preprocess.h"
#include "runtime/precision.h"

namespace kamado::model {

enum class ModelFormat { kTfjs, kOnnx };
// "tfjs" | "onnx": the value `format:` takes.
std::string_view ModelFormatName(ModelFormat format);

// How the picture is fitted to the input size; only stretching (the aspect
// ratio is not kept, nothing is cropped) exists today.
enum class Fit { kStretch };

struct PreprocessConfig {
  double scale = 1.0 / 255.0;  // pixel · scale, then (· − mean[c]) / std[c]
  std::array<float, 3> mean{0.0f, 0.0f, 0.0f};
  std::array<float, 3> std{1.0f, 1.0f, 1.0f};
  // `resize:` bilinear_align_corners | bilinear (half-pixel centres).
  image::Resize resize = image::Resize::kBilinearAlignCorners;
  Fit fit = Fit::kStretch;
  // false: JPEG/WebP may be decoded at a reduced size (DCT scaling) no smaller
  // than the input size; true: always decode at full size (parity work).
  bool exact_resize = false;
  // `alpha:` drop | composite (over `background`).
  image::AlphaMode alpha = image::AlphaMode::kDrop;
  std::array<uint8_t, 3> background{255, 255, 255};

  bool operator==(const PreprocessConfig&) const = default;
};

// Limits on untrusted images (image::DecodeOptions); 0 keeps the decoder's default.
struct DecodeLimitsConfig {
  uint64_t max_input_bytes = 0;
  uint64_t max_pixels = 0;
  uint32_t max_side = 0;

  bool operator==(const DecodeLimitsConfig&) const = default;
};

// An optional yes/no question answered from the probabilities: the verdict
// `name` is true when the sum of the `positive` classes' probabilities is
// ≥ `threshold`. Every positive label must be one of `labels`.
struct DecisionConfig {
  std::string name;
  std::vector<std::string> positive;
  std::vector<int> positive_indices;  // resolved against `labels`
  double threshold = 0.5;

  bool operator==(const DecisionConfig&) const = default;
};

// What `kamado quantize` wrote: the ranges file (model/quantize.h), how
// they were measured, and the convolutions kept at fp32 (which a user may
// edit: a layer listed here runs fp32 in the int8 model).
struct QuantizationConfig {
  std::string table;   // relative to dir
  std::string method;  // minmax | percentile | entropy
  int calibration = 0;  // photos measured
  std::vector<std::string> fp32_layers;

  bool operator==(const QuantizationConfig&) const = default;
};

struct ModelConfig {
  std::filesystem::path dir;  // where kamado.yaml was read from
  std::string name;
  ModelFormat format = ModelFormat::kTfjs;
  std::string file;  // relative to dir
  Layout layout = Layout::kNHWC;
  int height = 0;
  int width = 0;
  PreprocessConfig preprocess;
  DecodeLimitsConfig decode;
  std::vector<std::string> labels;
  std::optional<DecisionConfig> decision;
  std::string source;          // provenance, "" when absent
  std::string converted_from;  // set by `kamado convert`, "" when absent
  // The precision the model is compiled at unless a caller overrides it
  // (`--precision`); written only when not fp32.
  runtime::Precision precision = runtime::Precision::kFp32;
  std::optional<QuantizationConfig> quantization;

  std::filesystem::path model_path() const { return dir / file; }
  // The shape of `batch` images in the model's layout: [N, H, W, 3] or [N, 3, H, W].
  Shape InputShape(int64_t batch) const;

  bool operator==(const ModelConfig&) const = default;
};

// Reads and validates `dir`/kamado.yaml (see the file comment for errors).
// NotFound when the directory has no kamado.yaml.
Result<ModelConfig> LoadModelConfig(const std::filesystem::path& dir);
// The same for the text of a kamado.yaml; `file` names it in messages and
// `dir` becomes the config's directory.
Result<ModelConfig> ParseModelConfig(std::string_view yaml, std::string_view file,
                                     const std::filesystem::path& dir);

// The YAML text of `config` with every key written out; ParseModelConfig of
// it gives `config` back (for the same dir).
std::string FormatModelConfig(const ModelConfig& config);

}  // namespace kamado::model
