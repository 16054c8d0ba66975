// Reference kernels other than Conv2D, against hand-computed cases.
#include "runtime/reference/reference_kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "ir/shape_inference.h"
#include "reference/tensor_testing.h"

namespace kamado::reference {
namespace {

using ir::ActivationKind;
using ir::PoolAttrs;
using ir::PostOp;
using testing::ExpectTensorNear;
using testing::Filled;
using testing::Iota;
using testing::Ok;

TEST(ReferenceBatchNorm, NormalisesPerChannel) {
  // Channel 0: (x − 1)/√(3 + 1)·2 + 1 = x; channel 1: (x − 0)/√(0 + 1)·(−1) + 0.5.
  const Tensor x({1, 2, 1, 2}, {1.0f, 3.0f, 2.0f, -4.0f});
  const Tensor gamma({2}, {2.0f, -1.0f}), beta({2}, {1.0f, 0.5f});
  const Tensor mean({2}, {1.0f, 0.0f}), var({2}, {3.0f, 0.0f});
  const Tensor y = Ok(BatchNorm(x, gamma, beta, mean, var, {.epsilon = 1.0f}));
  ExpectTensorNear(y, {1, 2, 1, 2}, {1.0f, 3.0f, -1.5f, 4.5f});
  // 2-D input: channels are axis 1 as well.
  const Tensor y2 =
      Ok(BatchNorm(Tensor({1, 2}, {5.0f, 5.0f}), gamma, beta, mean, var, {.epsilon = 1.0f}));
  ExpectTensorNear(y2, {1, 2}, {5.0f, -4.5f});
  EXPECT_FALSE(BatchNorm(x, Tensor({3}), beta, mean, var, {}).ok());
}

TEST(ReferenceActivation, AppliesElementWise) {
  const Tensor x({1, 4}, {-2.0f, -0.5f, 0.5f, 8.0f});
  ExpectTensorNear(Activation(x, {ActivationKind::kRelu}), {1, 4}, {0, 0, 0.5f, 8});
  ExpectTensorNear(Activation(x, {ActivationKind::kClip, 0.0f, 6.0f}), {1, 4}, {0, 0, 0.5f, 6});
  ExpectTensorNear(Activation(x, {ActivationKind::kLeakyRelu, 0.1f}), {1, 4},
                   {-0.2f, -0.05f, 0.5f, 8});
  ExpectTensorNear(Activation(x, {ActivationKind::kHardSwish}), {1, 4},
                   {-2.0f * (-2.0f / 6.0f + 0.5f), -0.5f * (-0.5f / 6.0f + 0.5f),
                    0.5f * (0.5f / 6.0f + 0.5f), 8});
  const Tensor s = Activation(x, {ActivationKind::kSigmoid});
  EXPECT_NEAR(s[0], 1.0 / (1.0 + std::exp(2.0)), 1e-6);
}

TEST(ReferencePad, ConstantValue) {
  const Tensor x = Iota({1, 1, 2, 2});
  const Tensor y = Ok(Pad(x, {.pads = {1, 0, 0, 2}, .value = -1.0f}));
  ExpectTensorNear(y, {1, 1, 3, 4},
                   {-1, -1, -1, -1,  //
                    1, 2, -1, -1,    //
                    3, 4, -1, -1});
}

TEST(ReferenceMaxPool, Stride2) {
  const PoolAttrs a{.kernel = {2, 2}, .strides = {2, 2}};
  ExpectTensorNear(Ok(MaxPool(Iota({1, 1, 4, 4}), a)), {1, 1, 2, 2}, {6, 8, 14, 16});
}

// All-negative input: a padded cell (0) must never win.
TEST(ReferenceMaxPool, IgnoresPaddedCells) {
  const Tensor x = Iota({1, 1, 3, 3}, -9.0f);  // −9 … −1
  const PoolAttrs a{.kernel = {3, 3}, .strides = {1, 1}, .pads = {1, 1, 1, 1}};
  ExpectTensorNear(Ok(MaxPool(x, a)), {1, 1, 3, 3}, {-5, -4, -4, -2, -1, -1, -2, -1, -1});
}

// 'same' 3×3 stride 1 on 1..16: corners average 4 cells, edges 6, centre 9.
TEST(ReferenceAvgPool, SameExcludePad) {
  const PoolAttrs a{.kernel = {3, 3}, .strides = {1, 1}, .pads = {1, 1, 1, 1}};
  ExpectTensorNear(Ok(AvgPool(Iota({1, 1, 4, 4}), a)), {1, 1, 4, 4},
                   {14 / 4.0f, 24 / 6.0f, 30 / 6.0f, 22 / 4.0f,  //
                    33 / 6.0f, 54 / 9.0f, 63 / 9.0f, 45 / 6.0f,  //
                    57 / 6.0f, 90 / 9.0f, 99 / 9.0f, 69 / 6.0f,  //
                    46 / 4.0f, 72 / 6.0f, 78 / 6.0f, 54 / 4.0f});
}

TEST(ReferenceAvgPool, SameIncludePad) {
  const PoolAttrs a{
      .kernel = {3, 3}, .strides = {1, 1}, .pads = {1, 1, 1, 1}, .count_include_pad = true};
  const Tensor y = Ok(AvgPool(Iota({1, 1, 4, 4}), a));
  EXPECT_NEAR(y[0], 14 / 9.0f, 1e-6f);
  EXPECT_NEAR(y[1], 24 / 9.0f, 1e-6f);
  EXPECT_NEAR(y[5], 54 / 9.0f, 1e-6f);
}

// TF 'same' with stride 2 on 4×4 pads only at the end (0 before, 1 after).
TEST(ReferenceAvgPool, SameStride2AsymmetricPads) {
  const auto ph = ir::SamePadding(4, 3, 2, 1);
  ASSERT_EQ(ph[0], 0);
  ASSERT_EQ(ph[1], 1);
  const PoolAttrs a{.kernel = {3, 3}, .strides = {2, 2}, .pads = {0, 0, 1, 1}};
  ExpectTensorNear(Ok(AvgPool(Iota({1, 1, 4, 4}), a)), {1, 1, 2, 2},
                   {54 / 9.0f, 45 / 6.0f, 72 / 6.0f, 54 / 4.0f});
}

TEST(ReferencePool, RejectsPadsAsLargeAsTheKernel) {
  const PoolAttrs a{.kernel = {2, 2}, .strides = {1, 1}, .pads = {2, 0, 0, 0}};
  EXPECT_FALSE(AvgPool(Iota({1, 1, 4, 4}), a).ok());
  EXPECT_FALSE(MaxPool(Iota({1, 1, 4, 4}), a).ok());
}

TEST(ReferenceGlobalAvgPool, MeanPerChannel) {
  const Tensor x = Iota({2, 2, 2, 2});  // planes 1..4, 5..8, 9..12, 13..16
  ExpectTensorNear(Ok(GlobalAvgPool(x)), {2, 2, 1, 1}, {2.5f, 6.5f, 10.5f, 14.5f});
}

TEST(ReferenceConcat, Channels) {
  const Tensor a = Iota({2, 1, 1, 2}, 1.0f);   // n0: 1 2, n1: 3 4
  const Tensor b = Iota({2, 2, 1, 2}, 10.0f);  // n0: 10..13, n1: 14..17
  const std::vector<Tensor> srcs{a, b};
  ExpectTensorNear(Ok(Concat(srcs, {.axis = 1})), {2, 3, 1, 2},
                   {1, 2, 10, 11, 12, 13, 3, 4, 14, 15, 16, 17});
}

TEST(ReferenceConcat, LastAxisAnd2D) {
  const std::vector<Tensor> four_d{Iota({1, 1, 2, 1}, 1.0f), Iota({1, 1, 2, 2}, 5.0f)};
  ExpectTensorNear(Ok(Concat(four_d, {.axis = 3})), {1, 1, 2, 3}, {1, 5, 6, 2, 7, 8});
  const std::vector<Tensor> two_d{Iota({2, 1}, 1.0f), Iota({2, 2}, 5.0f)};
  ExpectTensorNear(Ok(Concat(two_d, {.axis = 1})), {2, 3}, {1, 5, 6, 2, 7, 8});
  EXPECT_FALSE(Concat(two_d, {.axis = 0}).ok());
  const std::vector<Tensor> mismatch{Iota({2, 1}), Iota({3, 1})};
  EXPECT_FALSE(Concat(mismatch, {.axis = 1}).ok());
}

TEST(ReferenceAdd, SameShapeIsABinaryAdd) {
  const ir::BinaryAttrs add{ir::BinaryKind::kAdd};
  ExpectTensorNear(Ok(Binary(Iota({1, 3}), Filled({1, 3}, 0.5f), add)), {1, 3}, {1.5f, 2.5f, 3.5f});
  const auto r = Binary(Iota({1, 3}), Iota({3, 1}), add);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

// x[0, c, h, w] = 4c + 2h + w.
TEST(ReferenceFlatten, Orders) {
  const Tensor x = Iota({1, 2, 2, 2}, 0.0f);
  ExpectTensorNear(Ok(Flatten(x, {.channels_last = false})), {1, 8}, {0, 1, 2, 3, 4, 5, 6, 7});
  ExpectTensorNear(Ok(Flatten(x, {.channels_last = true})), {1, 8}, {0, 4, 1, 5, 2, 6, 3, 7});
  // Batch rows stay separate.
  const Tensor y = Ok(Flatten(Iota({2, 2, 1, 1}, 0.0f), {.channels_last = true}));
  ExpectTensorNear(y, {2, 2}, {0, 1, 2, 3});
}

TEST(ReferenceDense, TwoDWithBiasAndActivation) {
  const Tensor x({1, 3}, {1, 2, 3});
  const Tensor w({2, 3}, {1, 0, -1, 2, 2, 2});
  const Tensor b({2}, {0.5f, -5.0f});
  ExpectTensorNear(Ok(Dense(x, w, &b, {})), {1, 2}, {-1.5f, 7.0f});
  const ir::DenseAttrs relu{.post_ops = {PostOp::Act({ActivationKind::kRelu})}};
  ExpectTensorNear(Ok(Dense(x, w, &b, relu)), {1, 2}, {0.0f, 7.0f});
  ExpectTensorNear(Ok(Dense(x, w, nullptr, {})), {1, 2}, {-2.0f, 12.0f});
  const ir::DenseAttrs sum{.post_ops = {PostOp::Sum()}};
  EXPECT_EQ(Dense(x, w, &b, sum).status().code(), StatusCode::kUnsupported);
  EXPECT_FALSE(Dense(Iota({1, 4}), w, &b, {}).ok());
}

// Dense with [O, C, H, W] weights is Flatten(channels_first) + Dense with the
// same weights viewed as [O, C·H·W], and Flatten(channels_last) + Dense with
// W2[o, (h·W + w)·C + c] = W4[o, c, h, w].
TEST(ReferenceDense, FourDWeightsEqualFlattenThenDense) {
  std::mt19937 rng(7);
  const int64_t n = 2, c = 3, h = 2, wd = 4, o = 5, k = c * h * wd;
  const Tensor x = testing::Random({n, c, h, wd}, rng);
  const Tensor w4 = testing::Random({o, c, h, wd}, rng);
  const Tensor b = testing::Random({o}, rng);
  const Tensor direct = Ok(Dense(x, w4, &b, {}));

  const Tensor chw = Ok(Flatten(x, {.channels_last = false}));
  ExpectTensorNear(Ok(Dense(chw, w4.Reshaped({o, k}), &b, {})), direct);

  Tensor w2({o, k});
  for (int64_t oo = 0; oo < o; ++oo) {
    for (int64_t cc = 0; cc < c; ++cc) {
      for (int64_t hh = 0; hh < h; ++hh) {
        for (int64_t ww = 0; ww < wd; ++ww) {
          w2[oo * k + (hh * wd + ww) * c + cc] = w4[((oo * c + cc) * h + hh) * wd + ww];
        }
      }
    }
  }
  const Tensor hwc = Ok(Flatten(x, {.channels_last = true}));
  ExpectTensorNear(Ok(Dense(hwc, w2, &b, {})), direct);
}

TEST(ReferenceSoftmax, RowsSumToOne) {
  const Tensor x({2, 3}, {1, 2, 3, -1, 0, 5});
  const Tensor y = Ok(Softmax(x, {.axis = 1}));
  for (int row = 0; row < 2; ++row) {
    EXPECT_NEAR(y[row * 3] + y[row * 3 + 1] + y[row * 3 + 2], 1.0f, 1e-6f);
  }
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  ExpectTensorNear(y.Reshaped({6}), {6},
                   {static_cast<float>(std::exp(1.0) / z), static_cast<float>(std::exp(2.0) / z),
                    static_cast<float>(std::exp(3.0) / z), y[3], y[4], y[5]});
}

// Subtracting the max keeps e^1000 from overflowing.
TEST(ReferenceSoftmax, LargeInputsAreStable) {
  const Tensor y = Ok(Softmax(Tensor({1, 3}, {1000, 1001, 1002}), {.axis = 1}));
  const double z = 1.0 + std::exp(1.0) + std::exp(2.0);
  ExpectTensorNear(y, {1, 3},
                   {static_cast<float>(1.0 / z), static_cast<float>(std::exp(1.0) / z),
                    static_cast<float>(std::exp(2.0) / z)});
}

// Softmax over the channels of an NCHW tensor normalises each (n, h, w).
TEST(ReferenceSoftmax, InnerAxis) {
  std::mt19937 rng(3);
  const Tensor x = testing::Random({2, 3, 2, 2}, rng);
  const Tensor y = Ok(Softmax(x, {.axis = 1}));
  for (int64_t n = 0; n < 2; ++n) {
    for (int64_t hw = 0; hw < 4; ++hw) {
      float sum = 0.0f;
      for (int64_t c = 0; c < 3; ++c) sum += y[(n * 3 + c) * 4 + hw];
      EXPECT_NEAR(sum, 1.0f, 1e-6f);
    }
  }
  EXPECT_FALSE(Softmax(x, {.axis = 4}).ok());
}

TEST(ReferenceLayout, NhwcRoundTrip) {
  const Tensor nhwc = Iota({1, 2, 2, 3}, 0.0f);  // c fastest
  const Tensor nchw = Ok(NhwcToNchw(nhwc));
  ExpectTensorNear(nchw, {1, 3, 2, 2}, {0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11});
  ExpectTensorNear(Ok(NchwToNhwc(nchw)), nhwc);
}

}  // namespace
}  // namespace kamado::reference
