// Shapes: a list of dimension sizes. -1 marks a dimension only known at run
// time (the batch dimension of a graph input).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace kamado {

using Shape = std::vector<int64_t>;

// Product of all dimensions; a dynamic (-1) dimension counts as 1. The shape
// must be one kamado built or checked (CheckedNumElements): no overflow.
int64_t NumElements(const Shape& shape);
// The same for a shape from outside (a request, a model file): InvalidArgument
// when a dimension is negative or the product does not fit in int64.
Result<int64_t> CheckedNumElements(const Shape& shape);
// "[1, 3, 224, 224]" ("?" for dynamic dimensions).
std::string ShapeToString(const Shape& shape);

// Row-major strides of `shape`, in elements (the last axis 1).
std::vector<int64_t> RowMajorStrides(const Shape& shape);

}  // namespace kamado
