// TensorInfo: a model input's or output's name and shape, as a CompiledModel
// reports them. A header of its own so that front-ends can describe a model
// without the runtime (serving/model_service.h).
#pragma once

#include <string>

#include "core/shape.h"

namespace kamado::runtime {

struct TensorInfo {
  std::string name;
  Shape shape;  // in the caller's layout; batch is -1
};

}  // namespace kamado::runtime
