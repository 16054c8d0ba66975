#include "exporters/onnx/onnx_exporter.h"

#include <onnx/onnx_pb.h>  // defines ONNX_API, then onnx-ml.pb.h (ONNX_ML)

#include <fstream>
#include <set>
#include <unordered_map>

namespace kamado::exporters {
namespace {

using ir::OpType;

class Exporter {
 public:
  Exporter(const ir::Graph& g, const OnnxExportOptions& o) : g_(g), options_(o) {}

  Result<std::string> Run() {
    model_.set_ir_version(8);
    model_.set_producer_name(options_.producer_name);
    auto* opset = model_.add_opset_import();
    opset->set_domain("");
    opset->set_version(13);
    graph_ = model_.mutable_graph();
    graph_->set_name(g_.name.empty() ? "kamado" : g_.name);

    for (size_t i = 0; i < g_.inputs().size(); ++i) RETURN_IF_ERROR(AddInput(i));
    ASSIGN_OR_RETURN(auto order, g_.TopologicalOrder());
    for (ir::NodeId id : order) RETURN_IF_ERROR(Export(g_.node(id)));
    for (size_t i = 0; i < g_.outputs().size(); ++i) RETURN_IF_ERROR(AddOutput(i));

    std::string bytes;
    if (!model_.SerializeToString(&bytes)) return Internal("cannot serialise the ONNX model");
    return bytes;
  }

 private:
  // ---- names -------------------------------------------------------------

  std::string Unique(std::string base) {
    for (char& c : base) {
      if (c == ':' || c == ' ') c = '_';
    }
    std::string name = base;
    for (int i = 1; used_.count(name); ++i) name = base + "_" + std::to_string(i);
    used_.insert(name);
    return name;
  }

  // The ONNX name of an IR value; constants become initializers on first use.
  Result<std::string> Name(ir::ValueId v) {
    auto it = names_.find(v);
    if (it != names_.end()) return it->second;
    const ir::Value& val = g_.value(v);
    if (!val.is_constant()) {
      return Internal("value '" + val.name + "' is read before it is produced");
    }
    const std::string name = Unique(val.name);
    AddInitializer(name, val.constant->shape(), val.constant->data(), val.constant->size());
    names_[v] = name;
    return name;
  }

  std::string Fresh(const std::string& base) { return Unique(base); }

  void AddInitializer(const std::string& name, const Shape& shape, const float* data,
                      int64_t count) {
    onnx::TensorProto* t = graph_->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : shape) t->add_dims(d);
    t->set_raw_data(std::string(reinterpret_cast<const char*>(data),
                                static_cast<size_t>(count) * sizeof(float)));
  }

  std::string Int64Initializer(const std::string& base, const std::vector<int64_t>& values) {
    const std::string name = Unique(base);
    onnx::TensorProto* t = graph_->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(static_cast<int64_t>(values.size()));
    for (int64_t v : values) t->add_int64_data(v);
    return name;
  }

  std::string ScalarInitializer(const std::string& base, float value) {
    const std::string name = Unique(base);
    AddInitializer(name, {}, &value, 1);
    return name;
  }

  // ---- nodes -------------------------------------------------------------

  onnx::NodeProto* AddNode(const std::string& op, const std::string& name,
                           const std::vector<std::string>& inputs,
                           const std::vector<std::string>& outputs) {
    onnx::NodeProto* n = graph_->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto& i : inputs) n->add_input(i);
    for (const auto& o : outputs) n->add_output(o);
    return n;
  }

  static void Attr(onnx::NodeProto* n, const std::string& name, int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void Attr(onnx::NodeProto* n, const std::string& name, float v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  template <typename Container>
  static void Ints(onnx::NodeProto* n, const std::string& name, const Container& values) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t v : values) a->add_ints(v);
  }

  void SetValueInfo(onnx::ValueInfoProto* info, const std::string& name, const Shape& shape) {
    info->set_name(name);
    auto* tensor = info->mutable_type()->mutable_tensor_type();
    tensor->set_elem_type(onnx::TensorProto::FLOAT);
    auto* s = tensor->mutable_shape();
    for (size_t i = 0; i < shape.size(); ++i) {
      auto* dim = s->add_dim();
      if (i == 0) {
        dim->set_dim_param("N");
      } else {
        dim->set_dim_value(shape[i]);
      }
    }
  }

