// ImportOnnxModel on tiny ModelProtos built here with the protobuf API:
// structure of the imported graph and the errors (unsupported op, attribute
// value, dtype; external data missing or short).
#include "importers/onnx/onnx_importer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "importers/onnx/onnx_tensor.h"
#include "passes/pass_manager.h"
#include "runtime/compiled_model.h"
#include "runtime/session.h"

namespace kamado::importers {
namespace {

namespace fs = std::filesystem;

class OnnxImporterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kamado_onnx_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    model_.set_ir_version(8);
    auto* op = model_.add_opset_import();
    op->set_domain("");
    op->set_version(13);
    graph()->set_name("tiny");
  }
  void TearDown() override { fs::remove_all(dir_); }

  ::onnx::GraphProto* graph() { return model_.mutable_graph(); }

  void AddInput(const std::string& name, std::vector<int64_t> dims,
                int type = ::onnx::TensorProto::FLOAT) {
    auto* in = graph()->add_input();
    in->set_name(name);
    auto* tt = in->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(type);
    for (int64_t d : dims) tt->mutable_shape()->add_dim()->set_dim_value(d);
  }
  void AddOutput(const std::string& name) { graph()->add_output()->set_name(name); }
  ::onnx::TensorProto* AddInit(const std::string& name, std::vector<int64_t> dims,
                               std::vector<float> data) {
    auto* t = graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(::onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    for (float v : data) t->add_float_data(v);
    return t;
  }
  ::onnx::NodeProto* AddNode(const std::string& op, const std::string& name,
                             std::vector<std::string> in, std::vector<std::string> out) {
    auto* n = graph()->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (auto& s : in) n->add_input(s);
    for (auto& s : out) n->add_output(s);
    return n;
  }
  static void SetInt(::onnx::NodeProto* n, const std::string& name, int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void SetInts(::onnx::NodeProto* n, const std::string& name, std::vector<int64_t> v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::INTS);
    for (int64_t i : v) a->add_ints(i);
  }
  static void SetString(::onnx::NodeProto* n, const std::string& name, const std::string& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::STRING);
    a->set_s(v);
  }

  Result<ir::Graph> Import() {
    const fs::path path = dir_ / "model.onnx";
    std::ofstream(path, std::ios::binary) << model_.SerializeAsString();
    return ImportOnnxModel(path);
  }

  // x [1, 3, 8, 8] -> Conv(4, 3x3, pad 1) -> Relu -> GlobalAveragePool -> Flatten -> Gemm ->
  // Softmax
  void BuildClassifier() {
    AddInput("x", {1, 3, 8, 8});
    AddInit("w", {4, 3, 3, 3}, std::vector<float>(108, 0.1f));
    AddInit("b", {4}, {0, 1, 2, 3});
    auto* conv = AddNode("Conv", "conv1", {"x", "w", "b"}, {"c"});
    SetString(conv, "auto_pad", "SAME_UPPER");
    AddNode("Relu", "relu1", {"c"}, {"r"});
    AddNode("GlobalAveragePool", "gap", {"r"}, {"p"});
    AddNode("Flatten", "flat", {"p"}, {"f"});
    AddInit("fc_w", {4, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
    AddInit("fc_b", {2}, {0.5f, -0.5f});
    AddNode("Gemm", "fc", {"f", "fc_w", "fc_b"}, {"logits"});
    AddNode("Softmax", "prob", {"logits"}, {"y"});
    AddOutput("y");
  }

  fs::path dir_;
  ::onnx::ModelProto model_;
};

TEST_F(OnnxImporterTest, ImportsAClassifier) {
  BuildClassifier();
  auto g = Import();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->input_layout, Layout::kNCHW);
  EXPECT_EQ(g->CountOps(ir::OpType::kConv), 1);
  EXPECT_EQ(g->CountOps(ir::OpType::kActivation), 1);
  EXPECT_EQ(g->CountOps(ir::OpType::kDense), 1);
  EXPECT_EQ(g->CountOps(ir::OpType::kSoftmax), 1);
  EXPECT_EQ(g->value(g->inputs()[0]).shape, (Shape{-1, 3, 8, 8}));
  EXPECT_EQ(g->value(g->outputs()[0]).shape, (Shape{-1, 2}));
  for (ir::NodeId i = 0; i < g->num_nodes(); ++i) {
    const ir::Node& n = g->node(i);
    if (n.op == ir::OpType::kConv) {
      EXPECT_EQ(n.name, "conv1");
      const auto pads = n.attr<ir::ConvAttrs>().pads;
      EXPECT_EQ(pads, (std::array<int64_t, 4>{1, 1, 1, 1}));
    }
    if (n.op == ir::OpType::kDense) {
      // Gemm B [K=4, N=2] becomes the Dense weight [N, K].
      const Tensor& w = *g->value(n.inputs[1]).constant;
      EXPECT_EQ(w.shape(), (Shape{2, 4}));
      EXPECT_EQ(w[1], 3.0f);
    }
  }
}

// Found by fuzz_onnx_import: dims whose product overflows int64 were signed
// overflow (UB) before any data was read. Now an error naming the tensor.
TEST_F(OnnxImporterTest, AnInitializerWhoseDimsOverflowIsRefused) {
  BuildClassifier();
  AddInit("huge", {int64_t{1} << 40, int64_t{1} << 40, 97}, {});
  auto g = Import();
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("more elements than fit in 64 bits"), std::string::npos)
      << g.status().ToString();
  EXPECT_NE(g.status().message().find("huge"), std::string::npos) << g.status().ToString();
}

