#include "runtime/plan_builder.h"

#include <algorithm>
#include <climits>
#include <map>
#include <optional>
#include <unordered_map>

#include "ir/graph.h"
#include "runtime/compiled_model.h"
#include "runtime/dnnl/dnnl_util.h"

namespace kamado::runtime {
namespace {

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;
using dt = memory::data_type;
using tag = memory::format_tag;

memory::dims Dims(const Shape& shape, int64_t batch) {
  memory::dims d(shape.begin(), shape.end());
  if (!d.empty()) d[0] = batch;
  return d;
}

memory::desc Plain(const memory::dims& dims) { return {dims, dt::f32, PlainTag(dims.size())}; }
memory::desc Any(const memory::dims& dims) { return {dims, dt::f32, tag::any}; }

dnnl::primitive_attr UserScratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

class PlanBuilder {
 public:
  PlanBuilder(const CompiledModel& model, int64_t batch, int threads)
      : model_(model), g_(model.graph()), batch_(batch), plan_(std::make_shared<Plan>()) {
    plan_->batch = batch;
    plan_->threads = threads;
  }

  Result<std::shared_ptr<Plan>> Build() {
    ASSIGN_OR_RETURN(auto order, g_.TopologicalOrder());
    for (ir::NodeId id : order) {
      for (ir::ValueId v : g_.node(id).inputs) {
        if (v != ir::kNoValue) ++remaining_[v];
      }
    }
    for (size_t i = 0; i < g_.inputs().size(); ++i) {
      const ir::ValueId v = g_.inputs()[i];
      const memory::dims dims = Dims(g_.value(v).shape, batch_);
      memory::desc md = Plain(dims);
      if (dims.size() == 4 && g_.input_layout == ir::Layout::kNHWC) md = {dims, dt::f32, tag::nhwc};
      MemRef ref{MemRef::Kind::kInput, static_cast<int>(i), md};
      where_[v] = ref;
      plan_->inputs.push_back(ref);
    }
    PlanConcatsInPlace(order);
    for (ir::NodeId id : order) {
      const ir::Node& n = g_.node(id);
      try {
        RETURN_IF_ERROR(Lower(n));
      } catch (const dnnl::error& e) {
        return FromDnnlError(e, ir::Describe(n));
      }
      for (ir::ValueId v : n.inputs) {
        if (v != ir::kNoValue) --remaining_[v];
      }
    }
    try {
      RETURN_IF_ERROR(BindOutputs());
    } catch (const dnnl::error& e) {
      return FromDnnlError(e, "graph outputs");
    }
    plan_->memory = PlanMemory(plan_->buffers);
    return plan_;
  }

 private:
  // ---- bookkeeping -------------------------------------------------------

  int NewBuffer(const memory::desc& md) {
    plan_->buffers.push_back(BufferUse{md.get_size(), INT_MAX, -1});
    return static_cast<int>(plan_->buffers.size() - 1);
  }
  MemRef NewArena(const memory::desc& md) { return {MemRef::Kind::kArena, NewBuffer(md), md}; }

  void AddStep(Step step, const dnnl::memory::desc& scratchpad = {}) {
    const int index = static_cast<int>(plan_->steps.size());
    if (scratchpad.get_size() > 0) {
      plan_->scratchpad_bytes = std::max(plan_->scratchpad_bytes, scratchpad.get_size());
      step.args.push_back({DNNL_ARG_SCRATCHPAD, MemRef{MemRef::Kind::kScratchpad, 0, scratchpad}});
    }
    for (const auto& [arg, ref] : step.args) {
      if (ref.kind != MemRef::Kind::kArena) continue;
      BufferUse& b = plan_->buffers[static_cast<size_t>(ref.index)];
      b.first_step = std::min(b.first_step, index);
      b.last_step = std::max(b.last_step, index);
    }
    plan_->total_flops += step.flops;
    plan_->steps.push_back(std::move(step));
  }

  template <typename Primitive, typename PrimitiveDesc>
  Step MakeStep(const ir::Node& n, const PrimitiveDesc& pd) {
    Step s;
    s.node = n.name;
    s.op = std::string(ir::OpTypeName(n.op));
    s.impl = pd.impl_info_str();
    s.primitive = Primitive(pd);
    return s;
  }

  void AddReorder(const std::string& node, const MemRef& from, const MemRef& to) {
    dnnl::reorder::primitive_desc pd(CpuEngine(), from.desc, CpuEngine(), to.desc,
                                     UserScratchpad());
    Step s;
    s.node = node + "/reorder";
    s.op = "Reorder";
    s.impl = pd.impl_info_str();
    s.primitive = dnnl::reorder(pd);
    s.args = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    AddStep(std::move(s), pd.scratchpad_desc());
  }

