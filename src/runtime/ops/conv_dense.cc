// PlanBuilder: Conv (convolution_forward, with its residual sum and concat
// slice) and Dense (inner_product_forward), both on oneDNN's chosen layouts.
#include <optional>
#include <string>
#include <utility>

#include "runtime/compiled_model.h"
#include "runtime/dnnl/dnnl_util.h"
#include "runtime/plan_builder_internal.h"
#include "runtime/precision.h"

namespace kamado::runtime::detail {

namespace {

// How good a convolution kernel's instruction set is: the im2col GEMM and
// the reference kernels rank lowest, then by vector ISA.
int IsaRank(const dnnl::convolution_forward::primitive_desc& p) {
  const std::string impl = p.impl_info_str();
  if (impl.rfind("ref", 0) == 0 || impl.find("gemm:") != std::string::npos) return 0;
  for (auto [isa, rank] : {std::pair{"avx512", 4}, {"avx2", 3}, {"avx", 2}, {"sse41", 1}}) {
    if (impl.find(isa) != std::string::npos) return rank;
  }
  return 1;
}

// Whether `exact` (a kernel on the producer's layout) may stand in for
// oneDNN's own choice `preferred` instead of a reorder: not a reference
// kernel, and of the same instruction set (see LowerConv).
bool AsGoodAs(const dnnl::convolution_forward::primitive_desc& exact,
              const dnnl::convolution_forward::primitive_desc& preferred) {
  return std::string(exact.impl_info_str()).rfind("ref", 0) != 0 && IsaRank(exact) >= IsaRank(preferred);
}

}  // namespace


// Winograd F(2x2, 3x3) (oneDNN's jit_fp32_wino_2x3 on AVX-512) does 2.25x
// fewer multiplies than a direct 3x3 convolution, at the cost of transforms
// that are memory-bound. Measured in InceptionV3 on this project's AVX-512
// host (docs/PERFORMANCE.md, per-step minima, 1 and 2 threads), it wins
// 35-40% on 'same'-padded 3x3 convs with >= 32 input and >= 64 output
// channels on maps of 35x35 and larger, and loses on 8x8 maps, on 32
// output channels and on the 'valid' 80 -> 192 conv at 73x73. The rule
// keeps to the measured winners; everything else stays direct.
bool PlanBuilder::UseWinograd(const ir::Node& n) const {
  if (!model_.winograd() || activation_ != dt::f32) return false;  // oneDNN's Winograd is f32 only
  const auto& a = n.attr<ir::ConvAttrs>();
  const Shape& ws = Val(n.inputs[1]).shape;  // [O, I, kH, kW]
  const Shape& out = Val(n.outputs[0]).shape;
  const bool same = a.pads[0] == 1 && a.pads[1] == 1 && a.pads[2] == 1 && a.pads[3] == 1;
  return a.group == 1 && !a.HasSum() && ws[2] == 3 && ws[3] == 3 && a.strides[0] == 1 &&
         a.strides[1] == 1 && a.dilations[0] == 1 && a.dilations[1] == 1 && same &&
         ws[1] >= 32 && ws[0] >= 64 && out.size() == 4 && out[2] >= 35 && out[3] >= 35;
}

bool PlanBuilder::FeedsOnlyWinograd(ir::ValueId v) const {
  const auto consumers = g_.Consumers(v);
  if (consumers.empty() || g_.IsGraphOutput(v)) return false;
  for (ir::NodeId c : consumers) {
    const ir::Node& reader = g_.node(c);
    if (reader.op != ir::OpType::kConv || reader.inputs[0] != v || !UseWinograd(reader)) {
      return false;
    }
  }
  return true;
}

memory::dims PlanBuilder::ConvWeightDims(const ir::Node& n) const {
  const Shape& ws = Val(n.inputs[1]).shape;
  const int64_t g = n.attr<ir::ConvAttrs>().group;
  return g == 1 ? memory::dims{ws[0], ws[1], ws[2], ws[3]}
                : memory::dims{g, ws[0] / g, ws[1], ws[2], ws[3]};
}

dnnl::convolution_forward::desc PlanBuilder::ConvDesc(const ir::Node& n, algorithm alg,
                                                      const memory::desc& src,
                                                      const memory::desc& weights,
                                                      const memory::desc& dst) const {
  const auto& a = n.attr<ir::ConvAttrs>();
  const memory::desc bias({Val(n.inputs[1]).shape[0]}, dt::f32, tag::a);
  const memory::dims strides{a.strides[0], a.strides[1]};
  const memory::dims dilates{a.dilations[0] - 1, a.dilations[1] - 1};
  const memory::dims pad_l{a.pads[0], a.pads[1]};
  const memory::dims pad_r{a.pads[2], a.pads[3]};
  if (Has(n, 2)) {
    return {prop_kind::forward_inference, alg, src, weights, bias, dst, strides, dilates, pad_l, pad_r};
  }
  return {prop_kind::forward_inference, alg, src, weights, dst, strides, dilates, pad_l, pad_r};
}

Status PlanBuilder::LowerConv(const ir::Node& n) {
  if (model_.precision() == Precision::kInt8) {
    bool lowered = false;
    RETURN_IF_ERROR(LowerConvInt8(n, &lowered));
    if (lowered) return Status::Ok();
  }
  const auto& a = n.attr<ir::ConvAttrs>();
  const ir::ValueId x = n.inputs[0];
  const ir::ValueId out = n.outputs[0];
  if (!model_.IsConstantLocked(n.inputs[1])) {
    return Unsupported(ir::Describe(n) + ": weights must be constant");
  }
  const Shape& ws = Val(n.inputs[1]).shape;
  const int64_t g = a.group;
  const memory::dims w_dims = ConvWeightDims(n);
  const bool has_bias = Has(n, 2);
  const memory::dims dst_dims = DimsOf(out);
  const memory::desc bias_md({ws[0]}, dt::f32, tag::a);

  dnnl::primitive_attr attr = UserScratchpad();
  dnnl::post_ops ops;
  const size_t fused = AppendPostOps(a.post_ops, ops);
  attr.set_post_ops(ops);

  auto make_pd = [&](algorithm alg, const memory::desc& src_md) {
    return dnnl::convolution_forward::primitive_desc(
        ConvDesc(n, alg, src_md, AnyActivation(w_dims), AnyActivation(dst_dims)), attr, CpuEngine());
  };
  // Let oneDNN pick the layout; if it wants a different one than the
  // producer wrote, prefer a kernel on the producer's layout over a reorder
  // when it is as good a kernel: one of the same instruction set. Not the
  // im2col GEMM oneDNN falls back to on a plain NCHW source (10–30× slower
  // on a depthwise or grouped conv: ConvNeXt's 7×7, ShuffleNet, DenseNet
  // after a plain concat), nor an AVX2 kernel on the nChw8c a grouped conv
  // with few channels per group wrote when AVX-512 ones exist (ResNeXt's
  // 1×1 convs); one reorder costs far less.
  const memory::desc& have = where_.at(x).desc;
  auto pd = make_pd(algorithm::convolution_direct, AnyActivation(DimsOf(x)));
  const memory::desc preferred_dst = pd.dst_desc();
  if (pd.src_desc() != have && have.data_type() == activation_) {
    try {
      auto exact = make_pd(algorithm::convolution_direct, have);
      if (AsGoodAs(exact, pd)) pd = exact;
    } catch (const dnnl::error&) {
      // No kernel for the producer's layout: keep the reorder.
    }
  }
  std::optional<dnnl::convolution_forward::primitive_desc> wino;
  if (UseWinograd(n)) {
    try {
      auto w_pd = make_pd(algorithm::convolution_winograd, Any(DimsOf(x)));
      if (std::string(w_pd.impl_info_str()).find("wino") != std::string::npos) wino = w_pd;
    } catch (const dnnl::error&) {
      // No Winograd kernel for this shape, post-op chain or CPU.
    }
  }
  // Consumers get the layout a direct primitive would write, even when
  // Winograd computes the value: its blocked layout stays local instead of
  // pulling the following layers off oneDNN's preferred kernels.
  const memory::desc dst_desc = wino ? preferred_dst : pd.dst_desc();
  if (wino) pd = *wino;

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
      AddReorder(n.name + "/residual", where_.at(residual), dst,
                 ReorderScale(residual, where_.at(residual).desc, dst.desc));
    }
  } else if (auto slice = ConcatSliceFor(out, dst_desc)) {
    dst = *slice;  // the branch writes straight into its part of the concat
  } else if (wino && FeedsOnlyWinograd(out)) {
    dst = NewArena(pd.dst_desc());  // its Winograd readers take this layout as it is
  } else {
    dst = NewArena(dst_desc);
  }
  // Winograd writes its own layout; one reorder then puts the value where
  // and how the direct primitive would have (UseWinograd never picks a conv
  // with a residual sum, whose destination must already hold the residual).
  const bool relayout = wino && dst.desc != pd.dst_desc();
  const MemRef computed = relayout ? NewArena(pd.dst_desc()) : dst;
  s.args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, computed}};
  if (has_bias) {
    ASSIGN_OR_RETURN(MemRef b, Constant(n.inputs[2], pd.bias_desc(), bias_md));
    s.args.push_back({DNNL_ARG_BIAS, b});
  }
  s.flops = 2.0 * static_cast<double>(dst_dims[0] * dst_dims[1] * dst_dims[2] * dst_dims[3]) *
            static_cast<double>(ws[1] * ws[2] * ws[3]);
  AddStep(std::move(s), pd.scratchpad_desc());
  if (relayout) AddReorder(n.name + "/winograd", computed, dst);
  RETURN_IF_ERROR(AddUnfusedPostOps(n, a.post_ops, fused, dst));
  where_[out] = dst;
  return Status::Ok();
}

