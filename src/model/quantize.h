// Post-training int8 quantization (issue 16): `kamado quantize` runs the
// fp32 model over calibration photos, records the range of every tensor
// between layers and the per-output-channel weight maxima, and writes a
// model directory that loads at int8 (runtime/quantization.h has the
// scheme).
//
// Methods, for the range of each tensor (of |x|):
//   minmax      the largest value seen;
//   percentile  the 99.99th percentile of |x| over every photo (outliers
//               saturate, the rest keeps its resolution);
//   entropy     the clipping threshold whose 8-bit histogram is closest in
//               Kullback-Leibler divergence to the fp32 one (2048 bins).
// The written directory: the model's files copied, kamado.yaml with
// `precision: int8` and `quantization: {table, method, calibration,
// fp32_layers}`, and the table (quantization.json).
#pragma once

#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "core/tensor.h"
#include "ir/graph.h"
#include "model/model_config.h"
#include "model/quant_table_json.h"
#include "runtime/quantization.h"

namespace kamado::model {

enum class CalibrationMethod { kMinMax, kPercentile, kEntropy };
Result<CalibrationMethod> ParseCalibrationMethod(std::string_view name);
std::string_view CalibrationMethodName(CalibrationMethod m);

struct QuantizeOptions {
  CalibrationMethod method = CalibrationMethod::kPercentile;
  double percentile = 99.99;
  int threads = 0;
  // Convolutions (node names in the graph after the passes) kept fp32.
  std::vector<std::string> fp32_layers;
  // Also keep the `auto_fp32` convolutions that cost the most accuracy
  // fp32: each convolution is run alone at int8 (the rest fp32) over the
  // first `sensitivity_photos` calibration inputs, and ranked by the mean
  // |Δp| against fp32 it causes.
  int auto_fp32 = 0;
  int sensitivity_photos = 16;
};

struct Calibration {
  runtime::QuantTable table;
  int photos = 0;
  std::vector<std::string> skipped;  // "path: why" for photos that could not be read
  int convolutions = 0;              // Conv nodes in the graph after the passes
  // With auto_fp32: every convolution's mean |Δp| when it alone is int8,
  // most costly first.
  std::vector<std::pair<std::string, double>> sensitivity;
};

// Runs `graph` (after the passes) at fp32 over `inputs` (batch 1 each) and
// measures the table.
Result<Calibration> CalibrateGraph(ir::Graph graph, std::span<const Tensor> inputs,
                                   const QuantizeOptions& options);

// Imports `config`'s model, runs the passes and calibrates on `photos`
// (decoded and preprocessed as served).
// InvalidArgument when no photo could be read.
Result<Calibration> Calibrate(const ModelConfig& config,
                              std::span<const std::filesystem::path> photos,
                              const QuantizeOptions& options);

// Writes the int8 model directory `out` from the model in `config.dir`
// (which it must not be).
Status WriteQuantizedModel(const ModelConfig& config, const std::filesystem::path& out,
                           const Calibration& calibration, const QuantizeOptions& options);

// The table of an int8 model directory (its kamado.yaml's quantization
// key), fp32_layers applied. InvalidArgument naming the file when it is
// missing or malformed.
Result<std::shared_ptr<const runtime::QuantTable>> ReadQuantTable(const ModelConfig& config);

}  // namespace kamado::model