TEST_F(OnnxImporterTest, AbsorbsALeadingNhwcTranspose) {
  AddInput("x", {1, 8, 8, 3});
  auto* t = AddNode("Transpose", "to_nchw", {"x"}, {"t"});
  auto* perm = t->add_attribute();
  perm->set_name("perm");
  perm->set_type(::onnx::AttributeProto::INTS);
  for (int64_t p : {0, 3, 1, 2}) perm->add_ints(p);
  AddNode("Relu", "relu", {"t"}, {"y"});
  AddOutput("y");
  auto g = Import();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->input_layout, Layout::kNHWC);
  EXPECT_EQ(g->value(g->inputs()[0]).shape, (Shape{-1, 3, 8, 8}));
  EXPECT_EQ(g->CountOps(ir::OpType::kTranspose), 0);
}

TEST_F(OnnxImporterTest, PerChannelConstantBecomesBroadcastBinary) {
  AddInput("x", {1, 3, 4, 4});
  AddInit("scale", {3, 1, 1}, {1, 2, 3});
  AddNode("Mul", "mul", {"x", "scale"}, {"y"});
  AddOutput("y");
  auto g = Import();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_EQ(g->CountOps(ir::OpType::kBinary), 1);
  for (ir::NodeId i = 0; i < g->num_nodes(); ++i) {
    if (g->node(i).op == ir::OpType::kBinary) {
      EXPECT_EQ(g->value(g->node(i).inputs[1]).shape, (Shape{1, 3, 1, 1}));
    }
  }
}

// The ops of `g` in node order, for structure checks.
std::vector<ir::OpType> Ops(const ir::Graph& g) {
  std::vector<ir::OpType> ops;
  for (ir::NodeId i = 0; i < g.num_nodes(); ++i) {
    if (!g.node(i).dead) ops.push_back(g.node(i).op);
  }
  return ops;
}

const ir::Node* FindOp(const ir::Graph& g, ir::OpType op) {
  for (ir::NodeId i = 0; i < g.num_nodes(); ++i) {
    if (!g.node(i).dead && g.node(i).op == op) return &g.node(i);
  }
  return nullptr;
}

TEST_F(OnnxImporterTest, SubWithAConstantFirstOperandNegatesThenAdds) {
  AddInput("x", {1, 3, 4, 4});
  AddInit("c", {3, 1, 1}, {1, 2, 3});
  AddNode("Sub", "sub", {"c", "x"}, {"y"});
  AddOutput("y");
  auto g = Import();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_EQ(Ops(*g), (std::vector<ir::OpType>{ir::OpType::kBinary, ir::OpType::kBinary}));
  EXPECT_EQ(g->node(0).attr<ir::BinaryAttrs>().kind, ir::BinaryKind::kMul);  // by −1
  EXPECT_EQ(g->value(g->node(0).inputs[1]).constant->span()[0], -1.0f);
  EXPECT_EQ(g->node(1).attr<ir::BinaryAttrs>().kind, ir::BinaryKind::kAdd);
  EXPECT_EQ(g->value(g->node(1).inputs[1]).shape, (Shape{1, 3, 1, 1}));
}

TEST_F(OnnxImporterTest, DivWithAConstantFirstOperandTakesTheReciprocalThenMultiplies) {
  AddInput("x", {1, 3, 4, 4});
  AddInit("c", {3, 1, 1}, {1, 2, 3});
  AddNode("Div", "div", {"c", "x"}, {"y"});
  AddOutput("y");
  auto g = Import();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_EQ(Ops(*g), (std::vector<ir::OpType>{ir::OpType::kActivation, ir::OpType::kBinary}));
  EXPECT_EQ(g->node(0).attr<ir::ActivationAttrs>().activation.kind,
            ir::ActivationKind::kReciprocal);
  EXPECT_EQ(g->node(1).attr<ir::BinaryAttrs>().kind, ir::BinaryKind::kMul);
  EXPECT_EQ(g->value(g->node(1).inputs[1]).shape, (Shape{1, 3, 1, 1}));
}

TEST_F(OnnxImporterTest, GemmWithAMatrixBiasAddsItAfterTheDense) {
  AddInput("a", {2, 3});
  AddInit("b", {3, 4}, std::vector<float>(12, 1.0f));
  AddInit("c", {2, 4}, std::vector<float>(8, 1.0f));
  auto* gemm = AddNode("Gemm", "fc", {"a", "b", "c"}, {"y"});
  auto* beta = gemm->add_attribute();
  beta->set_name("beta");
  beta->set_type(::onnx::AttributeProto::FLOAT);
  beta->set_f(0.5f);
  AddOutput("y");
  auto g = Import();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_EQ(Ops(*g), (std::vector<ir::OpType>{ir::OpType::kDense, ir::OpType::kBinary}));
  EXPECT_EQ(g->node(0).inputs[2], ir::kNoValue);
  const ir::Value& c = g->value(g->node(1).inputs[1]);
  EXPECT_EQ(c.shape, (Shape{2, 4}));       // a row per sample: batch 2 only
  EXPECT_EQ(c.constant->span()[0], 0.5f);  // β·C
}

