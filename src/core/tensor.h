// Tensor: a dense fp32 array with a shape, in row-major (C) order.
//
// Storage is reference counted and shared on copy: copying a Tensor is cheap
// and both copies see the same numbers. Use Clone() for a deep copy. A Tensor
// is not synchronised; share it across threads only while nobody writes.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "core/shape.h"

namespace kamado {

class Tensor {
 public:
  Tensor() = default;
  // Zero-filled tensor of `shape` (no dynamic dimensions).
  explicit Tensor(Shape shape);
  Tensor(Shape shape, std::vector<float> data);

  const Shape& shape() const { return shape_; }
  int64_t size() const { return static_cast<int64_t>(data_ ? data_->size() : 0); }
  bool empty() const { return size() == 0; }
  float* data() { return data_ ? data_->data() : nullptr; }
  const float* data() const { return data_ ? data_->data() : nullptr; }
  std::span<float> span() { return {data(), static_cast<size_t>(size())}; }
  std::span<const float> span() const { return {data(), static_cast<size_t>(size())}; }
  float& operator[](int64_t i) { return (*data_)[static_cast<size_t>(i)]; }
  float operator[](int64_t i) const { return (*data_)[static_cast<size_t>(i)]; }

  Tensor Clone() const;
  // Same storage, new shape with the same number of elements.
  Tensor Reshaped(Shape shape) const;
  // A new tensor whose axis i is this one's axis perm[i] (a permutation of
  // the axes), its elements copied into row-major order.
  Tensor Transposed(const std::vector<int64_t>& perm) const;

 private:
  Shape shape_;
  std::shared_ptr<std::vector<float>> data_;
};

}  // namespace kamado
