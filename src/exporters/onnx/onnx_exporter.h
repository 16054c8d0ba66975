// IR → ONNX, so any model kamado loads (the TF.js defaults included) can run
// in other runtimes — ONNX Runtime in the peer benchmark above all.
//
// The exported model (opset 13, IR version 8) has one input named "input"
// and one output named "output" (more are named input_1, output_1, …), with
// a symbolic batch dimension "N". With input_layout kNHWC the input is
// [N, H, W, C] followed by a Transpose to NCHW; with kNCHW it is [N, C, H, W].
// Fused post-ops are written out as separate nodes (Relu, Clip, Add, …), so
// the file is plain ONNX any runtime can optimise its own way.
#pragma once

#include <filesystem>
#include <string>

#include "core/result.h"
#include "ir/graph.h"

namespace kamado::exporters {

struct OnnxExportOptions {
  Layout input_layout = Layout::kNCHW;
  std::string producer_name = "kamado";
};

// The serialised ModelProto. Unsupported: graphs whose constants were
// released by a CompiledModel (export the imported graph instead).
Result<std::string> ExportOnnx(const ir::Graph& graph, const OnnxExportOptions& options = {});

// ExportOnnx, written to `path` (atomically: a temporary file, then rename).
Status WriteOnnxFile(const ir::Graph& graph, const std::filesystem::path& path,
                     const OnnxExportOptions& options = {});

}  // namespace kamado::exporters