TEST_F(OnnxImporterTest, PoolCeilModeAddsBottomRightPadding) {
  AddInput("x", {1, 1, 4, 4});
  auto* pool = AddNode("MaxPool", "pool", {"x"}, {"y"});
  SetInts(pool, "kernel_shape", {3, 3});
  SetInts(pool, "strides", {2, 2});
  SetInt(pool, "ceil_mode", 1);
  AddOutput("y");
  auto g = Import();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  const ir::Node* n = FindOp(*g, ir::OpType::kMaxPool);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->attr<ir::PoolAttrs>().pads, (std::array<int64_t, 4>{0, 0, 1, 1}));
  EXPECT_EQ(g->value(g->outputs()[0]).shape, (Shape{-1, 1, 2, 2}));  // floor would give 1x1
}

TEST_F(OnnxImporterTest, AvgPoolCeilModeCountingPadsIsUnsupported) {
  AddInput("x", {1, 1, 4, 4});
  auto* pool = AddNode("AveragePool", "pool", {"x"}, {"y"});
  SetInts(pool, "kernel_shape", {3, 3});
  SetInts(pool, "strides", {2, 2});
  SetInt(pool, "ceil_mode", 1);
  SetInt(pool, "count_include_pad", 1);
  AddOutput("y");
  auto g = Import();
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(g.status().message().find("node 'pool' (AveragePool): attribute ceil_mode=1"),
            std::string::npos)
      << g.status().message();
}

TEST_F(OnnxImporterTest, ReduceMeanOverChannelsPoolsRows) {
  AddInput("x", {1, 3, 4, 5});
  auto* mean = AddNode("ReduceMean", "mean", {"x"}, {"y"});
  SetInts(mean, "axes", {1});
  SetInt(mean, "keepdims", 0);
  AddOutput("y");
  auto g = Import();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(Ops(*g), (std::vector<ir::OpType>{ir::OpType::kTranspose, ir::OpType::kReshape,
                                              ir::OpType::kAvgPool, ir::OpType::kReshape}));
  EXPECT_EQ(FindOp(*g, ir::OpType::kTranspose)->attr<ir::TransposeAttrs>().perm,
            (std::vector<int64_t>{0, 2, 3, 1}));
  EXPECT_EQ(FindOp(*g, ir::OpType::kAvgPool)->attr<ir::PoolAttrs>().kernel,
            (std::array<int64_t, 2>{1, 3}));
  EXPECT_EQ(g->value(g->outputs()[0]).shape, (Shape{-1, 4, 5}));
}

TEST_F(OnnxImporterTest, ReduceMinAndSumScaleAroundTheRowPool) {
  AddInput("x", {1, 3, 4});
  auto* min = AddNode("ReduceMin", "min", {"x"}, {"m"});
  SetInts(min, "axes", {-1});
  auto* sum = AddNode("ReduceSum", "sum", {"m"}, {"y"});  // opset 13: axes as an input
  graph()->mutable_node(1)->add_input("sum_axes");
  auto* axes = graph()->add_initializer();
  axes->set_name("sum_axes");
  axes->set_data_type(::onnx::TensorProto::INT64);
  axes->add_dims(1);
  axes->add_int64_data(1);
  SetInt(sum, "keepdims", 0);
  AddOutput("y");
  auto g = Import();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  using ir::OpType;
  // min(x) = −max(−x) over the last axis (no transpose), keeping it: [N, 3, 1];
  // then sum = R · mean over the channels, moved last first.
  EXPECT_EQ(Ops(*g), (std::vector<OpType>{OpType::kBinary, OpType::kReshape, OpType::kMaxPool,
                                          OpType::kBinary, OpType::kReshape, OpType::kTranspose,
                                          OpType::kReshape, OpType::kAvgPool, OpType::kBinary,
                                          OpType::kReshape}));
  EXPECT_EQ(g->value(g->node(3).inputs[1]).constant->span()[0], -1.0f);
  EXPECT_EQ(g->value(g->node(8).inputs[1]).constant->span()[0], 3.0f);  // R = 3 channels
  EXPECT_EQ(g->value(g->outputs()[0]).shape, (Shape{-1, 1}));
}

TEST_F(OnnxImporterTest, OneDimensionalPoolIsAPoolOfHeightOne) {
  AddInput("x", {1, 3, 10});
  auto* pool = AddNode("AveragePool", "pool1d", {"x"}, {"y"});
  SetInts(pool, "kernel_shape", {3});
  SetInts(pool, "strides", {2});
  SetInts(pool, "pads", {1, 0});
  AddOutput("y");
  auto g = Import();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(Ops(*g), (std::vector<ir::OpType>{ir::OpType::kReshape, ir::OpType::kAvgPool,
                                              ir::OpType::kReshape}));
  const auto& a = FindOp(*g, ir::OpType::kAvgPool)->attr<ir::PoolAttrs>();
  EXPECT_EQ(a.kernel, (std::array<int64_t, 2>{1, 3}));
  EXPECT_EQ(a.strides, (std::array<int64_t, 2>{1, 2}));
  EXPECT_EQ(a.pads, (std::array<int64_t, 4>{0, 1, 0, 0}));
  EXPECT_EQ(g->value(g->outputs()[0]).shape, (Shape{-1, 3, 5}));
}

