// ModelConfig: a model directory's kamado.yaml. Other tools write these
// files too, so fields are only ever added, never renamed.
//
//   name: inception_v3
//   format: tfjs              # tfjs | onnx
//   file: model.json          # or model.onnx
//   input: {layout: NHWC, height: 299, width: 299}
//   preprocess: {scale: 0.00392156862745098, mean: [0, 0, 0], std: [1, 1, 1],
//                resize: bilinear_align_corners, fit: stretch}
//   labels: [Drawing, Hentai, Neutral, Porn, Sexy]
#pragma once

#include <array>
#include <filesystem>
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
  std::vector<std::string> labels;

  std::filesystem::path model_path() const { return dir / file; }
};

// Reads and validates `dir`/kamado.yaml. Errors name the file and the field.
Result<ModelConfig> LoadModelConfig(const std::filesystem::path& dir);

}  // namespace kamado::runtime
