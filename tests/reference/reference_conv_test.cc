// Conv2D: hand-computed cases, then random shapes against the textbook
// formula written as literally as possible.
#include <gtest/gtest.h>

#include <random>

#include "reference/tensor_testing.h"
#include "runtime/reference/reference_kernels.h"

namespace kamado::reference {
namespace {

using ir::ConvAttrs;
using ir::PostOp;
using testing::ExpectTensorNear;
using testing::Filled;
using testing::Iota;
using testing::Ok;

ConvAttrs Attrs3x3(int64_t pad, int64_t stride = 1) {
  ConvAttrs a;
  a.kernel = {3, 3};
  a.strides = {stride, stride};
  a.pads = {pad, pad, pad, pad};
  return a;
}

// x = 1..16 on a 4×4 grid; a 3×3 box filter with pad 1 sums each cell's
// in-bounds neighbourhood.
TEST(ReferenceConv, BoxFilterWithPads) {
  const Tensor x = Iota({1, 1, 4, 4});
  const Tensor w = Filled({1, 1, 3, 3}, 1.0f);
  const Tensor b({1}, {0.5f});
  const Tensor y = Ok(Conv2D(x, w, &b, Attrs3x3(1)));
  ExpectTensorNear(y, {1, 1, 4, 4},
                   {14.5f, 24.5f, 30.5f, 22.5f,  //
                    33.5f, 54.5f, 63.5f, 45.5f,  //
                    57.5f, 90.5f, 99.5f, 69.5f,  //
                    46.5f, 72.5f, 78.5f, 54.5f});
}

// A single tap at (0, 0) with pad 1 shifts the image down-right: conv is a
// cross-correlation (no kernel flip).
TEST(ReferenceConv, KernelIsNotFlipped) {
  const Tensor x = Iota({1, 1, 4, 4});
  Tensor w({1, 1, 3, 3});
  w[0] = 1.0f;
  const Tensor y = Ok(Conv2D(x, w, nullptr, Attrs3x3(1)));
  ExpectTensorNear(y, {1, 1, 4, 4},
                   {0, 0, 0, 0,  //
                    0, 1, 2, 3,  //
                    0, 5, 6, 7,  //
                    0, 9, 10, 11});
}

TEST(ReferenceConv, Stride2) {
  const Tensor x = Iota({1, 1, 4, 4});
  const Tensor w = Filled({1, 1, 3, 3}, 1.0f);
  const Tensor y = Ok(Conv2D(x, w, nullptr, Attrs3x3(1, 2)));
  ExpectTensorNear(y, {1, 1, 2, 2}, {14, 30, 57, 99});
}

// 5×5 input x = 5i + j, 2×2 kernel {1, 2, 3, 4} with dilation 2 and no pads:
// y(i, j) = x + 2(x + 2) + 3(x + 10) + 4(x + 12) = 10x + 82.
TEST(ReferenceConv, Dilation2) {
  const Tensor x = Iota({1, 1, 5, 5}, 0.0f);
  const Tensor w({1, 1, 2, 2}, {1, 2, 3, 4});
  ConvAttrs a;
  a.kernel = {2, 2};
  a.dilations = {2, 2};
  const Tensor y = Ok(Conv2D(x, w, nullptr, a));
  std::vector<float> want;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) want.push_back(10.0f * static_cast<float>(5 * i + j) + 82.0f);
  }
  ExpectTensorNear(y, {1, 1, 3, 3}, want);
}

// Depthwise (group == C): channel 0 gets the box filter of 1..16, channel 1
// (all ones, weights 2) counts in-bounds taps twice.
TEST(ReferenceConv, Depthwise) {
  Tensor x({1, 2, 4, 4});
  for (int i = 0; i < 16; ++i) {
    x[i] = static_cast<float>(i + 1);
    x[16 + i] = 1.0f;
  }
  Tensor w({2, 1, 3, 3});
  for (int i = 0; i < 9; ++i) {
    w[i] = 1.0f;
    w[9 + i] = 2.0f;
  }
  const Tensor b({2}, {0.0f, -1.0f});
  ConvAttrs a = Attrs3x3(1);
  a.group = 2;
  const Tensor y = Ok(Conv2D(x, w, &b, a));
  ExpectTensorNear(y, {1, 2, 4, 4},
                   {14, 24, 30, 22, 33, 54, 63, 45, 57, 90, 99, 69, 46, 72, 78, 54,  //
                    7,  11, 11, 7,  11, 17, 17, 11, 11, 17, 17, 11, 7,  11, 11, 7});
}

// Post-ops run in order: sum-then-relu differs from relu-then-sum.
TEST(ReferenceConv, PostOpsApplyInOrder) {
  const Tensor x({1, 1, 1, 2}, {-1.0f, 2.0f});
  const Tensor w({1, 1, 1, 1}, {1.0f});
  const Tensor residual({1, 1, 1, 2}, {-3.0f, 0.5f});
  const PostOp relu = PostOp::Act({ir::ActivationKind::kRelu});
  ConvAttrs a;
  a.post_ops = {PostOp::Sum(), relu};
  ExpectTensorNear(Ok(Conv2D(x, w, nullptr, a, &residual)), {1, 1, 1, 2}, {0.0f, 2.5f});
  a.post_ops = {relu, PostOp::Sum()};
  ExpectTensorNear(Ok(Conv2D(x, w, nullptr, a, &residual)), {1, 1, 1, 2}, {-3.0f, 2.5f});
  a.post_ops = {PostOp::Act({ir::ActivationKind::kClip, 0.0f, 1.5f})};
  ExpectTensorNear(Ok(Conv2D(x, w, nullptr, a)), {1, 1, 1, 2}, {0.0f, 1.5f});
}

