// Internal to the TF.js importer: turning one Keras layer into IR nodes.
//
// Keras tensors are NHWC; the IR's are logical NCHW (ir/op_type.h), so the
// converters transpose weights (Conv2D kernel [kH,kW,I,O] -> [O,I,kH,kW],
// Dense kernel [K,O] -> [O,K]) and remap axes (channels -1/3 -> 1). A layer's
// `activation` becomes a separate node after the Conv/Dense; fusing it is the
// passes' job.
//
// Naming: the first node of a layer takes the layer's name and its output
// value the same name; further nodes are "<layer>/<role>" with values
// "<layer>:1", "<layer>:2", ... Weight constants keep their manifest names.
#pragma once

#include <string>
#include <vector>

#include "core/result.h"
#include "importers/tfjs/tfjs_json.h"
#include "importers/tfjs/tfjs_weights.h"
#include "ir/graph.h"

namespace kamado::importers::tfjs {

struct KerasLayer {
  std::string name;
  std::string class_name;
  const Json* config = nullptr;  // the layer's "config" object; outlives the call
};

// "layer 'conv2d_1' (Conv2D)", the prefix of every error about a layer.
std::string DescribeLayer(const KerasLayer& layer);

// Adds the nodes computing `layer` from `inputs` (values already in `graph`,
// with shapes) and returns the value holding the layer's output. Shapes are
// inferred node by node. Weights are looked up as "<layer name>/<weight>"
// (kernel, depthwise_kernel, bias, gamma, beta, moving_mean, moving_variance).
// Unsupported for an unknown class or an attribute value kamado cannot
// express; NotFound for a missing weight; InvalidArgument for a malformed
// config or mismatched shapes. InputLayer is the caller's business.
Result<ir::ValueId> ConvertLayer(const KerasLayer& layer, const std::vector<ir::ValueId>& inputs,
                                 const WeightMap& weights, ir::Graph& graph);

}  // namespace kamado::importers::tfjs