TEST_F(OnnxImporterTest, SqueezeExcitationMulBroadcastsTheComputedGate) {
  AddInput("x", {1, 8, 4, 4});
  AddNode("GlobalAveragePool", "gap", {"x"}, {"p"});
  AddNode("Sigmoid", "gate", {"p"}, {"s"});
  AddNode("Mul", "excite", {"s", "x"}, {"y"});  // the gate first: swapped, Mul commutes
  AddNode("Sub", "bad", {"s", "y"}, {"z"});     // [N, 8, 1, 1] − [N, 8, 4, 4]: not so
  AddOutput("z");
  auto g = Import();
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("node 'bad' (Sub): broadcasting between two computed"),
            std::string::npos)
      << g.status().message();
  graph()->mutable_node()->RemoveLast();
  graph()->mutable_output(0)->set_name("y");
  g = Import();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  const ir::Node* mul = FindOp(*g, ir::OpType::kBinary);
  ASSERT_NE(mul, nullptr);
  EXPECT_EQ(g->value(mul->inputs[0]).shape, (Shape{-1, 8, 4, 4}));
  EXPECT_EQ(g->value(mul->inputs[1]).shape, (Shape{-1, 8, 1, 1}));
}

// Pow by a constant scalar is the exact op: x² a self-multiply (PyTorch's
// decomposed LayerNorm), x^0.5 a Sqrt, x^−1 a Reciprocal; an exponent that is
// another value, a tensor, or computed, is an error naming the node.
TEST_F(OnnxImporterTest, PowByAConstantScalarIsTheExactOp) {
  AddInput("x", {1, 3, 4, 4});
  AddInit("two", {}, {2.0f});
  AddInit("half", {1}, {0.5f});
  AddInit("minus_one", {}, {-1.0f});
  AddNode("Pow", "square", {"x", "two"}, {"a"});
  AddNode("Pow", "root", {"a", "half"}, {"b"});
  AddNode("Pow", "inverse", {"b", "minus_one"}, {"y"});
  AddOutput("y");
  auto g = Import();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_EQ(Ops(*g), (std::vector<ir::OpType>{ir::OpType::kBinary, ir::OpType::kActivation,
                                              ir::OpType::kActivation}));
  EXPECT_EQ(g->node(0).attr<ir::BinaryAttrs>().kind, ir::BinaryKind::kMul);
  EXPECT_EQ(g->node(0).inputs[0], g->node(0).inputs[1]) << "x times itself";
  EXPECT_EQ(g->node(1).attr<ir::ActivationAttrs>().activation.kind, ir::ActivationKind::kSqrt);
  EXPECT_EQ(g->node(2).attr<ir::ActivationAttrs>().activation.kind, ir::ActivationKind::kReciprocal);
}

TEST_F(OnnxImporterTest, PowByAnotherExponentNamesTheNodeAndTheExponent) {
  AddInput("x", {1, 3, 4, 4});
  AddInit("three", {}, {3.0f});
  AddNode("Pow", "cube", {"x", "three"}, {"y"});
  AddOutput("y");
  auto g = Import();
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("node 'cube' (Pow): exponent 3 is not supported (only 2, 1, 0.5 and -1)"),
            std::string::npos)
      << g.status().message();

  graph()->clear_node();
  graph()->clear_initializer();
  AddInput("e", {1, 3, 4, 4});
  AddNode("Pow", "elementwise", {"x", "e"}, {"y"});
  g = Import();
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("node 'elementwise' (Pow): exponent Y ('e') is computed in the graph"),
            std::string::npos)
      << g.status().message();
}

// MatMul over the last axis of a channels-last activation (ConvNeXt's
// Linear layers): a 1×1 Conv between two Transposes, and its answers are the
// matrix product at every position, run by the real runtime at batch 2.
TEST_F(OnnxImporterTest, MatMulOverTheLastAxisIsA1x1ConvAndComputesTheProduct) {
  for (const Shape& xs : {Shape{1, 3, 2, 4}, Shape{1, 5, 4}}) {
    SCOPED_TRACE(ShapeToString(xs));
    graph()->Clear();
    graph()->set_name("tiny");
    AddInput("x", xs);
    constexpr int64_t k = 4, m = 6;
    std::vector<float> b(k * m);
    for (size_t i = 0; i < b.size(); ++i) b[i] = 0.25f * static_cast<float>(i % 7) - 0.5f;
    AddInit("b", {k, m}, b);
    AddNode("MatMul", "linear", {"x", "b"}, {"y"});
    AddOutput("y");
    auto g = Import();
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    std::vector<ir::OpType> want_ops{ir::OpType::kTranspose, ir::OpType::kConv, ir::OpType::kTranspose};
    if (xs.size() == 3) {
      want_ops.insert(want_ops.begin(), ir::OpType::kReshape);
      want_ops.push_back(ir::OpType::kReshape);
    }
    EXPECT_EQ(Ops(*g), want_ops);
    auto compiled = runtime::CompiledModel::Compile(std::move(g).value());
    ASSERT_TRUE(compiled.ok()) << compiled.status().ToString();
    Shape batch2 = xs;
    batch2[0] = 2;
    Tensor x(batch2);
    for (int64_t i = 0; i < x.size(); ++i) x[i] = 0.1f * static_cast<float>((i * 5) % 11) - 0.4f;
    runtime::Session session(*compiled);
    auto got = session.Run({x});
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_EQ(got->size(), 1u);
    Shape want_shape = batch2;
    want_shape.back() = m;
    ASSERT_EQ((*got)[0].shape(), want_shape);
    const int64_t positions = x.size() / k;
    for (int64_t p = 0; p < positions; ++p) {
      for (int64_t j = 0; j < m; ++j) {
        double want = 0;
        for (int64_t i = 0; i < k; ++i) want += double{x[p * k + i]} * b[static_cast<size_t>(i * m + j)];
        EXPECT_NEAR((*got)[0][p * m + j], want, 1e-5) << "position " << p << ", column " << j;
      }
    }
  }
}

