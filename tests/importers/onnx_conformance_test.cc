// ONNX's own backend node tests (Debian libonnx-testdata) through kamado's
// importer, CompiledModel and Session.
//
// For every test_* directory whose op family kamado claims (kFamilies), the
// model is imported and each test_data_set_* is run; outputs must match
// output_*.pb within ONNX's tolerances, |got − want| <= atol + rtol·|want|
// with rtol 1e-3 and atol 1e-7. A case is skipped, with its reason printed,
// when the importer answers Unsupported (3-D pooling, an int64 input, an op
// kamado does not run, ...). Any other failure fails the test.
//
// The node tests pass weights (Conv W, Gemm B, BatchNorm statistics, Reshape
// shapes, ...) as graph inputs; kamado compiles weights at load, so inputs
// 1..n are bound as constants (OnnxImportOptions::bound_inputs), except those
// of the same shape as input 0 feeding an element-wise op (Add, Sub, Mul, Div,
// Sum, Mean) or Concat, which stay run-time inputs (Add(x, y), Concat(a, b)).
// LayerNormalization's tests are checked on their Y output only (see RunCase).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "core/file_util.h"
#include "importers/onnx/onnx_importer.h"
#include "importers/onnx/onnx_tensor.h"
#include "runtime/compiled_model.h"
#include "runtime/session.h"
#include "testutil/test_data.h"

namespace kamado {
namespace {

namespace fs = std::filesystem;

const char* const kNodeTests = "/usr/share/libonnx-testdata/data/node";

// Directory-name prefixes of the ops kamado supports.
const char* const kFamilies[] = {
    "test_conv", "test_basic_conv", "test_batchnorm", "test_relu", "test_clip",
    "test_leakyrelu", "test_sigmoid", "test_hardsigmoid", "test_hardswish", "test_tanh",
    "test_elu", "test_add", "test_mul", "test_sub", "test_div", "test_sum", "test_mean",
    "test_concat", "test_maxpool", "test_averagepool", "test_globalaveragepool",
    "test_globalmaxpool", "test_reduce_mean", "test_reduce_sum", "test_reduce_max",
    "test_reduce_min", "test_gemm", "test_matmul", "test_flatten", "test_reshape",
    "test_squeeze", "test_unsqueeze", "test_transpose", "test_softmax", "test_identity",
    "test_dropout", "test_constant", "test_pad", "test_constant_pad", "test_exp_example",
    "test_reciprocal", "test_neg", "test_abs", "test_sqrt", "test_slice", "test_gather_0",
    "test_gather_1", "test_gather_negative", "test_cast", "test_shape", "test_constantofshape",
    "test_range", "test_pow", "test_erf", "test_layer_normalization"};
// Exact names where a prefix would claim another op too (test_exp → test_expand).
const char* const kExactNames[] = {"test_exp"};

bool Claimed(const std::string& name) {
  return std::any_of(std::begin(kFamilies), std::end(kFamilies),
                     [&](const char* p) { return name.rfind(p, 0) == 0; }) ||
         std::any_of(std::begin(kExactNames), std::end(kExactNames),
                     [&](const char* p) { return name == p; });
}

Result<::onnx::TensorProto> ReadTensorProto(const fs::path& path) {
  ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  ::onnx::TensorProto t;
  if (!t.ParseFromString(bytes)) return InvalidArgument(path.string() + ": not a TensorProto");
  return t;
}

std::vector<fs::path> Numbered(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> files;
  for (int i = 0;; ++i) {
    fs::path p = dir / (prefix + std::to_string(i) + ".pb");
    if (!fs::exists(p)) break;
    files.push_back(p);
  }
  return files;
}

struct Outcome {
  enum Kind { kPassed, kSkipped, kFailed } kind;
  std::string detail;
};

Outcome RunCase(const fs::path& dir) {
  fs::path model_path = dir / "model.onnx";
  auto bytes = ReadFile(model_path);
  if (!bytes.ok()) return {Outcome::kFailed, bytes.status().ToString()};
  ::onnx::ModelProto model;
  if (!model.ParseFromString(*bytes)) return {Outcome::kFailed, "model.onnx does not parse"};
  // The LayerNormalization tests also output the training statistics (Mean,
  // InvStdDev), which kamado does not produce: their Y alone is checked, on
  // a copy of the model without the other outputs.
  size_t checked_outputs = SIZE_MAX;
  if (model.graph().node_size() == 1 && model.graph().node(0).op_type() == "LayerNormalization" &&
      model.graph().output_size() > 1) {
    auto* g = model.mutable_graph();
    g->mutable_node(0)->mutable_output()->DeleteSubrange(1, g->node(0).output_size() - 1);
    g->mutable_output()->DeleteSubrange(1, g->output_size() - 1);
    model_path = fs::temp_directory_path() /
                 ("kamado_conformance_" + std::to_string(::getpid()) + "_" + dir.filename().string() + ".onnx");
    std::ofstream(model_path, std::ios::binary) << model.SerializeAsString();
    checked_outputs = 1;
  }
  struct RemoveCopy {
    fs::path path;
    ~RemoveCopy() {
      std::error_code ec;
      if (!path.empty()) fs::remove(path, ec);
    }
  } remove_copy{checked_outputs == 1 ? model_path : fs::path()};
  const auto& graph = model.graph();
  std::vector<std::string> inputs;
  for (const auto& in : graph.input()) {
    bool init = false;
    for (const auto& i : graph.initializer()) init = init || i.name() == in.name();
    if (!init) inputs.push_back(in.name());
  }
  std::vector<fs::path> sets;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0) {
      sets.push_back(e.path());
    }
  }
  std::sort(sets.begin(), sets.end());
  if (sets.empty()) return {Outcome::kSkipped, "no test data sets"};

