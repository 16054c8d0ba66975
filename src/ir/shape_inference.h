// Output shapes of nodes from their input shapes and attributes. Errors are
// InvalidArgument/Unsupported and name the node and the offending attribute.
#pragma once

#include "core/status.h"
#include "ir/graph.h"

namespace kamado::ir {

// Sets the shapes of `node`'s outputs; its inputs' shapes must be known.
Status InferNodeShapes(Graph& graph, NodeId node);
// All live nodes, in topological order.
Status InferShapes(Graph& graph);

// Output size of a sliding window along one axis.
int64_t WindowOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t dilation,
                         int64_t pad_begin, int64_t pad_end);

// TF/Keras 'same' padding for one axis: total = max((ceil(in/s)−1)·s + (k−1)·d + 1 − in, 0),
// begin = total/2, end = total − begin (the extra pixel goes at the end).
std::array<int64_t, 2> SamePadding(int64_t in, int64_t kernel, int64_t stride, int64_t dilation);

}  // namespace kamado::ir
