// RunReference: interprets an ir::Graph node by node with the reference
// kernels. It is the oracle for whole-model tests (fast runtime vs reference,
// graph with passes vs without), not a serving path: no planning, no
// threads, one fresh tensor per value.
#pragma once

#include <vector>

#include "core/result.h"
#include "core/tensor.h"
#include "ir/graph.h"

namespace kamado::reference {

// Runs `graph` on `inputs`, one tensor per graph.inputs() entry, in order.
//
// Layout: when graph.input_layout is Layout::kNHWC, 4-D inputs are given as
// [N, H, W, C] and 4-D outputs come back as [N, H, W, C]; otherwise (and for
// tensors of any other rank) tensors are in the graph's logical layout.
// The batch size is taken from the input tensors; a dynamic (-1) dimension of
// a graph input matches any size, every other dimension must match exactly.
//
// Errors: InvalidArgument naming the input for a wrong count, rank or shape;
// a kernel's error prefixed with the node ("Conv node 'conv1': ...").
// The graph is only read (it need not have had shape inference run) and the
// inputs are not modified; outputs own their storage. Thread-safe as long as
// nobody mutates `graph` meanwhile.
Result<std::vector<Tensor>> RunReference(const ir::Graph& graph, const std::vector<Tensor>& inputs);

}  // namespace kamado::reference