// LayerNormalization over the last axis is one LayerNorm; over several
// trailing axes (axis -2 here) a LayerNorm of their flattened row. Both
// checked on the real runtime against the definition, at batch 2.
TEST_F(OnnxImporterTest, LayerNormalizationOverTrailingAxesMatchesItsDefinition) {
  for (int64_t axis : {-1, -2}) {
    SCOPED_TRACE("axis " + std::to_string(axis));
    graph()->Clear();
    graph()->set_name("tiny");
    const Shape xs{1, 3, 4, 5};
    AddInput("x", xs);
    const Shape ps = axis == -1 ? Shape{5} : Shape{4, 5};
    const int64_t count = NumElements(ps);
    std::vector<float> scale(static_cast<size_t>(count)), bias(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
      scale[static_cast<size_t>(i)] = 0.5f + 0.1f * static_cast<float>(i % 5);
      bias[static_cast<size_t>(i)] = 0.2f * static_cast<float>(i % 3) - 0.2f;
    }
    AddInit("scale", ps, scale);
    AddInit("bias", ps, bias);
    auto* ln = AddNode("LayerNormalization", "ln", {"x", "scale", "bias"}, {"y"});
    SetInt(ln, "axis", axis);
    AddOutput("y");
    auto g = Import();
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    EXPECT_EQ(g->CountOps(ir::OpType::kLayerNorm), 1);
    auto compiled = runtime::CompiledModel::Compile(std::move(g).value());
    ASSERT_TRUE(compiled.ok()) << compiled.status().ToString();
    Tensor x(Shape{2, 3, 4, 5});
    for (int64_t i = 0; i < x.size(); ++i) x[i] = 0.3f * static_cast<float>((i * 7) % 13) - 1.5f;
    runtime::Session session(*compiled);
    auto got = session.Run({x});
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_EQ((*got)[0].shape(), x.shape());
    for (int64_t row = 0; row < x.size() / count; ++row) {
      double mean = 0, var = 0;
      for (int64_t k = 0; k < count; ++k) mean += x[row * count + k];
      mean /= static_cast<double>(count);
      for (int64_t k = 0; k < count; ++k) var += (x[row * count + k] - mean) * (x[row * count + k] - mean);
      var /= static_cast<double>(count);
      for (int64_t k = 0; k < count; ++k) {
        const double want = (x[row * count + k] - mean) / std::sqrt(var + 1e-5) * scale[static_cast<size_t>(k)] +
                            bias[static_cast<size_t>(k)];
        EXPECT_NEAR((*got)[0][row * count + k], want, 1e-5) << "row " << row << ", element " << k;
      }
    }
  }
}

// PyTorch's nn.LayerNorm at opset 13 (ConvNeXt's, over the last axis of a
// channels-last activation): nine ONNX nodes that FuseLayerNorm makes one
// LayerNorm again, its Mul and Add folded into gamma and beta.
TEST_F(OnnxImporterTest, PyTorchsDecomposedLayerNormBecomesOneOp) {
  AddInput("x", {1, 4, 4, 8});
  AddInit("two", {}, {2.0f});
  AddInit("eps", {}, {1e-6f});
  AddInit("gamma", {8}, std::vector<float>(8, 1.5f));
  AddInit("beta", {8}, std::vector<float>(8, 0.25f));
  SetInts(AddNode("ReduceMean", "mean", {"x"}, {"m"}), "axes", {-1});
  AddNode("Sub", "sub", {"x", "m"}, {"d"});
  AddNode("Pow", "pow", {"d", "two"}, {"sq"});
  SetInts(AddNode("ReduceMean", "var", {"sq"}, {"v"}), "axes", {-1});
  AddNode("Add", "add_eps", {"v", "eps"}, {"ve"});
  AddNode("Sqrt", "sqrt", {"ve"}, {"s"});
  AddNode("Div", "div", {"d", "s"}, {"n"});
  AddNode("Mul", "scale", {"n", "gamma"}, {"ns"});
  AddNode("Add", "shift", {"ns", "beta"}, {"y"});
  AddOutput("y");
  auto g = Import();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_TRUE(passes::RunDefaultPasses(*g).ok());
  EXPECT_EQ(Ops(*g), std::vector<ir::OpType>{ir::OpType::kLayerNorm});
  const ir::Node* ln = FindOp(*g, ir::OpType::kLayerNorm);
  ASSERT_NE(ln, nullptr);
  EXPECT_EQ(ln->attr<ir::LayerNormAttrs>().axis, 3);
  EXPECT_EQ(g->value(ln->inputs[1]).constant->span()[0], 1.5f);
  EXPECT_EQ(g->value(ln->inputs[2]).constant->span()[0], 0.25f);
}

