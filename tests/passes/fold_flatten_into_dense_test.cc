#include "passes/fold_flatten_into_dense.h"

#include <gtest/gtest.h>

#include "passes/graph_builder.h"

namespace kamado::passes {
namespace {

using ir::OpType;
using testing::ExpectSameOutputs;
using testing::GraphBuilder;
using testing::RunPass;

class FoldFlattenIntoDenseOrder : public ::testing::TestWithParam<bool> {};

TEST_P(FoldFlattenIntoDenseOrder, DenseReads4DInput) {
  const bool channels_last = GetParam();
  GraphBuilder b;
  const auto x = b.Input({-1, 3, 4, 5});
  const auto c = b.Conv(x, 6, 3, true, {1, 1, 1, 1});
  const auto d = b.Dense(b.Flatten(c, channels_last), 7);
  b.Output(d);
  bool changed = false;
  const ir::Graph after = RunPass(FoldFlattenIntoDense(), b.graph(), &changed);
  EXPECT_TRUE(changed);
  EXPECT_EQ(after.CountOps(OpType::kFlatten), 0);
  const ir::Node& dense = after.node(after.value(d).producer);
  EXPECT_EQ(dense.inputs[0], c);
  EXPECT_EQ(after.value(dense.inputs[1]).shape, (Shape{7, 6, 4, 5}));
  ExpectSameOutputs(b.graph(), after, b.RandomInputs());
}

INSTANTIATE_TEST_SUITE_P(ChannelsLast, FoldFlattenIntoDenseOrder, ::testing::Bool());

TEST(FoldFlattenIntoDense, NhwcGraphInputChannelsLast) {
  // A TF.js model: NHWC input, Keras flatten order (h, w, c).
  GraphBuilder b;
  b.graph().input_layout = Layout::kNHWC;
  const auto x = b.Input({2, 2, 3, 3});
  b.Output(b.Dense(b.Flatten(x, /*channels_last=*/true), 4, /*bias=*/false));
  const ir::Graph after = RunPass(FoldFlattenIntoDense(), b.graph());
  EXPECT_EQ(after.CountOps(OpType::kFlatten), 0);
  ExpectSameOutputs(b.graph(), after, b.RandomInputs());
}

TEST(FoldFlattenIntoDense, DontFoldFlattenWithTwoConsumers) {
  GraphBuilder b;
  const auto x = b.Input({1, 2, 3, 3});
  const auto f = b.Flatten(x, false);
  b.Output(b.Dense(f, 4));
  b.Output(b.Dense(f, 5));
  ExpectUnchanged(FoldFlattenIntoDense(), b, OpType::kFlatten, 1);
}

TEST(FoldFlattenIntoDense, DontFoldFlattenThatIsGraphOutput) {
  GraphBuilder b;
  const auto x = b.Input({1, 2, 3, 3});
  const auto f = b.Flatten(x, false);
  b.Output(b.Dense(f, 4));
  b.Output(f);
  bool changed = true;
  RunPass(FoldFlattenIntoDense(), b.graph(), &changed);
  EXPECT_FALSE(changed);
}

TEST(FoldFlattenIntoDense, DontFoldFlattenOf2DInput) {
  GraphBuilder b;
  const auto x = b.Input({2, 12});
  b.Output(b.Dense(b.Flatten(x, false), 3));
  bool changed = true;
  RunPass(FoldFlattenIntoDense(), b.graph(), &changed);
  EXPECT_FALSE(changed);
}

}  // namespace
}  // namespace kamado::passes
