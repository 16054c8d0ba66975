// Shapes: a list of dimension sizes. -1 marks a dimension only known at run
// time (the batch dimension of a graph input).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kamado {

using Shape = std::vector<int64_t>;

// Product of all dimensions; a dynamic (-1) dimension counts as 1.
int64_t NumElements(const Shape& shape);
// "[1, 3, 224, 224]" ("?" for dynamic dimensions).
std::string ShapeToString(const Shape& shape);

}  // namespace kamado