  Status AddInput(size_t i) {
    const ir::ValueId v = g_.inputs()[i];
    const Shape& s = g_.value(v).shape;
    const std::string name = Unique(i == 0 ? "input" : "input_" + std::to_string(i));
    if (s.size() == 4 && options_.input_layout == Layout::kNHWC) {
      SetValueInfo(graph_->add_input(), name, {s[0], s[2], s[3], s[1]});
      const std::string nchw = Fresh(name + "_nchw");
      Ints(AddNode("Transpose", name + "_to_nchw", {name}, {nchw}), "perm",
           std::vector<int64_t>{0, 3, 1, 2});
      names_[v] = nchw;
    } else {
      SetValueInfo(graph_->add_input(), name, s);
      names_[v] = name;
    }
    return Status::Ok();
  }

  Status AddOutput(size_t i) {
    const ir::ValueId v = g_.outputs()[i];
    ASSIGN_OR_RETURN(std::string inner, Name(v));
    const Shape& s = g_.value(v).shape;
    const std::string name = Unique(i == 0 ? "output" : "output_" + std::to_string(i));
    if (s.size() == 4 && options_.input_layout == Layout::kNHWC) {
      Ints(AddNode("Transpose", name + "_to_nhwc", {inner}, {name}), "perm",
           std::vector<int64_t>{0, 2, 3, 1});
      SetValueInfo(graph_->add_output(), name, {s[0], s[2], s[3], s[1]});
    } else {
      AddNode("Identity", name, {inner}, {name});
      SetValueInfo(graph_->add_output(), name, s);
    }
    return Status::Ok();
  }

  // Emits `a` on `in`; returns the new value's name.
  std::string EmitActivation(const ir::Activation& a, const std::string& in,
                             const std::string& node) {
    const std::string out = Fresh(node + "_" + std::string(ir::ActivationKindName(a.kind)));
    switch (a.kind) {
      case ir::ActivationKind::kRelu:
        AddNode("Relu", out, {in}, {out});
        break;
      case ir::ActivationKind::kClip:
        AddNode("Clip", out,
                {in, ScalarInitializer(out + "_min", a.alpha), ScalarInitializer(out + "_max", a.beta)},
                {out});
        break;
      case ir::ActivationKind::kLeakyRelu:
        Attr(AddNode("LeakyRelu", out, {in}, {out}), "alpha", a.alpha);
        break;
      case ir::ActivationKind::kSigmoid:
        AddNode("Sigmoid", out, {in}, {out});
        break;
      case ir::ActivationKind::kTanh:
        AddNode("Tanh", out, {in}, {out});
        break;
      case ir::ActivationKind::kElu:
        Attr(AddNode("Elu", out, {in}, {out}), "alpha", a.alpha);
        break;
      case ir::ActivationKind::kExp:
        AddNode("Exp", out, {in}, {out});
        break;
      case ir::ActivationKind::kReciprocal:
        AddNode("Reciprocal", out, {in}, {out});
        break;
      case ir::ActivationKind::kNeg:
        AddNode("Neg", out, {in}, {out});
        break;
      case ir::ActivationKind::kAbs:
        AddNode("Abs", out, {in}, {out});
        break;
      case ir::ActivationKind::kSqrt:
        AddNode("Sqrt", out, {in}, {out});
        break;
      case ir::ActivationKind::kErf:
        AddNode("Erf", out, {in}, {out});
        break;
      case ir::ActivationKind::kGeluErf: {
        // Opset 13 has no Gelu: x · ½ · (1 + erf(x · 1/√2)), the form PyTorch exports.
        const std::string scaled = Fresh(out + "_scaled"), erf = Fresh(out + "_erf");
        const std::string plus_one = Fresh(out + "_plus_one"), times_x = Fresh(out + "_times_x");
        AddNode("Mul", scaled, {in, ScalarInitializer(out + "_inv_sqrt2", 0.70710678118654752f)}, {scaled});
        AddNode("Erf", erf, {scaled}, {erf});
        AddNode("Add", plus_one, {erf, ScalarInitializer(out + "_one", 1.0f)}, {plus_one});
        AddNode("Mul", times_x, {in, plus_one}, {times_x});
        AddNode("Mul", out, {times_x, ScalarInitializer(out + "_half", 0.5f)}, {out});
        break;
      }
      case ir::ActivationKind::kSwish: {
        // x · Sigmoid(alpha · x), as PyTorch writes SiLU (alpha 1).
        std::string arg = in;
        if (a.alpha != 1.0f) {
          arg = Fresh(out + "_scaled");
          AddNode("Mul", arg, {in, ScalarInitializer(out + "_alpha", a.alpha)}, {arg});
        }
        const std::string gate = Fresh(out + "_sigmoid");
        AddNode("Sigmoid", gate, {arg}, {gate});
        AddNode("Mul", out, {in, gate}, {out});
        break;
      }
      case ir::ActivationKind::kGeluTanh: {
        // Opset 13 has no Gelu: x · ½ · (1 + tanh(√(2/π) · (x + 0.044715 · x·x·x))).
        const std::string sq = Fresh(out + "_square"), cube = Fresh(out + "_cube");
        const std::string cubic = Fresh(out + "_cubic"), inner = Fresh(out + "_inner");
        const std::string scaled = Fresh(out + "_scaled"), th = Fresh(out + "_tanh");
        const std::string plus_one = Fresh(out + "_plus_one"), times_x = Fresh(out + "_times_x");
        AddNode("Mul", sq, {in, in}, {sq});
        AddNode("Mul", cube, {sq, in}, {cube});
        AddNode("Mul", cubic, {cube, ScalarInitializer(out + "_c", 0.044715f)}, {cubic});
        AddNode("Add", inner, {in, cubic}, {inner});
        AddNode("Mul", scaled, {inner, ScalarInitializer(out + "_sqrt_2_pi", 0.79788456080286536f)}, {scaled});
        AddNode("Tanh", th, {scaled}, {th});
        AddNode("Add", plus_one, {th, ScalarInitializer(out + "_one", 1.0f)}, {plus_one});
        AddNode("Mul", times_x, {in, plus_one}, {times_x});
        AddNode("Mul", out, {times_x, ScalarInitializer(out + "_half", 0.5f)}, {out});
        break;
      }
      case ir::ActivationKind::kHardSigmoid: {
        auto* n = AddNode("HardSigmoid", out, {in}, {out});
        Attr(n, "alpha", a.alpha);
        Attr(n, "beta", a.beta);
        break;
      }
      case ir::ActivationKind::kHardSwish: {
        // Opset 13 has no HardSwish: x · HardSigmoid(x; 1/6, 1/2).
        const std::string gate = Fresh(out + "_gate");
        auto* n = AddNode("HardSigmoid", gate, {in}, {gate});
        Attr(n, "alpha", 1.0f / 6.0f);
        Attr(n, "beta", 0.5f);
        AddNode("Mul", out, {in, gate}, {out});
        break;
      }
    }
    return out;
  }

