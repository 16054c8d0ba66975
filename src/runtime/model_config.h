// ModelConfig: a model directory's kamado.yaml. Other tools write these
// files too, so fields are only ever added, never renamed.
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
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "ir/graph.h"

namespace kamado::runtime {

struct PreprocessConfig {
  double scale = 1.0 / 255.0;  // pixel · scale, then (· − mean[c]) / std[c]
  std::array<float, 3> mean{0.0f, 0.0f, 0.0f};
  std::array<float, 3> std{1.0f, 1.0f, 1.0f};
  std::string resize = "bilinear_align_corners";  // | bilinear (half-pixel centres)
  std::string fit = "stretch";                     // aspect ratio not kept, no crop
  // false: JPEG/WebP may be decoded at a reduced size (DCT scaling) no smaller
  // than the input size; true: always decode at full size (parity work).
  bool exact_resize = false;
  std::string alpha = "drop";  // | composite (over `background`)
  std::array<int, 3> background{255, 255, 255};
};

// Limits on untrusted images (image::DecodeOptions); 0 keeps the decoder's default.
struct DecodeLimitsConfig {
  uint64_t max_input_bytes = 0;
  uint64_t max_pixels = 0;
  uint32_t max_side = 0;
};

// An optional yes/no question answered from the probabilities: the verdict
// `name` is true when the sum of the `positive` classes' probabilities is
// ≥ `threshold`. Every positive label must be one of `labels`.
struct DecisionConfig {
  std::string name;
  std::vector<std::string> positive;
  std::vector<int> positive_indices;  // resolved against `labels`
  double threshold = 0.5;
};

struct ModelConfig {
  std::filesystem::path dir;  // where kamado.yaml was read from
  std::string name;
  std::string format;  // "tfjs" | "onnx"
  std::string file;    // relative to dir
  ir::Layout layout = ir::Layout::kNHWC;
  int height = 0;
  int width = 0;
  PreprocessConfig preprocess;
  DecodeLimitsConfig decode;
  std::vector<std::string> labels;
  std::optional<DecisionConfig> decision;

  std::filesystem::path model_path() const { return dir / file; }
};

// Reads and validates `dir`/kamado.yaml. Errors name the file and the field.
Result<ModelConfig> LoadModelConfig(const std::filesystem::path& dir);

}  // namespace kamado::runtime
