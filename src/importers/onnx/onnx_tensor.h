// Internal to the ONNX importer (and its tests): decoding TensorProtos.
#pragma once

#include <onnx/onnx_pb.h>  // defines ONNX_API, then onnx-ml.pb.h (ONNX_ML)

#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/tensor.h"

namespace kamado::importers::onnximport {

// The batch size inside an integer constant computed from a shape (the
// Shape of an activation, whose dimension 0 is the batch): it is known only
// when a plan is built for a batch size, so it is carried as this marker
// through what only moves values (Gather, Slice, Concat, Unsqueeze, Squeeze,
// Cast, multiplying by 1) to a Reshape, where it keeps the batch. Anything
// else done with it is an error naming the node.
inline constexpr int64_t kBatchDim = std::numeric_limits<int64_t>::min() + 1;

// A tensor known at import time: float32 data, or integer data (INT64,
// INT32) as used for shapes, axes and pads.
struct ConstTensor {
  Shape shape;
  bool integer = false;
  std::vector<float> floats;   // when !integer
  std::vector<int64_t> ints;   // when integer

  int64_t size() const { return NumElements(shape); }
  bool HasBatchDim() const {
    for (int64_t v : ints) {
      if (v == kBatchDim) return true;
    }
    return false;
  }
  Tensor ToTensor() const { return Tensor(shape, floats); }
};

// "FLOAT", "INT64", ... for messages.
std::string DataTypeName(int32_t data_type);

// Decodes `proto` (float_data / int64_data / int32_data / raw_data, or
// EXTERNAL data read from `base_dir`/location at offset, length). `what`
// names the tensor in errors. Unsupported for dtypes other than FLOAT,
// INT64 and INT32.
Result<ConstTensor> DecodeTensor(const ::onnx::TensorProto& proto,
                                 const std::filesystem::path& base_dir, const std::string& what);

}  // namespace kamado::importers::onnximport
