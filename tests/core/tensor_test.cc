#include "core/tensor.h"

#include <gtest/gtest.h>

namespace kamado {
namespace {

TEST(TensorTest, RowMajorStridesAndTransposed) {
  EXPECT_EQ(RowMajorStrides({2, 3, 4}), (std::vector<int64_t>{12, 4, 1}));
  EXPECT_EQ(RowMajorStrides({}), (std::vector<int64_t>{}));
  Tensor t(Shape{2, 3, 4});
  for (int64_t i = 0; i < t.size(); ++i) t[i] = static_cast<float>(i);
  // Axis i of the result is axis perm[i]: element [a, b, c] of the result
  // is t[c, a, b] for perm {2, 0, 1}.
  const Tensor u = t.Transposed({2, 0, 1});
  ASSERT_EQ(u.shape(), (Shape{4, 2, 3}));
  for (int64_t c = 0; c < 4; ++c)
    for (int64_t a = 0; a < 2; ++a)
      for (int64_t b = 0; b < 3; ++b) EXPECT_EQ(u[(c * 2 + a) * 3 + b], t[(a * 3 + b) * 4 + c]);
  // The inverse permutation undoes it; the source is untouched (a copy).
  const Tensor back = u.Transposed({1, 2, 0});
  ASSERT_EQ(back.shape(), t.shape());
  for (int64_t i = 0; i < t.size(); ++i) EXPECT_EQ(back[i], t[i]);
  EXPECT_NE(u.data(), t.data());
}

}  // namespace
}  // namespace kamado
