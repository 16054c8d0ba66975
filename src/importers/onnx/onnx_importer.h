// ONNX importer: model.onnx (+ external data files) -> ir::Graph.
//
// Reads an ONNX ModelProto (default domain, opsets 7–17) of the ops image
// classifiers use (older opsets load where the op did not change): Conv (groups, pads, strides, dilations, auto_pad),
// BatchNormalization, Relu, Clip, LeakyRelu, Sigmoid, Tanh, Elu, HardSigmoid,
// HardSwish, Exp, Reciprocal, Neg, Abs, Sqrt, Add/Sub/Mul/Div (Sub and Div
// also with a constant first operand), Pow by a constant scalar (2, 1, 0.5, −1),
// Concat, MaxPool and AveragePool (1-D and 2-D, ceil_mode), GlobalAveragePool,
// GlobalMaxPool, ReduceMean/ReduceSum/ReduceSumSquare/ReduceMax/ReduceMin over
// any axes but the batch, Gemm (C a scalar, [N], or [M, N] pinning the batch
// size to M), MatMul (2-D, or over the last axis of a 3-/4-D input), Flatten, Reshape, Squeeze, Unsqueeze, Transpose, Pad
// (constant), Softmax, Identity, Dropout, Constant.
//
// The graph follows the IR conventions (ir/op_type.h), which are ONNX's:
// activations are logical NCHW and weights keep their ONNX order. Dimension 0
// of every graph input is the batch and becomes dynamic (-1); ops that would
// move or merge the batch axis (Transpose with perm[0] != 0, Reshape that
// changes dimension 0, Flatten with axis != 1, Concat on axis 0, ...) are
// Unsupported; a Reshape target whose dimension 0 equals the input's declared
// batch size keeps the batch. Initializers and Constant nodes become IR constants; nodes
// whose inputs are all constants are folded where the importer can evaluate
// them (data movement and element-wise arithmetic). Tensors with
// data_location EXTERNAL are read from files relative to model.onnx's folder
// (location, offset, length).
//
// Layout: graph.input_layout is Layout::kNCHW, except for a model whose one
// 4-D input [N, H, W, C] feeds only a Transpose(perm = 0,3,1,2) — the usual
// export of a Keras/TF model — where the Transpose is absorbed and the input
// is marked Layout::kNHWC.
//
// Errors (every message starts with the model path):
//   NotFound        model.onnx or an external data file is missing.
//   InvalidArgument not a ModelProto, a missing input or initializer, a
//                   short external data file, inconsistent shapes.
//   Unsupported     an op, attribute value or dtype kamado cannot run:
//                   "node 'conv1' (Conv): attribute auto_pad='FOO' is not
//                   supported", "node 'n3' (Foo): op type 'Foo' is not
//                   supported", "graph input 'ids' has dtype INT64 ...".
// Never throws. Thread-safe (no shared state).
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include "core/result.h"
#include "ir/graph.h"

namespace kamado::importers {

struct OnnxImportOptions {
  // Graph inputs to treat as initializers: input name -> a serialized
  // onnx.TensorProto. ONNX's node tests pass weights as graph inputs, while
  // kamado needs weights at compile time; the conformance test binds them.
  std::map<std::string, std::string, std::less<>> bound_inputs;
};

Result<ir::Graph> ImportOnnxModel(const std::filesystem::path& model_onnx,
                                  const OnnxImportOptions& options = {});

}  // namespace kamado::importers