  // Which inputs stay run-time inputs (see the file comment).
  const std::string first_op = graph.node_size() ? graph.node(0).op_type() : "";
  const bool elementwise = first_op == "Add" || first_op == "Sub" || first_op == "Mul" ||
                           first_op == "Div" || first_op == "Sum" || first_op == "Mean" ||
                           first_op == "Concat";
  int passed_sets = 0;
  for (const fs::path& set : sets) {
    const auto in_files = Numbered(set, "input_");
    auto out_files = Numbered(set, "output_");
    if (out_files.size() > checked_outputs) out_files.resize(checked_outputs);
    if (in_files.size() != inputs.size()) return {Outcome::kFailed, "input count mismatch"};
    std::vector<::onnx::TensorProto> protos;
    for (const auto& f : in_files) {
      auto t = ReadTensorProto(f);
      if (!t.ok()) return {Outcome::kFailed, t.status().ToString()};
      protos.push_back(*t);
    }
    if (protos.empty() || protos[0].data_type() != ::onnx::TensorProto::FLOAT) {
      return {Outcome::kSkipped,
              protos.empty() ? "no inputs"
                             : importers::onnximport::DataTypeName(protos[0].data_type()) +
                                   " input"};
    }
    importers::OnnxImportOptions options;
    std::vector<size_t> runtime_inputs{0};
    for (size_t i = 1; i < protos.size(); ++i) {
      const bool same_shape =
          std::equal(protos[i].dims().begin(), protos[i].dims().end(), protos[0].dims().begin(),
                     protos[0].dims().end());
      if (elementwise && same_shape) {
        runtime_inputs.push_back(i);
      } else {
        options.bound_inputs[inputs[i]] = protos[i].SerializeAsString();
      }
    }
    auto g = importers::ImportOnnxModel(model_path, options);
    if (!g.ok()) {
      if (g.status().code() == StatusCode::kUnsupported) {
        return {Outcome::kSkipped, g.status().message()};
      }
      return {Outcome::kFailed, "import: " + g.status().ToString()};
    }
    std::vector<Tensor> feeds;
    for (size_t i : runtime_inputs) {
      auto c = importers::onnximport::DecodeTensor(protos[i], dir, "input");
      if (!c.ok()) return {Outcome::kSkipped, c.status().message()};
      if (c->integer) return {Outcome::kSkipped, "integer input"};
      feeds.push_back(c->ToTensor());
    }
    auto compiled = runtime::CompiledModel::Compile(std::move(g).value());
    if (!compiled.ok()) {
      if (compiled.status().code() == StatusCode::kUnsupported) {
        return {Outcome::kSkipped, compiled.status().message()};
      }
      return {Outcome::kFailed, "compile: " + compiled.status().ToString()};
    }
    runtime::Session session(*compiled);
    auto got = session.Run(feeds);
    if (!got.ok()) return {Outcome::kFailed, "run: " + got.status().ToString()};
    if (got->size() != out_files.size()) return {Outcome::kFailed, "output count mismatch"};
    for (size_t o = 0; o < out_files.size(); ++o) {
      auto want_proto = ReadTensorProto(out_files[o]);
      if (!want_proto.ok()) return {Outcome::kFailed, want_proto.status().ToString()};
      auto want = importers::onnximport::DecodeTensor(*want_proto, dir, "output");
      if (!want.ok()) return {Outcome::kSkipped, "output: " + want.status().message()};
      const Tensor& t = (*got)[o];
      if (t.shape() != want->shape) {
        return {Outcome::kFailed, "output " + std::to_string(o) + " shape " +
                                      ShapeToString(t.shape()) + ", expected " +
                                      ShapeToString(want->shape)};
      }
      constexpr double kRtol = 1e-3, kAtol = 1e-7;
      for (int64_t i = 0; i < t.size(); ++i) {
        const double w = want->floats[static_cast<size_t>(i)];
        if (!(std::abs(t[i] - w) <= kAtol + kRtol * std::abs(w))) {
          std::ostringstream msg;
          msg << set.filename().string() << " output " << o << " index " << i << ": got " << t[i]
              << ", expected " << w;
          return {Outcome::kFailed, msg.str()};
        }
      }
    }
    ++passed_sets;
  }
  return {Outcome::kPassed, std::to_string(passed_sets) + " data set(s)"};
}

TEST(OnnxConformanceTest, NodeTestsOfSupportedOps) {
  KAMADO_REQUIRE_DATA(kNodeTests);
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(kNodeTests)) {
    if (e.is_directory() && Claimed(e.path().filename().string())) dirs.push_back(e.path());
  }
  std::sort(dirs.begin(), dirs.end());
  int ran = 0, skipped = 0, failed = 0;
  std::ostringstream skips;
  for (const fs::path& dir : dirs) {
    const std::string name = dir.filename().string();
    const Outcome r = RunCase(dir);
    switch (r.kind) {
      case Outcome::kPassed:
        ++ran;
        std::cout << "[ ran     ] " << name << " (" << r.detail << ")\n";
        break;
      case Outcome::kSkipped:
        ++skipped;
        skips << "[ skipped ] " << name << ": " << r.detail << "\n";
        break;
      case Outcome::kFailed:
        ++failed;
        ADD_FAILURE() << name << ": " << r.detail;
        break;
    }
  }
  std::cout << skips.str() << "ONNX node tests: " << ran << " ran, " << skipped << " skipped, "
            << failed << " failed (of " << dirs.size() << " in the supported op families)\n";
  EXPECT_GE(ran, 165);  // 170 at the time of writing
}

}  // namespace
}  // namespace kamado