// nn.GELU(approximate='tanh') as torch.onnx 1.13 writes it at opset 13 (the
// constants as first operands): one GELU after the default passes, giving
// the tanh form's numbers on the real runtime.
TEST_F(OnnxImporterTest, PyTorchsTanhGeluBecomesOneOp) {
  AddInput("x", {1, 2, 3, 4});
  AddInit("kappa", {}, {0.044715f});
  AddInit("beta", {}, {0.7978845608f});
  AddInit("one", {}, {1.0f});
  AddInit("half", {}, {0.5f});
  AddNode("Mul", "sq", {"x", "x"}, {"sq"});
  AddNode("Mul", "cube", {"x", "sq"}, {"cube"});
  AddNode("Mul", "cubic", {"kappa", "cube"}, {"cubic"});
  AddNode("Add", "sum", {"x", "cubic"}, {"sum"});
  AddNode("Mul", "inner", {"beta", "sum"}, {"inner"});
  AddNode("Tanh", "tanh", {"inner"}, {"t"});
  AddNode("Add", "plus_one", {"one", "t"}, {"p"});
  AddNode("Mul", "times_x", {"x", "p"}, {"m"});
  AddNode("Mul", "y", {"half", "m"}, {"y"});
  AddOutput("y");
  auto g = Import();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_TRUE(passes::RunDefaultPasses(*g).ok());
  ASSERT_EQ(Ops(*g), std::vector<ir::OpType>{ir::OpType::kActivation});
  EXPECT_EQ(FindOp(*g, ir::OpType::kActivation)->attr<ir::ActivationAttrs>().activation.kind,
            ir::ActivationKind::kGeluTanh);
  auto compiled = runtime::CompiledModel::Compile(std::move(g).value());
  ASSERT_TRUE(compiled.ok()) << compiled.status().ToString();
  Tensor x(Shape{2, 2, 3, 4});
  for (int64_t i = 0; i < x.size(); ++i) x[i] = 0.25f * static_cast<float>(i % 17) - 2.0f;
  runtime::Session session(*compiled);
  auto got = session.Run({x});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  for (int64_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    const double want = 0.5 * v * (1.0 + std::tanh(0.7978845608 * (v + 0.044715 * v * v * v)));
    EXPECT_NEAR((*got)[0][i], want, 1e-5) << "element " << i;
  }
}

TEST_F(OnnxImporterTest, LayerNormalizationRefusesAComputedScaleAndOtherStatistics) {
  AddInput("x", {1, 3, 4});
  AddInput("s", {4});
  AddNode("LayerNormalization", "ln_computed", {"x", "s"}, {"y"});
  AddOutput("y");
  auto g = Import();
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("ln_computed"), std::string::npos) << g.status().ToString();
  EXPECT_NE(g.status().message().find("must be a constant"), std::string::npos) << g.status().ToString();

  graph()->Clear();
  graph()->set_name("tiny");
  AddInput("x", {1, 3, 4});
  AddInit("scale", {4}, {1, 1, 1, 1});
  SetInt(AddNode("LayerNormalization", "ln_stash", {"x", "scale"}, {"y"}), "stash_type", 0);
  AddOutput("y");
  g = Import();
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("ln_stash"), std::string::npos) << g.status().ToString();
  EXPECT_NE(g.status().message().find("stash_type=0"), std::string::npos) << g.status().ToString();

  graph()->Clear();
  graph()->set_name("tiny");
  AddInput("x", {1, 3, 4});
  AddInit("scale", {4}, {1, 1, 1, 1});
  AddNode("LayerNormalization", "ln_mean_out", {"x", "scale"}, {"y", "mean"});
  AddOutput("y");
  g = Import();
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("output 1 ('mean') is not supported"), std::string::npos)
      << g.status().ToString();
}

TEST_F(OnnxImporterTest, SumAndMeanChainAdds) {
  AddInput("a", {1, 5});
  AddInput("b", {1, 5});
  AddInput("c", {1, 5});
  AddNode("Sum", "sum", {"a", "b", "c"}, {"s"});
  AddNode("Mean", "mean", {"s", "a"}, {"y"});
  AddOutput("y");
  auto g = Import();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(Ops(*g), (std::vector<ir::OpType>{ir::OpType::kBinary, ir::OpType::kBinary, ir::OpType::kBinary,
                                              ir::OpType::kBinary}));
  EXPECT_EQ(g->value(g->node(3).inputs[1]).constant->span()[0], 0.5f);
}

TEST_F(OnnxImporterTest, ReduceMeanOverTheBatchIsUnsupported) {
  AddInput("x", {1, 3, 4, 5});
  AddNode("ReduceMean", "mean_all", {"x"}, {"y"});  // no axes: all of them
  AddOutput("y");
  auto g = Import();
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(g.status().message().find("node 'mean_all' (ReduceMean): attribute axes=[0,1,2,3]"),
            std::string::npos)
      << g.status().message();
}

TEST_F(OnnxImporterTest, UnsupportedOpNamesTypeAndNode) {
  AddInput("x", {1, 3, 4, 4});
  AddNode("LpNormalization", "norm7", {"x"}, {"y"});
  AddOutput("y");
  auto g = Import();
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(g.status().message().find("node 'norm7' (LpNormalization)"), std::string::npos)
      << g.status().message();
  EXPECT_NE(g.status().message().find("op type 'LpNormalization'"), std::string::npos);
  EXPECT_NE(g.status().message().find("model.onnx"), std::string::npos);
}

TEST_F(OnnxImporterTest, BadAttributeValueNamesTheAttribute) {
  BuildClassifier();
  graph()->mutable_node(0)->mutable_attribute(0)->set_s("SAME_SIDEWAYS");
  auto g = Import();
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(g.status().message().find("node 'conv1' (Conv): attribute auto_pad='SAME_SIDEWAYS'"),
            std::string::npos)
      << g.status().message();
}

TEST_F(OnnxImporterTest, NonFloatInputIsUnsupported) {
  AddInput("ids", {1, 16}, ::onnx::TensorProto::INT64);
  AddNode("Relu", "relu", {"ids"}, {"y"});
  AddOutput("y");
  auto g = Import();
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(g.status().message().find("'ids' has dtype INT64"), std::string::npos)
      << g.status().message();
}

