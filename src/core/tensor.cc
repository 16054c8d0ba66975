#include "core/tensor.h"

#include <cassert>

namespace kamado {

Tensor::Tensor(Shape shape)
    : shape_(std::move(shape)),
      data_(std::make_shared<std::vector<float>>(static_cast<size_t>(NumElements(shape_)), 0.0f)) {}

Tensor::Tensor(Shape shape, std::vector<float> data)
    : shape_(std::move(shape)), data_(std::make_shared<std::vector<float>>(std::move(data))) {
  assert(static_cast<int64_t>(data_->size()) == NumElements(shape_));
}

Tensor Tensor::Clone() const {
  Tensor t;
  t.shape_ = shape_;
  if (data_) t.data_ = std::make_shared<std::vector<float>>(*data_);
  return t;
}

Tensor Tensor::Reshaped(Shape shape) const {
  assert(NumElements(shape) == size());
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

}  // namespace kamado
