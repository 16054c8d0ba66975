// PlanBuilder: Activation (eltwise), BatchNorm, LayerNorm, Softmax and Binary
// (Add/Sub/Mul/Div, same shape or broadcast); in place when the input dies.
#include <map>
#include <optional>
#include <string>

#include "runtime/compiled_model.h"
#include "runtime/dnnl/dnnl_util.h"
#include "runtime/plan_builder_internal.h"

namespace kamado::runtime::detail {

void PlanBuilder::AddActivationSteps(const ir::Node& n, MemRef src, const MemRef& dst,
                                     const ir::Activation& activation) {
  for (const EltwiseSpec& e : EltwiseFor(activation)) {
    dnnl::eltwise_forward::desc d(prop_kind::forward_inference, e.algorithm, src.desc, e.alpha,
                                  e.beta);
    dnnl::eltwise_forward::primitive_desc pd(d, UserScratchpad(), CpuEngine());
    Step s = MakeStep<dnnl::eltwise_forward>(n, pd);
    s.args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
    AddStep(std::move(s), pd.scratchpad_desc());
    src = dst;
  }
}

Status PlanBuilder::AddUnfusedPostOps(const ir::Node& n, const std::vector<ir::PostOp>& post_ops,
                                      size_t fused, const MemRef& dst) {
  for (size_t i = fused; i < post_ops.size(); ++i) {
    if (post_ops[i].kind == ir::PostOp::Kind::kSum) {
      return Unsupported(ir::Describe(n) + ": a sum post-op after an activation");
    }
    RETURN_IF_ERROR(CheckLowerable(n, post_ops[i].activation));
    AddActivationSteps(n, dst, dst, post_ops[i].activation);
  }
  return Status::Ok();
}

// An activation oneDNN 2.6 has no eltwise for (erf on its own) is refused
// naming the node, never dropped.
Status PlanBuilder::CheckLowerable(const ir::Node& n, const ir::Activation& activation) {
  if (!EltwiseFor(activation).empty()) return Status::Ok();
  return Unsupported(ir::Describe(n) + ": activation " + std::string(ir::ActivationKindName(activation.kind)) +
                     " has no oneDNN 2.6 primitive; only GELU's x·½·(1 + erf(x/√2)) pattern, fused into one "
                     "op, is supported");
}

Status PlanBuilder::LowerActivation(const ir::Node& n) {
  const ir::ValueId x = n.inputs[0];
  const MemRef src = AsF32(x);
  RETURN_IF_ERROR(CheckLowerable(n, n.attr<ir::ActivationAttrs>().activation));
  const MemRef dst = SameLayoutDst(x, src.desc);
  AddActivationSteps(n, src, dst, n.attr<ir::ActivationAttrs>().activation);
  where_[n.outputs[0]] = dst;
  return Status::Ok();
}

Status PlanBuilder::LowerBatchNorm(const ir::Node& n) {
  const ir::ValueId x = n.inputs[0];
  const MemRef src = AsF32(x);
  const float eps = n.attr<ir::BatchNormAttrs>().epsilon;
  auto flags = dnnl::normalization_flags::use_global_stats | dnnl::normalization_flags::use_scale |
               dnnl::normalization_flags::use_shift;
  if (n.attr<ir::BatchNormAttrs>().relu) flags |= dnnl::normalization_flags::fuse_norm_relu;
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

Status PlanBuilder::LowerSoftmax(const ir::Node& n) {
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

// oneDNN's layer normalisation works on the last logical axis. The source is
// laid out with the normalised axis innermost (plain for the last axis, nhwc
// for the channels of an NCHW tensor), and the primitive sees that buffer
// through a view whose axes are permuted to put the normalised one last.
Status PlanBuilder::LowerLayerNorm(const ir::Node& n) {
  const ir::ValueId x = n.inputs[0];
  const auto& a = n.attr<ir::LayerNormAttrs>();
  const memory::dims dims = DimsOf(x);
  const int rank = static_cast<int>(dims.size());
  const int axis = static_cast<int>(a.axis);
  std::vector<int> order;  // physical order of the logical axes, outermost first
  for (int d = 0; d < rank; ++d) {
    if (d != axis) order.push_back(d);
  }
  order.push_back(axis);
  memory::dims strides(dims.size());
  memory::dim stride = 1;
  for (int i = rank; i-- > 0;) {
    strides[static_cast<size_t>(order[static_cast<size_t>(i)])] = stride;
    stride *= dims[static_cast<size_t>(order[static_cast<size_t>(i)])];
  }
  const MemRef src = Ensure(x, memory::desc(dims, dt::f32, strides));
  std::vector<int> to_last(dims.size());  // permute_axes: new position of each axis
  for (int i = 0; i < rank; ++i) to_last[static_cast<size_t>(order[static_cast<size_t>(i)])] = i;
  const memory::desc view = src.desc.permute_axes(to_last);
  for (size_t i = 1; i < 3; ++i) {
    if (!model_.IsConstantLocked(n.inputs[i])) {
      return Unsupported(ir::Describe(n) + ": parameter '" + Val(n.inputs[i]).name + "' must be constant");
    }
  }
  const auto flags = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
  dnnl::layer_normalization_forward::desc d(prop_kind::forward_inference, view, a.epsilon, flags);
  dnnl::layer_normalization_forward::primitive_desc pd(d, UserScratchpad(), CpuEngine());
  Step s = MakeStep<dnnl::layer_normalization_forward>(n, pd);
  const MemRef dst = SameLayoutDst(x, src.desc);
  MemRef src_view = src, dst_view = dst;
  src_view.desc = view;
  dst_view.desc = view;
  s.args = {{DNNL_ARG_SRC, src_view}, {DNNL_ARG_DST, dst_view}};
  const memory::desc vec({dims[static_cast<size_t>(axis)]}, dt::f32, tag::a);
  ASSIGN_OR_RETURN(MemRef scale, Constant(n.inputs[1], vec, vec));
  ASSIGN_OR_RETURN(MemRef shift, Constant(n.inputs[2], vec, vec));
  s.args.push_back({DNNL_ARG_SCALE, scale});
  s.args.push_back({DNNL_ARG_SHIFT, shift});
  AddStep(std::move(s), pd.scratchpad_desc());
  where_[n.outputs[0]] = dst;
  return Status::Ok();
}

// ---- ops added for the ONNX importer ----------------------------------

// a ∘ b with b broadcast (oneDNN binary; a broadcast src1 may be a
// constant, which is kept plain). dst takes a's layout, in place when a dies.
Status PlanBuilder::LowerBinary(const ir::Node& n) {
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
  MemRef a = AsF32(x);
  const bool const_b = model_.IsConstantLocked(y);
  const bool broadcast = Val(x).shape != Val(y).shape;
  auto make_pd = [&](const memory::desc& a_md, const memory::desc& b_md) {
    dnnl::binary::desc d(alg, a_md, b_md, a_md);
    return dnnl::binary::primitive_desc(d, UserScratchpad(), CpuEngine());
  };
  memory::desc b_md = a.desc;
  memory::dims b_dims;
  if (const_b || broadcast) {
    const Shape& ys = Val(y).shape;
    b_dims.assign(ys.begin(), ys.end());
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
  // A computed per-channel operand ([N, C, 1, 1]: a squeeze-and-excitation
  // gate) over a blocked tensor: oneDNN 2.6 has only its reference kernel for
  // a plain src1 there (RegNetY: 85% of the run), but jit ones for src1 in the
  // same blocking or for channels-last src0. Taken in that order.
  auto is_ref = [](const dnnl::binary::primitive_desc& p) {
    return std::string_view(p.impl_info_str()).substr(0, 3) == "ref";
  };
  if (is_ref(*pd) && broadcast && !const_b && b_dims.size() == 4 && b_dims[2] == 1 &&
      b_dims[3] == 1) {
    bool found = false;
    for (tag t : {tag::nChw16c, tag::nChw8c}) {
      try {
        const memory::desc blocked(b_dims, dt::f32, t);
        auto p = make_pd(a.desc, blocked);
        if (!is_ref(p)) {
          pd = p;
          b_md = blocked;
          found = true;
          break;
        }
      } catch (const dnnl::error&) {
      }
    }
    if (!found) {
      try {
        MemRef nhwc = Ensure(x, memory::desc(DimsOf(x), dt::f32, tag::nhwc));
        auto p = make_pd(nhwc.desc, b_md);
        if (!is_ref(p)) {
          pd = p;
          a = nhwc;
        }
      } catch (const dnnl::error&) {
      }
    }
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

}  // namespace kamado::runtime::detail
