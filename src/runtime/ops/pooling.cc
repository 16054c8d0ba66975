// PlanBuilder: MaxPool, AvgPool, GlobalAvgPool and GlobalMaxPool
// (pooling_forward), written into their concat slice when they have one.
#include "runtime/dnnl/dnnl_util.h"
#include "runtime/plan_builder_internal.h"

namespace kamado::runtime::detail {

Status PlanBuilder::LowerPool(const ir::Node& n) {
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
  // The global average pool before the head reads f32 in an int8 model
  // (runtime/quantization.h); otherwise the output keeps the input's type
  // (bf16 in, bf16 out; int8 in, int8 out at the same scale).
  const MemRef src = n.op == ir::OpType::kGlobalAvgPool ? AsF32(x) : where_.at(x);
  dnnl::pooling_forward::desc d(prop_kind::forward_inference, alg, src.desc,
                                Any(DimsOf(n.outputs[0]), src.desc.data_type()), strides, kernel,
                                pad_l, pad_r);
  if (n.op == ir::OpType::kGlobalAvgPool) return AddPooling(n, d, src);
  const auto& post = n.attr<ir::PoolAttrs>().post_ops;
  if (ir::HasSumPostOp(post)) {
    return Unsupported(ir::Describe(n) + ": sum post-op on pooling is not supported");
  }
  dnnl::primitive_attr attr = UserScratchpad();
  dnnl::post_ops ops;
  const size_t fused = AppendPostOps(post, ops);
  attr.set_post_ops(ops);
  RETURN_IF_ERROR(AddPooling(n, d, src, attr));
  return AddUnfusedPostOps(n, post, fused, where_.at(n.outputs[0]));
}

// The pooling step for `d`, written into its concat slice when it has one.
Status PlanBuilder::AddPooling(const ir::Node& n, const dnnl::pooling_forward::desc& d,
                               const MemRef& src, const dnnl::primitive_attr& attr) {
  dnnl::pooling_forward::primitive_desc pd(d, attr, CpuEngine());
  Step s = MakeStep<dnnl::pooling_forward>(n, pd);
  auto slice = ConcatSliceFor(n.outputs[0], pd.dst_desc());
  const MemRef dst = slice ? *slice : NewArena(pd.dst_desc());
  s.args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
  AddStep(std::move(s), pd.scratchpad_desc());
  where_[n.outputs[0]] = dst;
  return Status::Ok();
}

// ---- ops added for the ONNX importer ----------------------------------

Status PlanBuilder::LowerGlobalMaxPool(const ir::Node& n) {
  const ir::ValueId x = n.inputs[0];
  const memory::dims src_dims = DimsOf(x);
  const MemRef& src = where_.at(x);
  dnnl::pooling_forward::desc d(prop_kind::forward_inference, algorithm::pooling_max, src.desc,
                                Any(DimsOf(n.outputs[0]), src.desc.data_type()), {1, 1},
                                {src_dims[2], src_dims[3]}, {0, 0}, {0, 0});
  return AddPooling(n, d, src);
}

}  // namespace kamado::runtime::detail
