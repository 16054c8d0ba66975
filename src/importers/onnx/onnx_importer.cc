#include "importers/onnx/onnx_importer.h"

#include <set>

#include "core/file_util.h"
#include "importers/onnx/onnx_nodes.h"
#include "importers/onnx/onnx_tensor.h"
#include "ir/shape_inference.h"

namespace kamado::importers {
namespace {

using onnximport::ConstTensor;
using onnximport::ImportContext;
using onnximport::Symbol;

// Opsets 7–17 are the target; older models load too where an op's meaning
// did not change (legacy attributes such as consumed_inputs are Unsupported).
constexpr int64_t kMinOpset = 1;
constexpr int64_t kMaxOpset = 17;

Result<int64_t> DefaultOpset(const ::onnx::ModelProto& model) {
  for (const auto& op : model.opset_import()) {
    if (op.domain().empty() || op.domain() == "ai.onnx") {
      if (op.version() < kMinOpset || op.version() > kMaxOpset) {
        return Unsupported("opset " + std::to_string(op.version()) + " is not supported (" +
                           std::to_string(kMinOpset) + "–" + std::to_string(kMaxOpset) + ")");
      }
      return op.version();
    }
  }
  return InvalidArgument("no opset_import for the default ONNX domain");
}

// The graph input's logical shape; dimension 0 (the batch) becomes -1.
Result<Shape> InputShape(const ::onnx::ValueInfoProto& info) {
  const std::string what = "graph input '" + info.name() + "'";
  if (!info.type().has_tensor_type()) return Unsupported(what + " is not a tensor");
  const auto& tt = info.type().tensor_type();
  if (tt.elem_type() != ::onnx::TensorProto::FLOAT) {
    return Unsupported(what + " has dtype " + onnximport::DataTypeName(tt.elem_type()) +
                       "; only float32 is supported");
  }
  if (!tt.has_shape() || tt.shape().dim_size() == 0) {
    return Unsupported(what + " has no shape or is a scalar; inputs need a batch dimension");
  }
  Shape s;
  for (int d = 0; d < tt.shape().dim_size(); ++d) {
    const auto& dim = tt.shape().dim(d);
    if (d == 0) {
      s.push_back(-1);
    } else if (dim.has_dim_value() && dim.dim_value() > 0) {
      s.push_back(dim.dim_value());
    } else {
      return Unsupported(what + ": dimension " + std::to_string(d) +
                         " is dynamic; only the batch (dimension 0) may be");
    }
  }
  return s;
}

bool IsNhwcToNchw(const ::onnx::NodeProto& node) {
  if (node.op_type() != "Transpose") return false;
  for (const auto& a : node.attribute()) {
    if (a.name() == "perm") {
      return a.ints_size() == 4 && a.ints(0) == 0 && a.ints(1) == 3 && a.ints(2) == 1 &&
             a.ints(3) == 2;
    }
  }
  return false;
}

Result<ir::Graph> Import(const std::filesystem::path& path, const OnnxImportOptions& options) {
  ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  ::onnx::ModelProto model;
  if (!model.ParseFromString(bytes)) {
    return InvalidArgument("not an ONNX model (the ModelProto does not parse)");
  }
  ir::Graph g;
  ImportContext ctx;
  ctx.graph = &g;
  ctx.base_dir = path.parent_path();
  ASSIGN_OR_RETURN(ctx.opset, DefaultOpset(model));
  const ::onnx::GraphProto& graph = model.graph();
  g.name = graph.name();

  for (const auto& init : graph.initializer()) {
    ASSIGN_OR_RETURN(ConstTensor c, onnximport::DecodeTensor(init, ctx.base_dir,
                                                             "initializer '" + init.name() + "'"));
    ctx.symbols[init.name()] = Symbol{ir::kNoValue, std::move(c)};
  }
  for (const auto& [name, serialized] : options.bound_inputs) {
    ::onnx::TensorProto proto;
    if (!proto.ParseFromString(serialized)) {
      return InvalidArgument("bound input '" + name + "' is not a TensorProto");
    }
    ASSIGN_OR_RETURN(ConstTensor c,
                     onnximport::DecodeTensor(proto, ctx.base_dir, "bound input '" + name + "'"));
    ctx.symbols[name] = Symbol{ir::kNoValue, std::move(c)};
  }

  // Graph inputs that are not initializers (IR < 4 lists those too).
  std::vector<const ::onnx::ValueInfoProto*> inputs;
  for (const auto& info : graph.input()) {
    if (!ctx.symbols.contains(info.name())) inputs.push_back(&info);
  }
  // A single [N, H, W, C] input read only by Transpose(0, 3, 1, 2): absorb
  // the transpose and mark the input NHWC.
  const ::onnx::NodeProto* absorbed = nullptr;
  if (inputs.size() == 1) {
    std::vector<const ::onnx::NodeProto*> readers;
    for (const auto& node : graph.node()) {
      for (const auto& in : node.input()) {
        if (in == inputs[0]->name()) {
          readers.push_back(&node);
          break;
        }
      }
    }
    if (readers.size() == 1 && IsNhwcToNchw(*readers[0])) absorbed = readers[0];
  }
  for (const auto* info : inputs) {
    ASSIGN_OR_RETURN(Shape s, InputShape(*info));
    const auto& dims = info->type().tensor_type().shape().dim();
    if (ctx.declared_batch == 0 && dims[0].has_dim_value()) ctx.declared_batch = dims[0].dim_value();
    std::string name = info->name();
    if (absorbed != nullptr) {
      if (s.size() != 4) absorbed = nullptr;
      else s = {s[0], s[3], s[1], s[2]};
    }
    const ir::ValueId v = g.AddValue(name, s);
    g.AddInput(v);
    ctx.symbols[name] = Symbol{v, std::nullopt};
    if (absorbed != nullptr) {
      g.input_layout = Layout::kNHWC;
      ctx.symbols[absorbed->output(0)] = Symbol{v, std::nullopt};
    }
  }

  for (const auto& node : graph.node()) {
    if (&node == absorbed) continue;
    RETURN_IF_ERROR(onnximport::ConvertNode(node, ctx));
  }

  std::set<ir::ValueId> seen;
  for (const auto& out : graph.output()) {
    const auto it = ctx.symbols.find(out.name());
    if (it == ctx.symbols.end()) {
      return InvalidArgument("graph output '" + out.name() + "' is not produced by any node");
    }
    if (it->second.constant) {
      return Unsupported("graph output '" + out.name() + "' is a constant; outputs must be "
                         "computed from the inputs");
    }
    if (g.IsGraphInput(it->second.value)) {
      return Unsupported("graph output '" + out.name() + "' is a graph input");
    }
    if (!seen.insert(it->second.value).second) {
      return Unsupported("graph output '" + out.name() + "' repeats another output");
    }
    g.AddOutput(it->second.value);
  }
  RETURN_IF_ERROR(ir::InferShapes(g));
  RETURN_IF_ERROR(g.Verify());
  return g;
}

}  // namespace

Result<ir::Graph> ImportOnnxModel(const std::filesystem::path& model_onnx,
                                  const OnnxImportOptions& options) {
  auto graph = Import(model_onnx, options);
  if (!graph.ok()) return graph.status().WithPrefix(model_onnx.string());
  return graph;
}

}  // namespace kamado::importers
