// The engine's central claim: one CompiledModel is shared by many Sessions
// on many threads. Here N threads each own a Session of the same model and
// run batch sizes 1, 2, 3 and 5 in different orders, so plans are built
// (GetPlan, weight reorders into the shared arena) while other threads run;
// every output must be bitwise equal to a serial run of the same plan (same
// batch size, same thread count). Built and run under ThreadSanitizer too
// (`make test-tsan`), with one intra-op thread per session: Debian's oneDNN
// and libgomp are not instrumented.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include "ir/graph.h"
#include "runtime/compiled_model.h"
#include "runtime/session.h"

namespace kamado::runtime {
namespace {

using ir::OpType;

Tensor Random(Shape shape, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  Tensor t(std::move(shape));
  for (float& v : t.span()) v = dist(rng);
  return t;
}

// A small CNN with what the default models have: NHWC input, convs with
// fused activation and a residual sum, a depthwise conv, a concat, pooling,
// a dense head and softmax.
ir::Graph SmallCnn() {
  std::mt19937 rng(11);
  ir::Graph g;
  g.name = "small_cnn";
  g.input_layout = Layout::kNHWC;
  const auto x = g.AddValue("x", {-1, 3, 16, 16});
  g.AddInput(x);
  auto conv = [&](const std::string& name, ir::ValueId in, int64_t c_in, int64_t c_out,
                  int64_t k, int64_t group, std::vector<ir::PostOp> post, ir::ValueId residual) {
    ir::ConvAttrs a;
    a.kernel = {k, k};
    a.pads = {k / 2, k / 2, k / 2, k / 2};
    a.group = group;
    a.post_ops = std::move(post);
    std::vector<ir::ValueId> inputs{in,
                                    g.AddConstant(name + "_w", Random({c_out, c_in / group, k, k}, rng)),
                                    g.AddConstant(name + "_b", Random({c_out}, rng))};
    if (residual != ir::kNoValue) inputs.push_back(residual);
    const auto out = g.AddValue(name);
    g.AddNode(name, OpType::kConv, inputs, {out}, a);
    return out;
  };
  const ir::PostOp relu = ir::PostOp::Act({ir::ActivationKind::kRelu});
  const auto c1 = conv("c1", x, 3, 16, 3, 1, {relu}, ir::kNoValue);
  const auto dw = conv("dw", c1, 16, 16, 3, 16, {ir::PostOp::Act({ir::ActivationKind::kClip, 0, 6})},
                       ir::kNoValue);
  const auto c2 = conv("c2", dw, 16, 16, 1, 1, {ir::PostOp::Sum(), relu}, c1);
  const auto b1 = conv("b1", c2, 16, 8, 1, 1, {relu}, ir::kNoValue);
  const auto b2 = conv("b2", c2, 16, 8, 3, 1, {relu}, ir::kNoValue);
  const auto cat = g.AddValue("cat");
  g.AddNode("cat", OpType::kConcat, {b1, b2}, {cat}, ir::ConcatAttrs{1});
  ir::PoolAttrs pa;
  pa.kernel = {2, 2};
  pa.strides = {2, 2};
  const auto pool = g.AddValue("pool");
  g.AddNode("pool", OpType::kMaxPool, {cat}, {pool}, pa);
  const auto gap = g.AddValue("gap");
  g.AddNode("gap", OpType::kGlobalAvgPool, {pool}, {gap});
  const auto flat = g.AddValue("flat");
  g.AddNode("flat", OpType::kFlatten, {gap}, {flat}, ir::FlattenAttrs{});
  const auto logits = g.AddValue("logits");
  g.AddNode("dense", OpType::kDense,
            {flat, g.AddConstant("fc_w", Random({5, 16}, rng)), g.AddConstant("fc_b", Random({5}, rng))},
            {logits}, ir::DenseAttrs{});
  const auto probs = g.AddValue("probs");
  g.AddNode("softmax", OpType::kSoftmax, {logits}, {probs}, ir::SoftmaxAttrs{1});
  g.AddOutput(probs);
  return g;
}

bool BitwiseEqual(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() &&
         std::memcmp(a.data(), b.data(), static_cast<size_t>(a.size()) * sizeof(float)) == 0;
}

CompileOptions OneThread() {
  CompileOptions o;
  o.threads = 1;
  return o;
}

TEST(ConcurrentSessions, SharedModelGivesEveryThreadTheSerialAnswer) {
  constexpr int kThreads = 4, kRounds = 6;
  const std::vector<int64_t> kBatches = {1, 2, 3, 5};
  std::mt19937 rng(5);
  std::map<int64_t, Tensor> inputs;
  for (int64_t b : kBatches) inputs[b] = Random({b, 16, 16, 3}, rng);

  // The serial answer of each plan, from its own model and session.
  std::map<int64_t, Tensor> serial;
  {
    auto model = CompiledModel::Compile(SmallCnn(), OneThread());
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    Session session(*model, {.threads = 1});
    for (int64_t b : kBatches) {
      auto out = session.Run({inputs[b]});
      ASSERT_TRUE(out.ok()) << out.status().ToString();
      serial[b] = out->front();
    }
  }

  // One model (only its batch-1 plan built so far), many sessions at once.
  auto model = CompiledModel::Compile(SmallCnn(), OneThread());
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  std::vector<std::string> errors(kThreads);
  std::vector<int> runs(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Session session(*model, {.threads = 1});
      for (int round = 0; round < kRounds; ++round) {
        for (size_t i = 0; i < kBatches.size(); ++i) {
          // Each thread walks the batch sizes from a different start, so
          // different plans are first built on different threads.
          const int64_t b = kBatches[(i + static_cast<size_t>(t) + static_cast<size_t>(round)) %
                                     kBatches.size()];
          auto out = session.Run({inputs[b]});
          if (!out.ok()) {
            errors[static_cast<size_t>(t)] = out.status().ToString();
            return;
          }
          if (!BitwiseEqual(out->front(), serial[b])) {
            errors[static_cast<size_t>(t)] =
                "batch " + std::to_string(b) + " differs from the serial run";
            return;
          }
          ++runs[static_cast<size_t>(t)];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(errors[static_cast<size_t>(t)], "") << "thread " << t;
    EXPECT_EQ(runs[static_cast<size_t>(t)], kRounds * static_cast<int>(kBatches.size()));
  }
}

}  // namespace
}  // namespace kamado::runtime
