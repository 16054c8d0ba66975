// Small helpers shared by the reference-kernel tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "core/result.h"
#include "core/tensor.h"

namespace kamado::reference::testing {

// Unwraps a Result, failing the test (with the status) when it is an error.
template <typename T>
T Ok(Result<T> r) {
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : T{};
}

// Values 1, 2, 3, ... in memory order.
inline Tensor Iota(Shape shape, float start = 1.0f) {
  Tensor t(std::move(shape));
  for (int64_t i = 0; i < t.size(); ++i) t[i] = start + static_cast<float>(i);
  return t;
}

inline Tensor Filled(Shape shape, float value) {
  Tensor t(std::move(shape));
  for (float& v : t.span()) v = value;
  return t;
}

inline Tensor Random(Shape shape, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  Tensor t(std::move(shape));
  for (float& v : t.span()) v = dist(rng);
  return t;
}

inline void ExpectTensorNear(const Tensor& got, const Shape& shape, const std::vector<float>& want,
                             float tol = 1e-5f) {
  ASSERT_EQ(got.shape(), shape);
  ASSERT_EQ(got.size(), static_cast<int64_t>(want.size()));
  for (int64_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], want[static_cast<size_t>(i)], tol) << "at flat index " << i;
  }
}

inline void ExpectTensorNear(const Tensor& got, const Tensor& want, float tol = 1e-5f) {
  ExpectTensorNear(got, want.shape(), std::vector<float>(want.span().begin(), want.span().end()),
                   tol);
}

}  // namespace kamado::reference::testing