  // The value `v` in layout `want`: as produced, or through one reorder
  // (cached, so several consumers wanting the same layout share it).
  MemRef Ensure(ir::ValueId v, const memory::desc& want) {
    const MemRef& have = where_.at(v);
    if (have.desc == want) return have;
    for (const MemRef& alt : converted_[v]) {
      if (alt.desc == want) return alt;
    }
    MemRef to = NewArena(want);
    AddReorder(g_.value(v).name, have, to);
    converted_[v].push_back(to);
    return to;
  }

  Result<MemRef> Constant(ir::ValueId v, const memory::desc& want, const memory::desc& source) {
    ASSIGN_OR_RETURN(dnnl::memory mem, model_.ConstantLocked(v, want, source));
    plan_->constants.push_back(mem);
    return MemRef{MemRef::Kind::kConstant, static_cast<int>(plan_->constants.size() - 1), want};
  }

  int Remaining(ir::ValueId v) const {
    auto it = remaining_.find(v);
    return it == remaining_.end() ? 0 : it->second;
  }

  // True when `v` is read by nobody after the current node and can be
  // overwritten in place.
  bool Expiring(ir::ValueId v) const {
    const MemRef& ref = where_.at(v);
    if (ref.kind != MemRef::Kind::kArena || Remaining(v) != 1 || g_.IsGraphOutput(v)) {
      return false;
    }
    // Views (Identity, Flatten) share buffers: all sharers must be dead too.
    for (const auto& [other, other_ref] : where_) {
      if (other != v && other_ref.kind == MemRef::Kind::kArena && other_ref.index == ref.index &&
          (Remaining(other) > 0 || g_.IsGraphOutput(other))) {
        return false;
      }
    }
    return true;
  }

  // Destination for an op whose output layout equals its input's: in place
  // when the input dies here.
  MemRef SameLayoutDst(ir::ValueId in, const memory::desc& md) {
    if (Expiring(in) && where_.at(in).desc == md) return where_.at(in);
    return NewArena(md);
  }

  const ir::Value& Val(ir::ValueId v) const { return g_.value(v); }
  memory::dims DimsOf(ir::ValueId v) const { return Dims(Val(v).shape, batch_); }
  static bool Has(const ir::Node& n, size_t i) {
    return n.inputs.size() > i && n.inputs[i] != ir::kNoValue;
  }

  // ---- lowering ----------------------------------------------------------

  Status Lower(const ir::Node& n) {
    switch (n.op) {
      case ir::OpType::kConv: return LowerConv(n);
      case ir::OpType::kDense: return LowerDense(n);
      case ir::OpType::kMaxPool:
      case ir::OpType::kAvgPool:
      case ir::OpType::kGlobalAvgPool: return LowerPool(n);
      case ir::OpType::kConcat: return LowerConcat(n);
      case ir::OpType::kAdd: return LowerAdd(n);
      case ir::OpType::kActivation: return LowerActivation(n);
      case ir::OpType::kBatchNorm: return LowerBatchNorm(n);
      case ir::OpType::kSoftmax: return LowerSoftmax(n);
      case ir::OpType::kFlatten: return LowerFlatten(n);
      case ir::OpType::kPad: return LowerPad(n);
      case ir::OpType::kIdentity:
        where_[n.outputs[0]] = where_.at(n.inputs[0]);
        return Status::Ok();
      case ir::OpType::kBinary: return LowerBinary(n);
      case ir::OpType::kGlobalMaxPool: return LowerGlobalMaxPool(n);
      case ir::OpType::kReshape: return LowerReshape(n);
      case ir::OpType::kTranspose: return LowerTranspose(n);
    }
    return Unsupported(ir::Describe(n) + ": no oneDNN lowering for this op");
  }