TEST_F(OnnxImporterTest, NonFloatWeightIsUnsupported) {
  BuildClassifier();
  auto* w = graph()->mutable_initializer(0);
  w->clear_float_data();
  w->set_data_type(::onnx::TensorProto::DOUBLE);
  auto g = Import();
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(g.status().message().find("DOUBLE"), std::string::npos) << g.status().message();
}

// Moves the Conv weight into weights.bin at `offset`.
void MakeExternal(::onnx::TensorProto* t, const fs::path& dir, int64_t offset, int64_t length) {
  std::string bytes(static_cast<size_t>(offset), '\0');
  for (float v : t->float_data()) bytes.append(reinterpret_cast<const char*>(&v), sizeof v);
  std::ofstream(dir / "weights.bin", std::ios::binary) << bytes;
  t->clear_float_data();
  t->set_data_location(::onnx::TensorProto::EXTERNAL);
  auto add = [&](const char* k, const std::string& v) {
    auto* kv = t->add_external_data();
    kv->set_key(k);
    kv->set_value(v);
  };
  add("location", "weights.bin");
  add("offset", std::to_string(offset));
  add("length", std::to_string(length));
}

TEST_F(OnnxImporterTest, ExternalData) {
  BuildClassifier();
  MakeExternal(graph()->mutable_initializer(0), dir_, 16, 108 * 4);
  auto g = Import();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  for (ir::NodeId i = 0; i < g->num_nodes(); ++i) {
    if (g->node(i).op == ir::OpType::kConv) {
      const Tensor& w = *g->value(g->node(i).inputs[1]).constant;
      EXPECT_EQ(w.size(), 108);
      EXPECT_FLOAT_EQ(w[107], 0.1f);
    }
  }
}

TEST_F(OnnxImporterTest, ExternalDataMissingOrShort) {
  BuildClassifier();
  MakeExternal(graph()->mutable_initializer(0), dir_, 16, 108 * 4);
  fs::resize_file(dir_ / "weights.bin", 100);
  auto short_file = Import();
  ASSERT_FALSE(short_file.ok());
  EXPECT_EQ(short_file.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(short_file.status().message().find("weights.bin' has 100 bytes"), std::string::npos)
      << short_file.status().message();
  fs::remove(dir_ / "weights.bin");
  auto missing = Import();
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("initializer 'w'"), std::string::npos)
      << missing.status().message();
}

TEST_F(OnnxImporterTest, ReshapeThatMovesTheBatchIsUnsupported) {
  AddInput("x", {2, 3, 4});
  auto* shape = graph()->add_initializer();
  shape->set_name("shape");
  shape->set_data_type(::onnx::TensorProto::INT64);
  shape->add_dims(1);
  shape->add_int64_data(24);
  AddNode("Reshape", "flat_all", {"x", "shape"}, {"y"});
  AddOutput("y");
  auto g = Import();
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(g.status().message().find("node 'flat_all' (Reshape)"), std::string::npos);
}

// Exports with a dynamic batch compute shapes in the graph (ShuffleNetV2's
// channel shuffle and split): Shape, Gather, Div, Cast, Unsqueeze, Concat
// and Slice fold at import time, the batch kept as Reshape's dimension 0.
class OnnxShapeArithmeticTest : public OnnxImporterTest {
 protected:
  void AddInts(const std::string& name, std::vector<int64_t> dims, std::vector<int64_t> v) {
    auto* t = graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(::onnx::TensorProto::INT64);
    for (int64_t d : dims) t->add_dims(d);
    for (int64_t i : v) t->add_int64_data(i);
  }
  // x [batch, 8, 3, 3], batch symbolic.
  void AddDynamicInput() {
    AddInput("x", {1, 8, 3, 3});
    graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()
        ->mutable_dim(0)->set_dim_param("batch");
  }
  // dims[i] of x as a 1-element int64 tensor, through Shape→Gather→Unsqueeze.
  std::string Dim(int i) {
    const std::string s = "dim" + std::to_string(i);
    AddNode("Shape", s + "_shape", {"x"}, {s + "_s"});
    AddInts(s + "_i", {}, {i});
    AddNode("Gather", s + "_gather", {s + "_s", s + "_i"}, {s + "_g"});
    AddNode("Unsqueeze", s + "_unsq", {s + "_g", "axes0"}, {s});
    return s;
  }
};

