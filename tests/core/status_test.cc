#include "core/result.h"
#include "core/status.h"
#include "core/tensor.h"

#include <gtest/gtest.h>

namespace kamado {
namespace {

Result<int> Half(int x) {
  if (x % 2) return InvalidArgument("odd: " + std::to_string(x));
  return x / 2;
}

Result<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int h, Half(x));
  ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST(StatusTest, CodesMapToHttp) {
  EXPECT_EQ(HttpStatusOf(StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusOf(StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusOf(StatusCode::kUnsupported), 422);
  EXPECT_EQ(HttpStatusOf(StatusCode::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatusOf(StatusCode::kTooLarge), 413);
  EXPECT_EQ(HttpStatusOf(StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusOf(StatusCode::kInternal), 500);
}

TEST(StatusTest, PropagatesThroughAssignOrReturn) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "odd: 3");
  EXPECT_EQ(r.status().WithPrefix("file x").ToString(), "INVALID_ARGUMENT: file x: odd: 3");
}

TEST(TensorTest, CopiesShareAndClonesDoNot) {
  Tensor a({2, 3});
  Tensor b = a;
  Tensor c = a.Clone();
  a[4] = 7.0f;
  EXPECT_EQ(b[4], 7.0f);
  EXPECT_EQ(c[4], 0.0f);
  EXPECT_EQ(a.Reshaped({3, 2}).shape(), (Shape{3, 2}));
  EXPECT_EQ(NumElements({-1, 3, 4}), 12);
}

}  // namespace
}  // namespace kamado
