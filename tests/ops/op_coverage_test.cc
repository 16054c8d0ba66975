// Every op of the IR, through every layer that must know it. For each
// enumerator of ir::kAllOpTypes, a one-op graph (SampleGraph: a switch, so a
// new enumerator does not build until it has a sample) goes through
//   1. shape inference          (ir/shape_inference.cc)
//   2. the reference kernel     (runtime/reference/reference_executor.cc)
//   3. the oneDNN lowering      (runtime/plan_builder.cc, ops/): same numbers
//                               as the reference, passes off so the op itself
//                               is what runs
//   4. the ONNX export          (exporters/onnx/onnx_exporter.cc): exported,
//                               imported back and run by the reference, same
//                               numbers
// and a failure names the op and the missing piece. This is the "adding an
// op" checklist of docs/ARCHITECTURE.md, enforced.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "exporters/onnx/onnx_exporter.h"
#include "importers/onnx/onnx_importer.h"
#include "ir/graph.h"
#include "ir/shape_inference.h"
#include "passes/pass_manager.h"
#include "runtime/compiled_model.h"
#include "runtime/reference/reference_executor.h"
#include "runtime/session.h"

namespace kamado {
namespace {

using ir::OpType;
using ir::ValueId;

Tensor Random(Shape shape, std::mt19937& rng, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  Tensor t(std::move(shape));
  for (float& v : t.span()) v = dist(rng);
  return t;
}

struct Sample {
  ir::Graph graph;
  std::vector<Tensor> inputs;  // batch 2
};

// One node of `op` reading a [N, 4, 5, 6] input x (or [N, 12] for Dense),
// its output the graph's output.
Sample SampleGraph(OpType op) {
  std::mt19937 rng(static_cast<uint32_t>(op) + 1);
  Sample s;
  ir::Graph& g = s.graph;
  g.name = std::string(ir::OpTypeName(op));
  const bool flat = op == OpType::kDense || op == OpType::kSoftmax;
  const Shape in_shape = flat ? Shape{-1, 12} : Shape{-1, 4, 5, 6};
  const ValueId x = g.AddValue("x", in_shape);
  g.AddInput(x);
  Shape concrete = in_shape;
  concrete[0] = 2;
  s.inputs.push_back(Random(concrete, rng));
  std::vector<ValueId> inputs{x};
  ir::Attrs attrs;
  switch (op) {
    case OpType::kConv: {
      ir::ConvAttrs a;
      a.kernel = {3, 3};
      a.pads = {1, 1, 1, 1};
      inputs.push_back(g.AddConstant("w", Random({3, 4, 3, 3}, rng)));
      inputs.push_back(g.AddConstant("b", Random({3}, rng)));
      attrs = a;
      break;
    }
    case OpType::kBatchNorm:
      for (const char* p : {"gamma", "beta", "mean"}) inputs.push_back(g.AddConstant(p, Random({4}, rng)));
      inputs.push_back(g.AddConstant("variance", Random({4}, rng, 0.5f, 2.0f)));
      attrs = ir::BatchNormAttrs{1e-3f};
      break;
    case OpType::kActivation:
      attrs = ir::ActivationAttrs{{ir::ActivationKind::kLeakyRelu, 0.1f}};
      break;
    case OpType::kPad:
      attrs = ir::PadAttrs{{1, 0, 2, 1}, 0.5f};
      break;
    case OpType::kMaxPool:
    case OpType::kAvgPool: {
      ir::PoolAttrs a;
      a.kernel = {2, 3};
      a.strides = {2, 1};
      a.pads = {0, 1, 1, 1};
      attrs = a;
      break;
    }
    case OpType::kGlobalAvgPool:
    case OpType::kGlobalMaxPool:
    case OpType::kIdentity:
      break;
    case OpType::kConcat: {
      const ValueId y = g.AddValue("y", {-1, 3, 5, 6});
      g.AddInput(y);
      s.inputs.push_back(Random({2, 3, 5, 6}, rng));
      inputs.push_back(y);
      attrs = ir::ConcatAttrs{1};
      break;
    }
    case OpType::kBinary:
      inputs.push_back(g.AddConstant("c", Random({1, 4, 1, 6}, rng, 0.5f, 2.0f)));
      attrs = ir::BinaryAttrs{ir::BinaryKind::kDiv};
      break;
    case OpType::kFlatten:
      attrs = ir::FlattenAttrs{false};
      break;
    case OpType::kDense:
      inputs.push_back(g.AddConstant("w", Random({7, 12}, rng)));
      inputs.push_back(g.AddConstant("b", Random({7}, rng)));
      attrs = ir::DenseAttrs{};
      break;
    case OpType::kSoftmax:
      attrs = ir::SoftmaxAttrs{1};
      break;
    case OpType::kReshape:
      attrs = ir::ReshapeAttrs{{-1, 20, 6}};
      break;
    case OpType::kTranspose:
      attrs = ir::TransposeAttrs{{0, 2, 3, 1}};
      break;
    case OpType::kSlice:
      attrs = ir::SliceAttrs{{0, 1, 1, 2}, {-1, 2, 3, 4}};
      break;
    case OpType::kLayerNorm:  // over the channels of NCHW: the permuted-view lowering
      inputs.push_back(g.AddConstant("gamma", Random({4}, rng)));
      inputs.push_back(g.AddConstant("beta", Random({4}, rng)));
      attrs = ir::LayerNormAttrs{1, 1e-5f};
      break;
  }
  const ValueId out = g.AddValue("out");
  g.AddNode(std::string(ir::OpTypeName(op)) + "_node", op, inputs, {out}, attrs);
  g.AddOutput(out);
  return s;
}

// "" when equal within tolerance, else the first difference.
std::string Compare(const std::vector<Tensor>& got, const std::vector<Tensor>& want) {
  if (got.size() != want.size()) return "output count differs";
  for (size_t o = 0; o < got.size(); ++o) {
    if (got[o].shape() != want[o].shape()) {
      return "shape " + ShapeToString(got[o].shape()) + " vs " + ShapeToString(want[o].shape());
    }
    for (int64_t i = 0; i < got[o].size(); ++i) {
      if (!(std::abs(got[o][i] - want[o][i]) <= 2e-4f * (1.0f + std::abs(want[o][i])))) {
        return "index " + std::to_string(i) + ": " + std::to_string(got[o][i]) + " vs " +
               std::to_string(want[o][i]);
      }
    }
  }
  return "";
}

class OpCoverage : public ::testing::TestWithParam<OpType> {};

TEST_P(OpCoverage, EveryLayerHandlesTheOp) {
  const OpType op = GetParam();
  const std::string name(ir::OpTypeName(op));
  Sample s = SampleGraph(op);

  Status inferred = ir::InferShapes(s.graph);
  ASSERT_TRUE(inferred.ok()) << name << ": no shape inference: " << inferred.ToString();

  auto want = reference::RunReference(s.graph, s.inputs);
  ASSERT_TRUE(want.ok()) << name << ": no reference kernel: " << want.status().ToString();

  runtime::CompileOptions options;
  options.run_passes = false;  // the op itself, not what a pass makes of it
  options.threads = 1;
  auto compiled = runtime::CompiledModel::Compile(s.graph, options);
  ASSERT_TRUE(compiled.ok()) << name << ": no oneDNN lowering: " << compiled.status().ToString();
  runtime::Session session(*compiled, {.threads = 1});
  auto got = session.Run(s.inputs);
  ASSERT_TRUE(got.ok()) << name << ": the lowering fails to run: " << got.status().ToString();
  EXPECT_EQ(Compare(*got, *want), "") << name << ": the lowering differs from the reference";

  const std::filesystem::path file = std::filesystem::temp_directory_path() /
                                     ("kamado_op_" + name + "_" + std::to_string(getpid()) + ".onnx");
  Status exported = exporters::WriteOnnxFile(s.graph, file);
  ASSERT_TRUE(exported.ok()) << name << ": no ONNX export: " << exported.ToString();
  auto back = importers::ImportOnnxModel(file);
  std::filesystem::remove(file);
  ASSERT_TRUE(back.ok()) << name << ": its ONNX export does not import: " << back.status().ToString();
  auto again = reference::RunReference(*back, s.inputs);
  ASSERT_TRUE(again.ok()) << name << ": its ONNX export does not run: " << again.status().ToString();
  EXPECT_EQ(Compare(*again, *want), "") << name << ": its ONNX export computes something else";
}

// GELU and swish are exported in opset 13's words (GELU: Mul by 1/√2, Erf,
// Add 1, Mul x, Mul ½; swish: Sigmoid, Mul x; GELU's tanh form: its cubic,
// Tanh and Muls) and compute the same after the round trip; they come back,
// after the default passes, as the one activation they were (swish with
// another alpha than 1 stays Mul · Sigmoid · Mul).
TEST(OpCoverageActivations, GeluAndSwishExportAsTheirPatternsAndImportAsOneOp) {
  struct Case {
    ir::Activation act;
    int exported_binaries;
    bool fuses_back;
  };
  for (const Case& c : {Case{{ir::ActivationKind::kGeluErf}, 4, true},
                        Case{{ir::ActivationKind::kSwish, 1.0f}, 1, true},
                        Case{{ir::ActivationKind::kSwish, 1.5f}, 2, false},
                        Case{{ir::ActivationKind::kGeluTanh}, 8, true}}) {
    const std::string name(ir::ActivationKindName(c.act.kind));
    SCOPED_TRACE(name + " alpha " + std::to_string(c.act.alpha));
    ir::Graph g;
    const ir::ValueId x = g.AddValue("x", {-1, 4, 5, 6});
    g.AddInput(x);
    const ir::ValueId y = g.AddValue("y");
    g.AddNode("act", OpType::kActivation, {x}, {y}, ir::ActivationAttrs{c.act});
    g.AddOutput(y);
    ASSERT_TRUE(ir::InferShapes(g).ok());
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> u(-3.0f, 3.0f);
    Tensor in({2, 4, 5, 6});
    for (float& v : in.span()) v = u(rng);
    auto want = reference::RunReference(g, {in});
    ASSERT_TRUE(want.ok()) << want.status().ToString();
    const std::filesystem::path file =
        std::filesystem::temp_directory_path() / ("kamado_op_" + name + "_" + std::to_string(getpid()) + ".onnx");
    ASSERT_TRUE(exporters::WriteOnnxFile(g, file).ok());
    auto back = importers::ImportOnnxModel(file);
    std::filesystem::remove(file);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->CountOps(OpType::kBinary), c.exported_binaries) << "exported as the pattern";
    ASSERT_TRUE(ir::InferShapes(*back).ok());
    ASSERT_TRUE(passes::RunDefaultPasses(*back).ok());
    if (c.fuses_back) {
      EXPECT_EQ(back->CountOps(OpType::kBinary), 0);
      EXPECT_EQ(back->CountOps(OpType::kActivation), 1);
    }
    auto again = reference::RunReference(*back, {in});
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_EQ(Compare(*again, *want), "");
  }
}

INSTANTIATE_TEST_SUITE_P(AllOps, OpCoverage, ::testing::ValuesIn(ir::kAllOpTypes),
                         [](const ::testing::TestParamInfo<OpType>& info) {
                           return std::string(ir::OpTypeName(info.param));
                         });

}  // namespace
}  // namespace kamado
