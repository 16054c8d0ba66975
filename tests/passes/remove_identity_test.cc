#include "passes/remove_identity.h"

#include <gtest/gtest.h>

#include "passes/graph_builder.h"

namespace kamado::passes {
namespace {

using ir::OpType;
using testing::ExpectSameOutputs;
using testing::GraphBuilder;
using testing::RunPass;

TEST(RemoveIdentity, RemovesIdentityBetweenOps) {
  GraphBuilder b;
  const auto x = b.Input({1, 3, 6, 6});
  const auto c = b.Conv(x, 4, 3);
  const auto i1 = b.Identity(c);
  const auto i2 = b.Identity(i1);  // a chain goes in one run
  b.Output(b.Act(i2));
  bool changed = false;
  const ir::Graph after = RunPass(RemoveIdentity(), b.graph(), &changed);
  EXPECT_TRUE(changed);
  EXPECT_EQ(after.CountOps(OpType::kIdentity), 0);
  EXPECT_EQ(after.CountLiveNodes(), 2);
  ExpectSameOutputs(b.graph(), after, b.RandomInputs());
}

// torch.onnx's Pad of zeros before an AveragePool goes; a real Pad stays.
TEST(RemoveIdentity, RemovesAPadOfNothingAndKeepsARealOne) {
  GraphBuilder b;
  const auto x = b.Input({1, 3, 6, 6});
  const auto c = b.Conv(x, 4, 3);
  ir::PoolAttrs window;
  window.kernel = {2, 2};
  window.strides = {2, 2};
  const auto pooled = b.Op(OpType::kAvgPool, {b.Pad(c, {0, 0, 0, 0})}, window);
  b.Output(b.Pad(pooled, {1, 0, 0, 1}));
  bool changed = false;
  const ir::Graph after = RunPass(RemoveIdentity(), b.graph(), &changed);
  EXPECT_TRUE(changed);
  EXPECT_EQ(after.CountOps(OpType::kPad), 1);
  EXPECT_EQ(after.node(after.value(pooled).producer).inputs[0], c);
  ExpectSameOutputs(b.graph(), after, b.RandomInputs());
}

TEST(RemoveIdentity, GraphOutputBecomesTheInputValue) {
  GraphBuilder b;
  const auto x = b.Input({1, 3, 5, 5});
  const auto c = b.Conv(x, 2, 1);
  const auto out = b.Identity(c);
  b.Output(out);
  const std::string out_name = b.graph().value(out).name;
  const ir::Graph after = RunPass(RemoveIdentity(), b.graph());
  EXPECT_EQ(after.CountOps(OpType::kIdentity), 0);
  ASSERT_EQ(after.outputs().size(), 1u);
  EXPECT_EQ(after.outputs()[0], c);
  EXPECT_EQ(after.value(c).name, out_name);  // the user still sees the output's name
  ExpectSameOutputs(b.graph(), after, b.RandomInputs());
}

TEST(RemoveIdentity, GraphInputPassedThrough) {
  GraphBuilder b;
  const auto x = b.Input({-1, 3, 4, 4});
  const std::string x_name = b.graph().value(x).name;
  b.Output(b.Identity(x));
  b.graph().input_layout = Layout::kNHWC;
  const ir::Graph after = RunPass(RemoveIdentity(), b.graph());
  EXPECT_EQ(after.CountLiveNodes(), 0);
  EXPECT_EQ(after.outputs()[0], x);
  EXPECT_EQ(after.value(x).name, x_name);  // graph inputs keep their names
  ExpectSameOutputs(b.graph(), after, b.RandomInputs());
}

TEST(RemoveIdentity, DontRemoveIdentityOfConstantGraphOutput) {
  GraphBuilder b;
  const auto x = b.Input({1, 2});
  b.Output(b.Identity(x));
  const auto k = b.Const({3});
  b.Output(b.Identity(k));  // a graph output must be computed
  bool changed = false;
  const ir::Graph after = RunPass(RemoveIdentity(), b.graph(), &changed);
  EXPECT_TRUE(changed);
  EXPECT_EQ(after.CountOps(OpType::kIdentity), 1);
  ExpectSameOutputs(b.graph(), after, b.RandomInputs());
}

TEST(RemoveIdentity, NoIdentityNoChange) {
  GraphBuilder b;
  const auto x = b.Input({1, 3, 4, 4});
  b.Output(b.Conv(x, 2, 1));
  bool changed = true;
  const ir::Graph after = RunPass(RemoveIdentity(), b.graph(), &changed);
  EXPECT_FALSE(changed);
  EXPECT_EQ(after.CountLiveNodes(), 1);
}

}  // namespace
}  // namespace kamado::passes