  Status EmitPostOps(const std::vector<ir::PostOp>& post_ops, std::string value,
                     const ir::Node& n, ir::ValueId residual) {
    for (const ir::PostOp& p : post_ops) {
      if (p.kind == ir::PostOp::Kind::kSum) {
        ASSIGN_OR_RETURN(std::string r, Name(residual));
        const std::string out = Fresh(n.name + "_add");
        AddNode("Add", out, {value, r}, {out});
        value = out;
      } else {
        value = EmitActivation(p.activation, value, n.name);
      }
    }
    names_[n.outputs[0]] = value;
    return Status::Ok();
  }

  Status Export(const ir::Node& n) {
    std::vector<std::string> in;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (n.inputs[i] == ir::kNoValue) continue;
      if (n.op == OpType::kConv && i == 3) continue;  // the residual, added by a post-op
      if (n.op == OpType::kDense && i == 1) continue;  // rewritten below
      ASSIGN_OR_RETURN(std::string name, Name(n.inputs[i]));
      in.push_back(name);
    }
    const std::string out = Fresh(g_.value(n.outputs[0]).name);
    switch (n.op) {
      case OpType::kConv: {
        const auto& a = n.attr<ir::ConvAttrs>();
        auto* node = AddNode("Conv", n.name, in, {out});
        Ints(node, "kernel_shape", a.kernel);
        Ints(node, "strides", a.strides);
        Ints(node, "dilations", a.dilations);
        Ints(node, "pads", a.pads);
        Attr(node, "group", a.group);
        return EmitPostOps(a.post_ops, out, n, n.inputs.size() > 3 ? n.inputs[3] : ir::kNoValue);
      }
      case OpType::kDense: {
        // Gemm(x, W, b, transB=1); a 4-D weight [O, C, H, W] is a Flatten of
        // the NCHW input followed by W reshaped to [O, C·H·W].
        const ir::Value& w = g_.value(n.inputs[1]);
        if (!w.is_constant()) return Unsupported(ir::Describe(n) + ": weights must be constant");
        std::string x = in[0];
        const std::string w_name = Unique(w.name);
        const int64_t o = w.shape[0];
        AddInitializer(w_name, {o, w.constant->size() / o}, w.constant->data(), w.constant->size());
        if (w.shape.size() == 4) {
          const std::string flat = Fresh(n.name + "_flatten");
          Attr(AddNode("Flatten", flat, {x}, {flat}), "axis", int64_t{1});
          x = flat;
        }
        std::vector<std::string> gemm_in{x, w_name};
        if (in.size() > 1) gemm_in.push_back(in[1]);
        Attr(AddNode("Gemm", n.name, gemm_in, {out}), "transB", int64_t{1});
        return EmitPostOps(n.attr<ir::DenseAttrs>().post_ops, out, n, ir::kNoValue);
      }
      case OpType::kBatchNorm: {
        const auto& a = n.attr<ir::BatchNormAttrs>();
        const std::string normed = a.relu ? Fresh(n.name + "_normalised") : out;
        Attr(AddNode("BatchNormalization", n.name, in, {normed}), "epsilon", a.epsilon);
        if (a.relu) AddNode("Relu", n.name + "_relu", {normed}, {out});
        break;
      }
      case OpType::kActivation:
        names_[n.outputs[0]] = EmitActivation(n.attr<ir::ActivationAttrs>().activation, in[0], n.name);
        return Status::Ok();
      case OpType::kPad: {
        const auto& p = n.attr<ir::PadAttrs>().pads;
        AddNode("Pad", n.name,
                {in[0], Int64Initializer(n.name + "_pads", {0, 0, p[0], p[1], 0, 0, p[2], p[3]}),
                 ScalarInitializer(n.name + "_value", n.attr<ir::PadAttrs>().value)},
                {out});
        break;
      }
      case OpType::kMaxPool:
      case OpType::kAvgPool: {
        const auto& a = n.attr<ir::PoolAttrs>();
        const bool max = n.op == OpType::kMaxPool;
        auto* node = AddNode(max ? "MaxPool" : "AveragePool", n.name, in, {out});
        Ints(node, "kernel_shape", a.kernel);
        Ints(node, "strides", a.strides);
        Ints(node, "pads", a.pads);
        if (!max) Attr(node, "count_include_pad", int64_t{a.count_include_pad ? 1 : 0});
        return EmitPostOps(a.post_ops, out, n, ir::kNoValue);
      }
      case OpType::kGlobalAvgPool:
        AddNode("GlobalAveragePool", n.name, in, {out});
        break;
      case OpType::kConcat:
        Attr(AddNode("Concat", n.name, in, {out}), "axis", n.attr<ir::ConcatAttrs>().axis);
        break;
      case OpType::kFlatten: {
        std::string x = in[0];
        if (n.attr<ir::FlattenAttrs>().channels_last && g_.value(n.inputs[0]).shape.size() == 4) {
          const std::string nhwc = Fresh(n.name + "_nhwc");
          Ints(AddNode("Transpose", nhwc, {x}, {nhwc}), "perm", std::vector<int64_t>{0, 2, 3, 1});
          x = nhwc;
        }
        Attr(AddNode("Flatten", n.name, {x}, {out}), "axis", int64_t{1});
        break;
      }
      case OpType::kSoftmax:
        Attr(AddNode("Softmax", n.name, in, {out}), "axis", n.attr<ir::SoftmaxAttrs>().axis);
        break;
      case OpType::kIdentity:
        AddNode("Identity", n.name, in, {out});
        break;
      case OpType::kGlobalMaxPool:
        AddNode("GlobalMaxPool", n.name, in, {out});
        break;
      case OpType::kBinary: {
        // ONNX's numpy broadcasting covers the IR's (b has a's rank, 1s broadcast).
        const char* op = "Add";
        switch (n.attr<ir::BinaryAttrs>().kind) {
          case ir::BinaryKind::kAdd: op = "Add"; break;
          case ir::BinaryKind::kSub: op = "Sub"; break;
          case ir::BinaryKind::kMul: op = "Mul"; break;
          case ir::BinaryKind::kDiv: op = "Div"; break;
        }
        AddNode(op, n.name, in, {out});
        break;
      }
      case OpType::kReshape: {
        // The IR's dimension 0 is the batch (-1 or the input's own): ONNX 0 copies it.
        std::vector<int64_t> shape = n.attr<ir::ReshapeAttrs>().shape;
        if (!shape.empty()) shape[0] = 0;
        AddNode("Reshape", n.name, {in[0], Int64Initializer(n.name + "_shape", shape)}, {out});
        break;
      }
      case OpType::kTranspose:
        Ints(AddNode("Transpose", n.name, in, {out}), "perm", n.attr<ir::TransposeAttrs>().perm);
        break;
      case OpType::kLayerNorm: {
        // Opset 13 has no LayerNormalization: PyTorch's decomposition, which
        // FuseLayerNorm turns back into one op on import.
        const auto& a = n.attr<ir::LayerNormAttrs>();
        const Shape& xs = g_.value(n.inputs[0]).shape;
        Shape param_shape(xs.size() - static_cast<size_t>(a.axis), 1);
        param_shape[0] = xs[static_cast<size_t>(a.axis)];
        std::string params[2];
        for (size_t i = 0; i < 2; ++i) {
          const ir::Value& p = g_.value(n.inputs[i + 1]);
          if (!p.is_constant()) return Unsupported(ir::Describe(n) + ": gamma and beta must be constant");
          params[i] = Unique(p.name);
          AddInitializer(params[i], param_shape, p.constant->data(), p.constant->size());
        }
        const std::string mean = Fresh(n.name + "_mean"), centred = Fresh(n.name + "_centred");
        const std::string square = Fresh(n.name + "_square"), var = Fresh(n.name + "_variance");
        const std::string plus_eps = Fresh(n.name + "_plus_eps"), stddev = Fresh(n.name + "_stddev");
        const std::string normed = Fresh(n.name + "_normalised"), scaled = Fresh(n.name + "_scaled");
        Ints(AddNode("ReduceMean", mean, {in[0]}, {mean}), "axes", std::vector<int64_t>{a.axis});
        AddNode("Sub", centred, {in[0], mean}, {centred});
        AddNode("Mul", square, {centred, centred}, {square});
        Ints(AddNode("ReduceMean", var, {square}, {var}), "axes", std::vector<int64_t>{a.axis});
        AddNode("Add", plus_eps, {var, ScalarInitializer(n.name + "_epsilon", a.epsilon)}, {plus_eps});
        AddNode("Sqrt", stddev, {plus_eps}, {stddev});
        AddNode("Div", normed, {centred, stddev}, {normed});
        AddNode("Mul", scaled, {normed, params[0]}, {scaled});
        AddNode("Add", n.name, {scaled, params[1]}, {out});
        break;
      }
      case OpType::kSlice: {
        // Axes 1.. (the batch is whole): starts, ends = starts + sizes.
        const auto& a = n.attr<ir::SliceAttrs>();
        std::vector<int64_t> starts, ends, axes;
        for (size_t d = 1; d < a.starts.size(); ++d) {
          starts.push_back(a.starts[d]);
          ends.push_back(a.starts[d] + a.sizes[d]);
          axes.push_back(static_cast<int64_t>(d));
        }
        AddNode("Slice", n.name,
                {in[0], Int64Initializer(n.name + "_starts", starts),
                 Int64Initializer(n.name + "_ends", ends), Int64Initializer(n.name + "_axes", axes)},
                {out});
        break;
      }
    }
    names_[n.outputs[0]] = out;
    return Status::Ok();
  }

  const ir::Graph& g_;
  const OnnxExportOptions& options_;
  onnx::ModelProto model_;
  onnx::GraphProto* graph_ = nullptr;
  std::unordered_map<ir::ValueId, std::string> names_;
  std::set<std::string> used_;
};

}  // namespace

Result<std::string> ExportOnnx(const ir::Graph& graph, const OnnxExportOptions& options) {
  return Exporter(graph, options).Run();
}

Status WriteOnnxFile(const ir::Graph& graph, const std::filesystem::path& path,
                     const OnnxExportOptions& options) {
  ASSIGN_OR_RETURN(std::string bytes, ExportOnnx(graph, options));
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return NotFound("cannot write '" + tmp.string() + "'");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) return Internal("short write to '" + tmp.string() + "'");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Internal("cannot rename '" + tmp.string() + "': " + ec.message());
  return Status::Ok();
}

}  // namespace kamado::exporters