TEST(ReferenceConv, RejectsBadShapes) {
  const Tensor x = Iota({1, 2, 4, 4});
  ConvAttrs a = Attrs3x3(0);
  // I/group must equal C.
  auto r = Conv2D(x, Filled({1, 3, 3, 3}, 1.0f), nullptr, a);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("Conv"), std::string::npos) << r.status().message();
  // Kernel attribute disagrees with the weight.
  EXPECT_FALSE(Conv2D(x, Filled({1, 2, 2, 2}, 1.0f), nullptr, a).ok());
  // Sum post-op without a residual.
  a.post_ops = {PostOp::Sum()};
  EXPECT_FALSE(Conv2D(x, Filled({1, 2, 3, 3}, 1.0f), nullptr, a).ok());
  // Window larger than the input.
  EXPECT_FALSE(Conv2D(Iota({1, 2, 2, 2}), Filled({1, 2, 3, 3}, 1.0f), nullptr, Attrs3x3(0)).ok());
}

// The definition, one output element at a time with an explicit bounds test.
Tensor NaiveConv(const Tensor& x, const Tensor& w, const Tensor& b, const ConvAttrs& a) {
  const Shape& s = x.shape();
  const Shape& ws = w.shape();
  const int64_t oh_size =
      (s[2] + a.pads[0] + a.pads[2] - ((ws[2] - 1) * a.dilations[0] + 1)) / a.strides[0] + 1;
  const int64_t ow_size =
      (s[3] + a.pads[1] + a.pads[3] - ((ws[3] - 1) * a.dilations[1] + 1)) / a.strides[1] + 1;
  const int64_t cin_g = ws[1], cout_g = ws[0] / a.group;
  Tensor y({s[0], ws[0], oh_size, ow_size});
  int64_t idx = 0;
  for (int64_t n = 0; n < s[0]; ++n) {
    for (int64_t o = 0; o < ws[0]; ++o) {
      for (int64_t oh = 0; oh < oh_size; ++oh) {
        for (int64_t ow = 0; ow < ow_size; ++ow) {
          double sum = b[o];
          for (int64_t ic = 0; ic < cin_g; ++ic) {
            const int64_t c = (o / cout_g) * cin_g + ic;
            for (int64_t kh = 0; kh < ws[2]; ++kh) {
              for (int64_t kw = 0; kw < ws[3]; ++kw) {
                const int64_t ih = oh * a.strides[0] - a.pads[0] + kh * a.dilations[0];
                const int64_t iw = ow * a.strides[1] - a.pads[1] + kw * a.dilations[1];
                if (ih < 0 || ih >= s[2] || iw < 0 || iw >= s[3]) continue;
                sum += double{x[((n * s[1] + c) * s[2] + ih) * s[3] + iw]} *
                       w[((o * cin_g + ic) * ws[2] + kh) * ws[3] + kw];
              }
            }
          }
          y[idx++] = static_cast<float>(sum);
        }
      }
    }
  }
  return y;
}

TEST(ReferenceConv, RandomShapesMatchTheDefinition) {
  std::mt19937 rng(42);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  int checked = 0;
  for (int trial = 0; trial < 300; ++trial) {
    ConvAttrs a;
    a.group = std::array<int64_t, 3>{1, 2, 3}[static_cast<size_t>(pick(0, 2))];
    const int64_t cin = a.group * pick(1, 3), cout = a.group * pick(1, 3);
    a.kernel = {pick(1, 4), pick(1, 4)};
    a.strides = {pick(1, 3), pick(1, 3)};
    a.dilations = {pick(1, 3), pick(1, 3)};
    a.pads = {pick(0, 3), pick(0, 3), pick(0, 3), pick(0, 3)};
    const int64_t h = pick(1, 9), w = pick(1, 9);
    if ((a.kernel[0] - 1) * a.dilations[0] + 1 > h + a.pads[0] + a.pads[2] ||
        (a.kernel[1] - 1) * a.dilations[1] + 1 > w + a.pads[1] + a.pads[3]) {
      continue;
    }
    const Tensor x = testing::Random({pick(1, 2), cin, h, w}, rng);
    const Tensor wt = testing::Random({cout, cin / a.group, a.kernel[0], a.kernel[1]}, rng);
    const Tensor b = testing::Random({cout}, rng);
    SCOPED_TRACE(::testing::Message()
                 << "trial " << trial << " x " << ShapeToString(x.shape()) << " w "
                 << ShapeToString(wt.shape()) << " group " << a.group << " strides " << a.strides[0]
                 << "," << a.strides[1] << " dil " << a.dilations[0] << "," << a.dilations[1]
                 << " pads " << a.pads[0] << "," << a.pads[1] << "," << a.pads[2] << ","
                 << a.pads[3]);
    ExpectTensorNear(Ok(Conv2D(x, wt, &b, a)), NaiveConv(x, wt, b, a), 1e-6f);
    ++checked;
  }
  EXPECT_GT(checked, 150);
}

}  // namespace
}  // namespace kamado::reference
