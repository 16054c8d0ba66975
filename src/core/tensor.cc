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

Tensor Tensor::Transposed(const std::vector<int64_t>& perm) const {
  assert(perm.size() == shape_.size());
  Shape out(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) out[i] = shape_[static_cast<size_t>(perm[i])];
  const std::vector<int64_t> in_st = RowMajorStrides(shape_), out_st = RowMajorStrides(out);
  Tensor t(out);
  for (int64_t flat = 0; flat < t.size(); ++flat) {
    int64_t rest = flat, from = 0;
    for (size_t d = 0; d < out.size(); ++d) {
      from += rest / out_st[d] * in_st[static_cast<size_t>(perm[d])];
      rest %= out_st[d];
    }
    t[flat] = (*this)[from];
  }
  return t;
}

}  // namespace kamado
