// Reduced precision in the runtime (runtime/precision.h): a bf16 model
// against the fp32 reference executor, where the reorders sit, and the
// refusal on a CPU without bf16 instructions. ctest also runs this binary
// with ONEDNN_MAX_CPU_ISA=AVX2 (runtime_precision_avx2), so the refusal is
// tested on every machine, and the bf16 parity wherever the CPU has it.
#include <gtest/gtest.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "ir/graph.h"
#include "runtime/compiled_model.h"
#include "runtime/precision.h"
#include "runtime/reference/reference_executor.h"
#include "runtime/runtime_test_util.h"
#include "runtime/session.h"

namespace kamado::runtime {
namespace {

using ir::OpType;
using testing::Random;

bool CpuRunsBf16() {
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  const auto bf16 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
  return (isa & bf16) == bf16;
}

// conv → pool → two branches (one with a residual sum) → concat → global
// pool → dense → softmax: every op family a CNN classifier's bf16 plan has.
ir::Graph SmallClassifier(std::mt19937& rng) {
  ir::Graph g;
  const auto x = g.AddValue("x", {-1, 3, 32, 32});
  g.AddInput(x);
  const ir::ConvAttrs c3 = testing::Same3x3Relu();
  auto conv = [&](const char* name, ir::ValueId in, int64_t out_c, int64_t in_c, ir::ConvAttrs a,
                  std::vector<ir::ValueId> extra = {}) {
    const auto y = g.AddValue(name);
    std::vector<ir::ValueId> inputs = {
        in, g.AddConstant(std::string(name) + "_w", Random({out_c, in_c, a.kernel[0], a.kernel[1]}, rng, -0.2f, 0.2f)),
        g.AddConstant(std::string(name) + "_b", Random({out_c}, rng, -0.1f, 0.1f))};
    inputs.insert(inputs.end(), extra.begin(), extra.end());
    g.AddNode(name, OpType::kConv, inputs, {y}, a);
    return y;
  };
  const auto stem = conv("stem", x, 32, 3, c3);
  ir::PoolAttrs pool;
  pool.kernel = {2, 2};
  pool.strides = {2, 2};
  const auto pooled = g.AddValue("pooled");
  g.AddNode("pool", OpType::kMaxPool, {stem}, {pooled}, pool);
  const auto a = conv("a", pooled, 32, 32, c3);
  ir::ConvAttrs sum = c3;
  sum.post_ops = {ir::PostOp::Sum(), ir::PostOp::Act({ir::ActivationKind::kRelu})};
  const auto b = conv("b", a, 32, 32, sum, {pooled});
  ir::ConvAttrs one;
  one.kernel = {1, 1};
  const auto c = conv("c", pooled, 16, 32, one);
  const auto cat = g.AddValue("cat");
  g.AddNode("cat", OpType::kConcat, {b, c}, {cat}, ir::ConcatAttrs{1});
  const auto gap = g.AddValue("gap");
  g.AddNode("gap", OpType::kGlobalAvgPool, {cat}, {gap}, ir::PoolAttrs{});
  const auto flat = g.AddValue("flat");
  g.AddNode("flat", OpType::kFlatten, {gap}, {flat}, ir::FlattenAttrs{});
  const auto logits = g.AddValue("logits");
  g.AddNode("fc", OpType::kDense,
            {flat, g.AddConstant("fc_w", Random({10, 48}, rng, -1.0f, 1.0f)),
             g.AddConstant("fc_b", Random({10}, rng))},
            {logits}, ir::DenseAttrs{});
  const auto probs = g.AddValue("probs");
  g.AddNode("softmax", OpType::kSoftmax, {logits}, {probs}, ir::SoftmaxAttrs{1});
  g.AddOutput(probs);
  return g;
}

TEST(PrecisionTest, NamesRoundTrip) {
  for (Precision p : {Precision::kFp32, Precision::kBf16, Precision::kInt8}) {
    auto back = ParsePrecision(PrecisionName(p));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, p);
  }
  auto bad = ParsePrecision("fp16");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'fp16' is not one of fp32, bf16, int8"), std::string::npos)
      << bad.status().message();
}

TEST(PrecisionTest, Bf16IsRefusedExactlyWhereTheCpuLacksIt) {
  std::mt19937 rng(5);
  CompileOptions options;
  options.threads = 1;
  options.precision = Precision::kBf16;
  auto model = CompiledModel::Compile(SmallClassifier(rng), options);
  if (CpuRunsBf16()) {
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    EXPECT_EQ((*model)->precision(), Precision::kBf16);
    std::printf("this CPU runs bf16: %s\n", PrecisionEngine(Precision::kBf16).c_str());
  } else {
    ASSERT_FALSE(model.ok());
    EXPECT_EQ(model.status().code(), StatusCode::kUnsupported);
    EXPECT_NE(model.status().message().find("needs a CPU with AVX512-BF16 or AMX-BF16"),
              std::string::npos)
        << model.status().message();
    EXPECT_NE(model.status().message().find("--precision fp32"), std::string::npos);
  }
  // fp32 runs everywhere.
  options.precision = Precision::kFp32;
  EXPECT_TRUE(CompiledModel::Compile(SmallClassifier(rng), options).ok());
}

TEST(PrecisionTest, Bf16MatchesTheFp32ReferenceWithinBf16Rounding) {
  if (!CpuRunsBf16()) {
    GTEST_SKIP() << "bf16 parity runs on a CPU with AVX512-BF16 or AMX-BF16; here bf16 is "
                 << PrecisionEngine(Precision::kBf16);
  }
  std::mt19937 rng(7);
  const ir::Graph g = SmallClassifier(rng);
  for (int threads : {1, 2}) {
    CompileOptions options;
    options.threads = threads;
    options.precision = Precision::kBf16;
    auto model = CompiledModel::Compile(g, options);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    Session session(*model, {.threads = threads});
    double worst = 0;
    int same_top1 = 0;
    const int kInputs = 20;
    for (int n : {1, 3}) {
      for (int i = 0; i < kInputs / 2; ++i) {
        const Tensor input = Random({n, 3, 32, 32}, rng);
        auto want = reference::RunReference(g, {input});
        ASSERT_TRUE(want.ok());
        auto got = session.Run({input});
        ASSERT_TRUE(got.ok()) << got.status().ToString();
        const Tensor& p = got->front();
        const Tensor& q = want->front();
        ASSERT_EQ(p.shape(), q.shape());
        for (int64_t r = 0; r < n; ++r) {
          const float* pr = p.data() + r * 10;
          const float* qr = q.data() + r * 10;
          for (int k = 0; k < 10; ++k) worst = std::max(worst, std::abs(double(pr[k]) - qr[k]));
          same_top1 += std::max_element(pr, pr + 10) - pr == std::max_element(qr, qr + 10) - qr;
        }
      }
    }
    std::printf("bf16, %d thread(s): max |dp| %.4f, top-1 same %d/%d\n", threads, worst,
                same_top1, 2 * kInputs);
    // bf16 keeps 8 significant bits: each layer rounds activations to
    // ~0.4%; through four convolutions the probabilities moved by ~1e-3 here.
    EXPECT_LT(worst, 0.01);
    EXPECT_GE(same_top1, 2 * kInputs - 2);
  }
}

// Where the type changes: the convolutions and pools hold bf16 in and out,
// the head (Dense, Softmax) f32, and every reorder either reads the
// caller's input or writes f32 for the head — none between two layers
// that could share bf16.
TEST(PrecisionTest, Bf16ReordersSitOnlyAtTheInputAndBeforeTheHead) {
  if (!CpuRunsBf16()) GTEST_SKIP() << "no AVX512-BF16 or AMX-BF16 on this CPU";
  std::mt19937 rng(9);
  CompileOptions options;
  options.threads = 1;
  options.precision = Precision::kBf16;
  auto model = CompiledModel::Compile(SmallClassifier(rng), options);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto plan = (*model)->GetPlan(1, 1);
  ASSERT_TRUE(plan.ok());
  using dt = dnnl::memory::data_type;
  auto type_of = [](const Step& s, int arg) {
    for (const auto& [a, ref] : s.args) {
      if (a == arg) return ref.desc.data_type();
    }
    return dt::undef;
  };
  int convs = 0, reorders = 0;
  for (const Step& s : (*plan)->steps) {
    SCOPED_TRACE(s.node + " (" + s.op + ", " + s.impl + ")");
    if (s.op == "Conv" || s.op == "MaxPool" || s.op == "GlobalAvgPool") {
      EXPECT_EQ(type_of(s, DNNL_ARG_SRC), dt::bf16);
      EXPECT_EQ(type_of(s, DNNL_ARG_DST), dt::bf16);
      convs += s.op == "Conv";
    } else if (s.op == "Dense" || s.op == "Softmax") {
      EXPECT_EQ(type_of(s, DNNL_ARG_SRC), dt::f32);
      EXPECT_EQ(type_of(s, DNNL_ARG_DST), dt::f32);
    } else if (s.op == "Reorder") {
      // A copy (same type and layout: a residual kept for the sum) is not a
      // conversion; every conversion reads the input or writes the head's f32.
      const MemRef* from = nullptr;
      const MemRef* to = nullptr;
      for (const auto& [a, ref] : s.args) (a == DNNL_ARG_FROM ? from : to) = &ref;
      ASSERT_TRUE(from && to);
      if (from->desc == to->desc) continue;
      ++reorders;
      EXPECT_TRUE(from->kind == MemRef::Kind::kInput || to->desc.data_type() == dt::f32)
          << "a conversion between two layers that could share bf16";
    }
  }
  EXPECT_EQ(convs, 4);
  EXPECT_LE(reorders, 2);  // the input's, the head's
}

}  // namespace
}  // namespace kamado::runtime