TEST_F(OnnxShapeArithmeticTest, ChannelShuffleAndSplitFoldToReshapeTransposeSlice) {
  AddDynamicInput();
  AddInts("axes0", {1}, {0});
  AddInts("two", {}, {2});
  const std::string n = Dim(0), c = Dim(1), h = Dim(2), w = Dim(3);
  // channels / 2, cast to int64 twice, as torch.onnx writes it.
  AddNode("Div", "half", {"dim1_g", "two"}, {"half"});
  SetInt(AddNode("Cast", "cast", {"half"}, {"half_i"}), "to", ::onnx::TensorProto::INT64);
  AddNode("Unsqueeze", "half_u", {"half_i", "axes0"}, {"half_u"});
  AddInts("g", {1}, {2});
  SetInt(AddNode("Concat", "shape5", {n, "g", "half_u", h, w}, {"shape5"}), "axis", 0);
  AddNode("Reshape", "split_groups", {"x", "shape5"}, {"r5"});
  SetInts(AddNode("Transpose", "swap", {"r5"}, {"t5"}), "perm", {0, 2, 1, 3, 4});
  AddInts("minus1", {1}, {-1});
  SetInt(AddNode("Concat", "shape4", {n, "minus1", h, w}, {"shape4"}), "axis", 0);
  AddNode("Reshape", "shuffled", {"t5", "shape4"}, {"s"});
  // The split: channels [half, 2·half) of the shuffled tensor.
  AddInts("one", {1}, {1});
  AddNode("Mul", "end", {"half_u", "two"}, {"end"});
  AddNode("Slice", "second_half", {"s", "half_u", "end", "one"}, {"y"});
  AddOutput("y");
  auto g = Import();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(Ops(*g), (std::vector<ir::OpType>{ir::OpType::kReshape, ir::OpType::kTranspose,
                                               ir::OpType::kReshape, ir::OpType::kSlice}));
  const ir::Node* reshape = FindOp(*g, ir::OpType::kReshape);
  EXPECT_EQ(reshape->attr<ir::ReshapeAttrs>().shape, (Shape{-1, 2, 4, 3, 3}));
  const ir::Node* slice = FindOp(*g, ir::OpType::kSlice);
  EXPECT_EQ(slice->attr<ir::SliceAttrs>().starts, (std::vector<int64_t>{0, 4, 0, 0}));
  EXPECT_EQ(slice->attr<ir::SliceAttrs>().sizes, (std::vector<int64_t>{-1, 4, 3, 3}));
  EXPECT_EQ(g->value(g->outputs()[0]).shape, (Shape{-1, 4, 3, 3}));
}

TEST_F(OnnxShapeArithmeticTest, ArithmeticOnTheBatchIsAnErrorNamingTheNode) {
  AddDynamicInput();
  AddInts("axes0", {1}, {0});
  const std::string n = Dim(0);
  AddInts("two", {1}, {2});
  AddNode("Mul", "double_batch", {n, "two"}, {"n2"});
  AddInts("rest", {1}, {-1});
  SetInt(AddNode("Concat", "target", {"n2", "rest"}, {"t"}), "axis", 0);
  AddNode("Reshape", "fold", {"x", "t"}, {"y"});
  AddOutput("y");
  auto g = Import();
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(g.status().message().find("node 'double_batch' (Mul): the result depends on the "
                                      "batch size"),
            std::string::npos)
      << g.status().message();
}

TEST_F(OnnxShapeArithmeticTest, TheBatchAnywhereButAReshapesFirstDimensionIsRefused) {
  AddDynamicInput();
  AddInts("axes0", {1}, {0});
  const std::string n = Dim(0);
  AddInts("rest", {1}, {-1});
  SetInt(AddNode("Concat", "target", {"rest", n}, {"t"}), "axis", 0);
  AddNode("Reshape", "batch_last", {"x", "t"}, {"y"});
  AddOutput("y");
  auto g = Import();
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("node 'batch_last' (Reshape): dimension 1 of the target "
                                      "shape depends on the batch size"),
            std::string::npos)
      << g.status().message();
}

TEST_F(OnnxShapeArithmeticTest, ConstantOfShapeAndRangeFold) {
  AddInput("x", {1, 4});
  AddInts("shape", {1}, {4});
  auto* cos = AddNode("ConstantOfShape", "fill", {"shape"}, {"ones"});
  auto* v = cos->add_attribute();
  v->set_name("value");
  v->set_type(::onnx::AttributeProto::TENSOR);
  v->mutable_t()->set_data_type(::onnx::TensorProto::FLOAT);
  v->mutable_t()->add_dims(1);
  v->mutable_t()->add_float_data(2.0f);
  AddInts("start", {}, {0});
  AddInts("limit", {}, {4});
  AddInts("delta", {}, {1});
  AddNode("Range", "iota", {"start", "limit", "delta"}, {"r"});
  SetInt(AddNode("Cast", "to_float", {"r"}, {"rf"}), "to", ::onnx::TensorProto::FLOAT);
  AddNode("Mul", "scaled", {"rf", "ones"}, {"c"});  // [0, 2, 4, 6], folded
  AddNode("Add", "y", {"x", "c"}, {"y"});
  AddOutput("y");
  auto g = Import();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  const ir::Node* add = FindOp(*g, ir::OpType::kBinary);
  ASSERT_NE(add, nullptr);
  const ir::Value& c = g->value(add->inputs[1]);
  ASSERT_TRUE(c.is_constant());
  EXPECT_EQ(std::vector<float>(c.constant->data(), c.constant->data() + c.constant->size()),
            (std::vector<float>{0, 2, 4, 6}));
}

TEST_F(OnnxShapeArithmeticTest, AHugeConstantOfShapeIsRefusedBeforeItIsAllocated) {
  AddInput("x", {1, 4});
  AddInts("shape", {2}, {int64_t{1} << 20, int64_t{1} << 20});
  AddNode("ConstantOfShape", "fill", {"shape"}, {"c"});
  AddNode("Add", "y", {"x", "c"}, {"y"});
  AddOutput("y");
  auto g = Import();
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(g.status().message().find("node 'fill' (ConstantOfShape): shape [1048576,1048576] "
                                      "holds more than 2^24 elements"),
            std::string::npos)
      << g.status().message();
}

TEST_F(OnnxImporterTest, NotAModel) {
  const fs::path path = dir_ / "model.onnx";
  std::ofstream(path) << "definitely not protobuf \xff\xff\xff";
  auto g = ImportOnnxModel(path);
  EXPECT_FALSE(g.ok());
  auto missing = ImportOnnxModel(dir_ / "nope.onnx");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace kamado::importers