// The int8 convolution (runtime/quantization.h): u8/s8 source at its
// tensor's scale, s8 weights per output channel, f32 bias in accumulator
// units. oneDNN 2.6 computes dst = post_ops(oscale · (Σ src·w + bias)), so
// the output scale (src scale × weight scale, per channel) brings the
// accumulator back to real values, the model's post-ops (ReLU, ReLU6, the
// residual sum at the residual's scale) run on those, and a last linear
// post-op divides by the destination's scale before oneDNN rounds and
// saturates to u8/s8. A conv stays fp32 when it is listed in fp32_layers,
// has no calibrated input range or weight maxima, or its post-ops cannot all
// be fused.
Status PlanBuilder::LowerConvInt8(const ir::Node& n, bool* lowered) {
  *lowered = false;
  const auto& a = n.attr<ir::ConvAttrs>();
  const QuantTable& table = *model_.quantization();
  const ir::ValueId x = n.inputs[0];
  const ir::ValueId out = n.outputs[0];
  const auto qx = QScale(x);
  const auto qout = QScale(out);
  auto wmax = table.weight_max.find(n.name);
  if (table.fp32_nodes.count(n.name) > 0 || !qx || wmax == table.weight_max.end() ||
      !model_.IsConstantLocked(n.inputs[1])) {
    return Status::Ok();
  }
  const Shape& ws = Val(n.inputs[1]).shape;
  const int64_t oc = ws[0];
  if (static_cast<int64_t>(wmax->second.size()) != oc) {
    return InvalidArgument(ir::Describe(n) + ": the quantization table has " +
                           std::to_string(wmax->second.size()) + " weight maxima for " +
                           std::to_string(oc) + " output channels");
  }
  const dt dst_type = qout ? QType(out) : dt::f32;
  std::optional<float> residual_scale;
  if (a.HasSum()) {
    const ir::ValueId residual = n.inputs[3];
    const auto qr = QScale(residual);
    // The residual's integers stay as they are (u8 or s8, read by the sum
    // post-op in their own type) even when the output's type differs: a
    // ReLU after the add makes the output u8 over an s8 residual.
    if (!qr || !qout || !IsInt8(where_.at(residual).desc.data_type())) return Status::Ok();
    residual_scale = qr->scale;
  }
  dnnl::post_ops ops;
  dt sum_type = dt::undef;
  if (a.HasSum() && where_.at(n.inputs[3]).desc.data_type() != dst_type) {
    sum_type = where_.at(n.inputs[3]).desc.data_type();
  }
  if (AppendPostOps(a.post_ops, ops, residual_scale.value_or(1.0f), sum_type) != a.post_ops.size()) {
    return Status::Ok();  // a post-op left unfused would run on integers
  }
  if (qout) ops.append_eltwise(1.0f, algorithm::eltwise_linear, 1.0f / qout->scale, 0.0f);

  const float levels = model_.weight_bits() == 8 ? 127.0f : 63.0f;
  std::vector<float> oscale(static_cast<size_t>(oc)), wquant(static_cast<size_t>(oc)),
      bquant(static_cast<size_t>(oc));
  for (size_t c = 0; c < static_cast<size_t>(oc); ++c) {
    const float m = wmax->second[c];
    const float w_scale = m > 0.0f ? m / levels : 1.0f;
    oscale[c] = qx->scale * w_scale;
    wquant[c] = 1.0f / w_scale;
    bquant[c] = 1.0f / oscale[c];
  }
  dnnl::primitive_attr attr = UserScratchpad();
  attr.set_output_scales(1 << 1, oscale);
  attr.set_post_ops(ops);

  const int64_t g = a.group;
  const memory::dims w_dims = ConvWeightDims(n);
  const bool has_bias = Has(n, 2);
  const memory::dims dst_dims = DimsOf(out);
  const memory::desc bias_md({ws[0]}, dt::f32, tag::a);
  auto make_pd = [&](const memory::desc& src_md) {
    return dnnl::convolution_forward::primitive_desc(
        ConvDesc(n, algorithm::convolution_direct, src_md, Any(w_dims, dt::s8),
                 Any(dst_dims, dst_type)),
        attr, CpuEngine());
  };
  const dt src_type = QType(x);
  const memory::desc& have = where_.at(x).desc;
  auto pd = make_pd(Any(DimsOf(x), src_type));
  if (pd.src_desc() != have && have.data_type() == src_type) {
    try {
      auto exact = make_pd(have);
      if (AsGoodAs(exact, pd)) pd = exact;
    } catch (const dnnl::error&) {
      // No kernel for the producer's layout: keep the reorder.
    }
  }
  Step s = MakeStep<dnnl::convolution_forward>(n, pd);
  const MemRef src = Ensure(x, pd.src_desc());
  const memory::desc w_source(w_dims, dt::f32, g == 1 ? tag::abcd : tag::abcde);
  ASSIGN_OR_RETURN(MemRef w, Constant(n.inputs[1], pd.weights_desc(), w_source, &wquant,
                                      g == 1 ? 1 << 0 : (1 << 0) | (1 << 1)));
  MemRef dst;
  if (a.HasSum()) {
    const ir::ValueId residual = n.inputs[3];
    const MemRef& have = where_.at(residual);
    // The destination's layout, holding the residual's type until the
    // convolution overwrites it.
    dnnl_memory_desc_t as_residual = pd.dst_desc().data;
    as_residual.data_type = have.desc.data.data_type;
    const memory::desc staged(as_residual);
    if (Expiring(residual) && have.desc == staged) {
      dst = have;
    } else {
      // The same integers (at the residual's scale, which the sum post-op
      // undoes) in the layout the convolution writes.
      dst = NewArena(pd.dst_desc());
      AddReorder(n.name + "/residual", have, MemRef{MemRef::Kind::kArena, dst.index, staged});
    }
    dst.desc = pd.dst_desc();
  } else if (auto slice = ConcatSliceFor(out, pd.dst_desc())) {
    dst = *slice;
  } else {
    dst = NewArena(pd.dst_desc());
  }
  s.args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, dst}};
  if (has_bias) {
    ASSIGN_OR_RETURN(MemRef b, Constant(n.inputs[2], pd.bias_desc(), bias_md, &bquant, 1 << 0));
    s.args.push_back({DNNL_ARG_BIAS, b});
  }
  s.flops = 2.0 * static_cast<double>(dst_dims[0] * dst_dims[1] * dst_dims[2] * dst_dims[3]) *
            static_cast<double>(ws[1] * ws[2] * ws[3]);
  AddStep(std::move(s), pd.scratchpad_desc());
  where_[out] = dst;
  *lowered = true;
  return Status::Ok();
}

Status PlanBuilder::LowerDense(const ir::Node& n) {
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
  if (ir::HasSumPostOp(a.post_ops)) {
    return Unsupported(ir::Describe(n) + ": sum post-op on Dense is not supported");
  }
  const size_t fused = AppendPostOps(a.post_ops, ops);
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
  RETURN_IF_ERROR(AddUnfusedPostOps(n, a.post_ops, fused, dst));
  where_[n.outputs[0]] = dst;
  return Status::Ok();
}

}  // namespace kamado::runtime::detail