  Status LowerConv(const ir::Node& n) {
    const auto& a = n.attr<ir::ConvAttrs>();
    const ir::ValueId x = n.inputs[0];
    const ir::ValueId out = n.outputs[0];
    if (!model_.IsConstantLocked(n.inputs[1])) {
      return Unsupported(ir::Describe(n) + ": weights must be constant");
    }
    const Shape& ws = Val(n.inputs[1]).shape;
    const int64_t g = a.group;
    memory::dims w_dims = g == 1 ? memory::dims{ws[0], ws[1], ws[2], ws[3]}
                                 : memory::dims{g, ws[0] / g, ws[1], ws[2], ws[3]};
    const bool has_bias = Has(n, 2);
    const memory::dims dst_dims = DimsOf(out);
    const memory::desc bias_md({ws[0]}, dt::f32, tag::a);
    const memory::dims strides{a.strides[0], a.strides[1]};
    const memory::dims dilates{a.dilations[0] - 1, a.dilations[1] - 1};
    const memory::dims pad_l{a.pads[0], a.pads[1]};
    const memory::dims pad_r{a.pads[2], a.pads[3]};

    dnnl::primitive_attr attr = UserScratchpad();
    dnnl::post_ops ops;
    AppendPostOps(a.post_ops, ops);
    attr.set_post_ops(ops);

    auto make_pd = [&](const memory::desc& src_md) {
      auto d = has_bias ? dnnl::convolution_forward::desc(
                              prop_kind::forward_inference, algorithm::convolution_direct, src_md,
                              Any(w_dims), bias_md, Any(dst_dims), strides, dilates, pad_l, pad_r)
                        : dnnl::convolution_forward::desc(
                              prop_kind::forward_inference, algorithm::convolution_direct, src_md,
                              Any(w_dims), Any(dst_dims), strides, dilates, pad_l, pad_r);
      return dnnl::convolution_forward::primitive_desc(d, attr, CpuEngine());
    };
    // Let oneDNN pick the layout; if it wants a different one than the
    // producer wrote, prefer an optimised kernel on the producer's layout
    // over a reorder.
    const memory::desc& have = where_.at(x).desc;
    auto pd = make_pd(Any(DimsOf(x)));
    if (pd.src_desc() != have) {
      try {
        auto exact = make_pd(have);
        if (std::string(exact.impl_info_str()).rfind("ref", 0) != 0) pd = exact;
      } catch (const dnnl::error&) {
        // No kernel for the producer's layout: keep the reorder.
      }
    }

    Step s = MakeStep<dnnl::convolution_forward>(n, pd);
    const MemRef src = Ensure(x, pd.src_desc());
    const memory::desc w_source(w_dims, dt::f32, g == 1 ? tag::abcd : tag::abcde);
    ASSIGN_OR_RETURN(MemRef w, Constant(n.inputs[1], pd.weights_desc(), w_source));
    MemRef dst;
    if (a.HasSum()) {
      const ir::ValueId residual = n.inputs[3];
      if (Expiring(residual) && where_.at(residual).desc == pd.dst_desc()) {
        dst = where_.at(residual);  // accumulate straight into the residual's buffer
      } else {
        dst = NewArena(pd.dst_desc());
        AddReorder(n.name + "/residual", where_.at(residual), dst);
      }
    } else if (auto slice = ConcatSliceFor(out, pd.dst_desc())) {
      dst = *slice;  // the branch writes straight into its part of the concat
    } else {
      dst = NewArena(pd.dst_desc());
    }
    s.args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, dst}};
    if (has_bias) {
      ASSIGN_OR_RETURN(MemRef b, Constant(n.inputs[2], pd.bias_desc(), bias_md));
      s.args.push_back({DNNL_ARG_BIAS, b});
    }
    s.flops = 2.0 * static_cast<double>(dst_dims[0] * dst_dims[1] * dst_dims[2] * dst_dims[3]) *
              static_cast<double>(ws[1] * ws[2] * ws[3]);
    AddStep(std::move(s), pd.scratchpad_desc());
    where_[out] = dst;
    return Status::Ok();
  }

  Status LowerDense(const ir::Node& n) {
    const auto& a = n.attr<ir::DenseAttrs>();
    const ir::ValueId x = n.inputs[0];
    if (!model_.IsConstantLocked(n.inputs[1])) {
      return Unsupported(ir::Describe(n) + ": weights must be constant");
    }
    const Shape& ws = Val(n.inputs[1]).shape;
    const memory::dims w_dims(ws.begin(), ws.end());
    const memory::dims dst_dims = DimsOf(n.outputs[0]);
    const bool has_bias = Has(n, 2);
    const memory::desc bias_md({ws[0]}, dt::f32, tag::a);
    dnnl::primitive_attr attr = UserScratchpad();
    dnnl::post_ops ops;
    for (const ir::PostOp& p : a.post_ops) {
      if (p.kind == ir::PostOp::Kind::kSum) {
        return Unsupported(ir::Describe(n) + ": sum post-op on Dense is not supported");
      }
    }
    AppendPostOps(a.post_ops, ops);
    attr.set_post_ops(ops);
    auto d = has_bias ? dnnl::inner_product_forward::desc(prop_kind::forward_inference,
                                                          Any(DimsOf(x)), Any(w_dims), bias_md,
                                                          Any(dst_dims))
                      : dnnl::inner_product_forward::desc(prop_kind::forward_inference,
                                                          Any(DimsOf(x)), Any(w_dims),
                                                          Any(dst_dims));
    dnnl::inner_product_forward::primitive_desc pd(d, attr, CpuEngine());
    Step s = MakeStep<dnnl::inner_product_forward>(n, pd);
    const MemRef src = Ensure(x, pd.src_desc());
    ASSIGN_OR_RETURN(MemRef w, Constant(n.inputs[1], pd.weights_desc(), Plain(w_dims)));
    const MemRef dst = NewArena(pd.dst_desc());
    s.args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, dst}};
    if (has_bias) {
      ASSIGN_OR_RETURN(MemRef b, Constant(n.inputs[2], pd.bias_desc(), bias_md));
      s.args.push_back({DNNL_ARG_BIAS, b});
    }
    s.flops = 2.0 * static_cast<double>(dst_dims[0]) * static_cast<double>(NumElements(ws));
    AddStep(std::move(s), pd.scratchpad_desc());
    where_[n.outputs[0]] = dst;
    return Status::Ok();
  }

  Status LowerPool(const ir::Node& n) {
    const ir::ValueId x = n.inputs[0];
    const memory::dims src_dims = DimsOf(x);
    algorithm alg = algorithm::pooling_max;
    memory::dims kernel{src_dims[2], src_dims[3]}, strides{1, 1}, pad_l{0, 0}, pad_r{0, 0};
    if (n.op != ir::OpType::kGlobalAvgPool) {
      const auto& a = n.attr<ir::PoolAttrs>();
      kernel = {a.kernel[0], a.kernel[1]};
      strides = {a.strides[0], a.strides[1]};
      pad_l = {a.pads[0], a.pads[1]};
      pad_r = {a.pads[2], a.pads[3]};
      if (n.op == ir::OpType::kAvgPool) {
        alg = a.count_include_pad ? algorithm::pooling_avg_include_padding
                                  : algorithm::pooling_avg_exclude_padding;
      }
    } else {
      alg = algorithm::pooling_avg_exclude_padding;
    }
    const MemRef& src = where_.at(x);
    dnnl::pooling_forward::desc d(prop_kind::forward_inference, alg, src.desc,
                                  Any(DimsOf(n.outputs[0])), strides, kernel, pad_l, pad_r);
    dnnl::primitive_attr attr = UserScratchpad();
    if (n.op != ir::OpType::kGlobalAvgPool) {
      const auto& post = n.attr<ir::PoolAttrs>().post_ops;
      if (ir::HasSumPostOp(post)) {
        return Unsupported(ir::Describe(n) + ": sum post-op on pooling is not supported");
      }
      dnnl::post_ops ops;
      AppendPostOps(post, ops);
      attr.set_post_ops(ops);
    }
    return AddPooling(n, d, src, attr);
  }

  // The pooling step for `d`, written into its concat slice when it has one.
  Status AddPooling(const ir::Node& n, const dnnl::pooling_forward::desc& d, const MemRef& src,
                    const dnnl::primitive_attr& attr = UserScratchpad()) {
    dnnl::pooling_forward::primitive_desc pd(d, attr, CpuEngine());
    Step s = MakeStep<dnnl::pooling_forward>(n, pd);
    auto slice = ConcatSliceFor(n.outputs[0], pd.dst_desc());
    const MemRef dst = slice ? *slice : NewArena(pd.dst_desc());
    s.args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
    AddStep(std::move(s), pd.scratchpad_desc());
    where_[n.outputs[0]] = dst;
    return Status::Ok();
  }

  Status LowerConcat(const ir::Node& n) {
    auto in_place = concat_buffer_.find(Val(n.outputs[0]).producer);
    if (in_place != concat_buffer_.end() && in_place->second.buffer >= 0) {
      // Inputs not already written in place are copied into their slices.
      const ConcatBuffer& buf = in_place->second;
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        const MemRef slice = Slice(n, buf, i);
        const MemRef& have = where_.at(n.inputs[i]);
        if (have.kind != MemRef::Kind::kArena || have.index != slice.index ||
            have.offset != slice.offset) {
          AddReorder(n.name, have, slice);
        }
      }
      where_[n.outputs[0]] =
          MemRef{MemRef::Kind::kArena, buf.buffer, memory::desc(DimsOf(n.outputs[0]), dt::f32, buf.tag)};
      return Status::Ok();
    }
    const int axis = static_cast<int>(n.attr<ir::ConcatAttrs>().axis);
    std::vector<memory::desc> srcs;
    for (ir::ValueId v : n.inputs) srcs.push_back(where_.at(v).desc);
    dnnl::concat::primitive_desc pd(axis, srcs, CpuEngine(), UserScratchpad());
    Step s = MakeStep<dnnl::concat>(n, pd);
    const MemRef dst = NewArena(pd.dst_desc());
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      s.args.push_back({DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i), where_.at(n.inputs[i])});
    }
    s.args.push_back({DNNL_ARG_DST, dst});
    AddStep(std::move(s), pd.scratchpad_desc());
    where_[n.outputs[0]] = dst;
    return Status::Ok();
  }

  Status LowerAdd(const ir::Node& n) {
    const MemRef a = where_.at(n.inputs[0]);
    const MemRef b = Ensure(n.inputs[1], a.desc);
    dnnl::binary::desc d(algorithm::binary_add, a.desc, b.desc, a.desc);
    dnnl::binary::primitive_desc pd(d, UserScratchpad(), CpuEngine());
    Step s = MakeStep<dnnl::binary>(n, pd);
    const MemRef dst = SameLayoutDst(n.inputs[0], a.desc);
    s.args = {{DNNL_ARG_SRC_0, a}, {DNNL_ARG_SRC_1, b}, {DNNL_ARG_DST, dst}};
    AddStep(std::move(s), pd.scratchpad_desc());
    where_[n.outputs[0]] = dst;
    return Status::Ok();
  }

  Status LowerActivation(const ir::Node& n) {
    const ir::ValueId x = n.inputs[0];
    MemRef src = where_.at(x);
    const MemRef dst = SameLayoutDst(x, src.desc);
    for (const EltwiseSpec& e : EltwiseFor(n.attr<ir::ActivationAttrs>().activation)) {
      dnnl::eltwise_forward::desc d(prop_kind::forward_inference, e.algorithm, src.desc, e.alpha,
                                    e.beta);
      dnnl::eltwise_forward::primitive_desc pd(d, UserScratchpad(), CpuEngine());
      Step s = MakeStep<dnnl::eltwise_forward>(n, pd);
      s.args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
      AddStep(std::move(s), pd.scratchpad_desc());
      src = dst;
    }
    where_[n.outputs[0]] = dst;
    return Status::Ok();
  }

  Status LowerBatchNorm(const ir::Node& n) {
    const ir::ValueId x = n.inputs[0];
    const MemRef src = where_.at(x);
    const float eps = n.attr<ir::BatchNormAttrs>().epsilon;
    const auto flags = dnnl::normalization_flags::use_global_stats |
                       dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
    dnnl::batch_normalization_forward::desc d(prop_kind::forward_inference, src.desc, eps, flags);
    dnnl::batch_normalization_forward::primitive_desc pd(d, UserScratchpad(), CpuEngine());
    Step s = MakeStep<dnnl::batch_normalization_forward>(n, pd);
    const memory::desc vec({Val(x).shape[1]}, dt::f32, tag::a);
    const MemRef dst = SameLayoutDst(x, src.desc);
    s.args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
    const int args[] = {DNNL_ARG_SCALE, DNNL_ARG_SHIFT, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE};
    for (int i = 0; i < 4; ++i) {
      const ir::ValueId p = n.inputs[static_cast<size_t>(i) + 1];
      if (!model_.IsConstantLocked(p)) {
        return Unsupported(ir::Describe(n) + ": parameter '" + Val(p).name + "' must be constant");
      }
      ASSIGN_OR_RETURN(MemRef ref, Constant(p, vec, vec));
      s.args.push_back({args[i], ref});
    }
    AddStep(std::move(s), pd.scratchpad_desc());
    where_[n.outputs[0]] = dst;
    return Status::Ok();
  }

  Status LowerSoftmax(const ir::Node& n) {
    const ir::ValueId x = n.inputs[0];
    // Softmax reads a plain layout so the axis means what the IR says.
    const MemRef src = Ensure(x, Plain(DimsOf(x)));
    dnnl::softmax_forward::desc d(prop_kind::forward_inference, src.desc,
                                  static_cast<int>(n.attr<ir::SoftmaxAttrs>().axis));
    dnnl::softmax_forward::primitive_desc pd(d, UserScratchpad(), CpuEngine());
    Step s = MakeStep<dnnl::softmax_forward>(n, pd);
    const MemRef dst = NewArena(pd.dst_desc());
    s.args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
    AddStep(std::move(s), pd.scratchpad_desc());
    where_[n.outputs[0]] = dst;
    return Status::Ok();
  }

  Status LowerFlatten(const ir::Node& n) {
    const ir::ValueId x = n.inputs[0];
    const memory::dims dims = DimsOf(x);
    const memory::dims out_dims = DimsOf(n.outputs[0]);
    memory::desc plain = Plain(dims);
    if (dims.size() == 4 && n.attr<ir::FlattenAttrs>().channels_last) {
      plain = memory::desc(dims, dt::f32, tag::nhwc);
    }
    MemRef src = Ensure(x, plain);
    if (src.kind != MemRef::Kind::kArena) {  // never alias the caller's buffer
      MemRef copy = NewArena(plain);
      AddReorder(n.name, src, copy);
      src = copy;
    }
    // The flat [N, K] view of the same bytes.
    where_[n.outputs[0]] = MemRef{MemRef::Kind::kArena, src.index, Plain(out_dims)};
    return Status::Ok();
  }

  Status LowerPad(const ir::Node& n) {
    const auto& a = n.attr<ir::PadAttrs>();
    const ir::ValueId x = n.inputs[0];
    const memory::dims out_dims = DimsOf(n.outputs[0]);
    const memory::desc dst_md = Plain(out_dims);
    const MemRef dst = NewArena(dst_md);
    const size_t count = dst_md.get_size() / sizeof(float);
    const float value = a.value;
    Step fill;
    fill.node = n.name;
    fill.op = "PadFill";
    fill.impl = "kamado:fill";
    fill.fill = [count, value](float* p) { std::fill(p, p + count, value); };
    fill.args = {{DNNL_ARG_DST, dst}};
    AddStep(std::move(fill));
    // Then copy the input into the interior of the padded buffer.
    const memory::desc interior = dst_md.submemory_desc(DimsOf(x), {0, 0, a.pads[0], a.pads[1]});
    AddReorder(n.name, where_.at(x), MemRef{MemRef::Kind::kArena, dst.index, interior});
    where_[n.outputs[0]] = dst;
    return Status::Ok();
  }

  // ---- ops added for the ONNX importer ----------------------------------

  // a ∘ b with b broadcast (oneDNN binary; a broadcast src1 may be a
  // constant, which is kept plain). dst takes a's layout, in place when a dies.
  Status LowerBinary(const ir::Node& n) {
    static const std::map<ir::BinaryKind, algorithm> kAlgorithms = {
        {ir::BinaryKind::kAdd, algorithm::binary_add},
        {ir::BinaryKind::kSub, algorithm::binary_sub},
        {ir::BinaryKind::kMul, algorithm::binary_mul},
        {ir::BinaryKind::kDiv, algorithm::binary_div},
    };
    const algorithm alg = kAlgorithms.at(n.attr<ir::BinaryAttrs>().kind);
    const ir::ValueId x = n.inputs[0];
    const ir::ValueId y = n.inputs[1];
    if (model_.IsConstantLocked(x)) {
      return Unsupported(ir::Describe(n) + ": the first operand must not be a constant");
    }
    MemRef a = where_.at(x);
    const bool const_b = model_.IsConstantLocked(y);
    const bool broadcast = Val(x).shape != Val(y).shape;
    auto make_pd = [&](const memory::desc& a_md, const memory::desc& b_md) {
      dnnl::binary::desc d(alg, a_md, b_md, a_md);
      return dnnl::binary::primitive_desc(d, UserScratchpad(), CpuEngine());
    };
    memory::desc b_md = a.desc;
    if (const_b || broadcast) {
      const Shape& ys = Val(y).shape;
      memory::dims b_dims(ys.begin(), ys.end());
      if (!b_dims.empty() && b_dims[0] < 0) b_dims[0] = batch_;
      if (!b_dims.empty() && b_dims[0] != 1 && b_dims[0] != batch_) {
        return Unsupported(ir::Describe(n) + ": input '" + Val(y).name + "' of shape " +
                           ShapeToString(ys) + " needs batch size " + std::to_string(ys[0]) +
                           ", not " + std::to_string(batch_));
      }
      b_md = Plain(b_dims);
    }
    std::optional<dnnl::binary::primitive_desc> pd;
    try {
      pd = make_pd(a.desc, b_md);
    } catch (const dnnl::error&) {
      // No kernel broadcasting a plain src1 over this (blocked) layout.
      a = Ensure(x, Plain(DimsOf(x)));
      pd = make_pd(a.desc, b_md);
    }
    Step s = MakeStep<dnnl::binary>(n, *pd);
    MemRef b;
    if (const_b) {
      ASSIGN_OR_RETURN(b, Constant(y, b_md, b_md));
    } else {
      b = Ensure(y, b_md);
    }
    const MemRef dst = SameLayoutDst(x, a.desc);
    s.args = {{DNNL_ARG_SRC_0, a}, {DNNL_ARG_SRC_1, b}, {DNNL_ARG_DST, dst}};
    AddStep(std::move(s), pd->scratchpad_desc());
    where_[n.outputs[0]] = dst;
    return Status::Ok();
  }

  Status LowerGlobalMaxPool(const ir::Node& n) {
    const ir::ValueId x = n.inputs[0];
    const memory::dims src_dims = DimsOf(x);
    const MemRef& src = where_.at(x);
    dnnl::pooling_forward::desc d(prop_kind::forward_inference, algorithm::pooling_max, src.desc,
                                  Any(DimsOf(n.outputs[0])), {1, 1}, {src_dims[2], src_dims[3]},
                                  {0, 0}, {0, 0});
    return AddPooling(n, d, src);
  }

  // A view of the plain (row-major) bytes, like Flatten.
  Status LowerReshape(const ir::Node& n) {
    const ir::ValueId x = n.inputs[0];
    const memory::desc plain = Plain(DimsOf(x));
    MemRef src = Ensure(x, plain);
    if (src.kind != MemRef::Kind::kArena) {  // never alias the caller's buffer
      MemRef copy = NewArena(plain);
      AddReorder(n.name, src, copy);
      src = copy;
    }
    where_[n.outputs[0]] = MemRef{MemRef::Kind::kArena, src.index, Plain(DimsOf(n.outputs[0]))};
    return Status::Ok();
  }

  // One reorder: the source read plainly, written through a strided view of
  // the plain destination (input axis perm[i] gets output axis i's stride).
  Status LowerTranspose(const ir::Node& n) {
    const ir::ValueId x = n.inputs[0];
    const auto& perm = n.attr<ir::TransposeAttrs>().perm;
    const memory::dims in_dims = DimsOf(x);
    const memory::dims out_dims = DimsOf(n.outputs[0]);
    memory::dims out_strides(out_dims.size(), 1);
    for (size_t d = out_dims.size(); d-- > 1;) out_strides[d - 1] = out_strides[d] * out_dims[d];
    memory::dims view_strides(in_dims.size(), 1);
    for (size_t i = 0; i < perm.size(); ++i) {
      view_strides[static_cast<size_t>(perm[i])] = out_strides[i];
    }
    const MemRef src = Ensure(x, Plain(in_dims));
    const MemRef dst = NewArena(Plain(out_dims));
    AddReorder(n.name, src, MemRef{MemRef::Kind::kArena, dst.index,
                                   memory::desc(in_dims, dt::f32, view_strides)});
    where_[n.outputs[0]] = dst;
    return Status::Ok();
  }

  Status BindOutputs() {
    for (ir::ValueId v : g_.outputs()) {
      const memory::dims dims = DimsOf(v);
      memory::desc want = Plain(dims);
      Shape shape(dims.begin(), dims.end());
      if (dims.size() == 4 && g_.input_layout == ir::Layout::kNHWC) {
        want = memory::desc(dims, dt::f32, tag::nhwc);
        shape = {dims[0], dims[2], dims[3], dims[1]};
      }
      MemRef ref = Ensure(v, want);
      if (ref.kind != MemRef::Kind::kArena) {
        MemRef copy = NewArena(want);
        AddReorder(g_.value(v).name, ref, copy);
        ref = copy;
      }
      plan_->outputs.push_back(ref);
      plan_->output_shapes.push_back(shape);
    }
    // Outputs stay alive to the end of the run.
    const int end = static_cast<int>(plan_->steps.size());
    for (const MemRef& ref : plan_->outputs) {
      BufferUse& b = plan_->buffers[static_cast<size_t>(ref.index)];
      b.first_step = std::min(b.first_step, end);
      b.last_step = end;
    }
    return Status::Ok();
  }

  // ---- concat in place (batch 1) ------------------------------------------
  //
  // With N = 1, channels [c0, c0 + C) of a tensor in a channel-outermost
  // layout (nChw16c, nChw8c, nchw) are themselves a dense tensor of C channels
  // at byte offset c0·H·W·4, provided c0 and C are multiples of the block.
  // A Conv or pool whose only consumer is a Concat on channels then writes
  // straight into its part of the concat's buffer, and the concat copies
  // nothing. (oneDNN 2.6's jit kernels reject strided sub-memory outputs,
  // so larger batches keep the concat primitive.)

  struct ConcatSlot {
    ir::NodeId concat;
    int64_t channel_offset;
  };
  struct ConcatBuffer {
    int buffer = -1;
    memory::format_tag tag = tag::undef;
    bool failed = false;
  };

  void PlanConcatsInPlace(const std::vector<ir::NodeId>& order) {
    if (batch_ != 1) return;
    for (ir::NodeId id : order) {
      const ir::Node& n = g_.node(id);
      if (n.op != ir::OpType::kConcat || n.attr<ir::ConcatAttrs>().axis != 1 ||
          Val(n.outputs[0]).shape.size() != 4) {
        continue;
      }
      int64_t offset = 0;
      for (ir::ValueId v : n.inputs) {
        const ir::NodeId p = Val(v).producer;
        bool eligible = p != ir::kNoNode && !g_.IsGraphOutput(v) && !g_.IsGraphInput(v) &&
                        std::count(n.inputs.begin(), n.inputs.end(), v) == 1 &&
                        g_.Consumers(v).size() == 1;
        if (eligible) {
          const ir::Node& producer = g_.node(p);
          eligible = producer.op == ir::OpType::kMaxPool || producer.op == ir::OpType::kAvgPool ||
                     (producer.op == ir::OpType::kConv &&
                      !producer.attr<ir::ConvAttrs>().HasSum());
        }
        if (eligible) concat_slot_[v] = {id, offset};
        offset += Val(v).shape[1];
      }
    }
  }

  MemRef Slice(const ir::Node& concat, const ConcatBuffer& buf, size_t input) const {
    int64_t channels = 0;
    for (size_t i = 0; i < input; ++i) channels += Val(concat.inputs[i]).shape[1];
    const memory::dims dims = DimsOf(concat.inputs[input]);
    MemRef ref{MemRef::Kind::kArena, buf.buffer, memory::desc(dims, dt::f32, buf.tag)};
    ref.offset = static_cast<size_t>(channels * dims[2] * dims[3]) * sizeof(float);
    return ref;
  }

  // Where the producer of `v` should write, if `v` feeds a concat in place
  // and `produced` (the layout the producer chose) fits the concat's buffer.
  std::optional<MemRef> ConcatSliceFor(ir::ValueId v, const memory::desc& produced) {
    auto it = concat_slot_.find(v);
    if (it == concat_slot_.end()) return std::nullopt;
    const ir::Node& concat = g_.node(it->second.concat);
    const memory::dims dims = DimsOf(v);
    ConcatBuffer& buf = concat_buffer_[it->second.concat];
    if (buf.failed) return std::nullopt;
    if (buf.buffer < 0) {
      // The first producer picks the buffer's layout; every input's channel
      // count must be a multiple of its block so all slices start on one.
      for (auto [t, block] : {std::pair{tag::nChw16c, 16}, {tag::nChw8c, 8}, {tag::nchw, 1}}) {
        if (produced != memory::desc(dims, dt::f32, t)) continue;
        bool aligned = true;
        for (ir::ValueId in : concat.inputs) aligned &= Val(in).shape[1] % block == 0;
        if (aligned) buf.tag = t;
        break;
      }
      if (buf.tag == tag::undef) {
        buf.failed = true;
        return std::nullopt;
      }
      buf.buffer = NewBuffer(memory::desc(DimsOf(concat.outputs[0]), dt::f32, buf.tag));
    }
    if (produced != memory::desc(dims, dt::f32, buf.tag)) return std::nullopt;
    const size_t index = static_cast<size_t>(
        std::find(concat.inputs.begin(), concat.inputs.end(), v) - concat.inputs.begin());
    return Slice(concat, buf, index);
  }

  std::unordered_map<ir::ValueId, ConcatSlot> concat_slot_;
  std::unordered_map<ir::NodeId, ConcatBuffer> concat_buffer_;

  const CompiledModel& model_;
  const ir::Graph& g_;
  int64_t batch_;
  std::shared_ptr<Plan> plan_;
  std::unordered_map<ir::ValueId, MemRef> where_;
  std::unordered_map<ir::ValueId, std::vector<MemRef>> converted_;
  std::unordered_map<ir::ValueId, int> remaining_;
};

}  // namespace

Result<std::shared_ptr<Plan>> BuildPlan(const CompiledModel& model, int64_t batch, int threads) {
  return PlanBuilder(model, batch, threads).Build();
}

}  // namespace kamado::runtime
