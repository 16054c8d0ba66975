// PlanBuilder: ops that move or view data: Concat (the primitive, or the
// copies into an in-place concat's slices), Flatten, Pad, Reshape, Transpose.
#include <algorithm>

#include "runtime/dnnl/dnnl_util.h"
#include "runtime/plan_builder_internal.h"

namespace kamado::runtime::detail {

Status PlanBuilder::LowerConcat(const ir::Node& n) {
  const ir::NodeId self = Val(n.outputs[0]).producer;
  const auto owner = concat_owner_.find(self);
  auto in_place = concat_buffer_.find(owner == concat_owner_.end() ? self : owner->second);
  if (in_place != concat_buffer_.end() && in_place->second.buffer >= 0) {
    // Inputs not already written in place are copied into their slices (a
    // concat that is a view of a longer one's buffer: its first channels).
    const ConcatBuffer& buf = in_place->second;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const MemRef slice = Slice(n, buf, i);
      const MemRef& have = where_.at(n.inputs[i]);
      if (have.kind != MemRef::Kind::kArena || have.index != slice.index ||
          have.offset != slice.offset) {
        AddReorder(n.name, have, slice, ReorderScale(n.inputs[i], have.desc, slice.desc));
      }
    }
    where_[n.outputs[0]] = MemRef{MemRef::Kind::kArena, buf.buffer,
                                  memory::desc(DimsOf(n.outputs[0]), buf.type, buf.tag)};
    return Status::Ok();
  }
  const int axis = static_cast<int>(n.attr<ir::ConcatAttrs>().axis);
  // The concat primitive takes one data type: inputs of mixed types (a
  // bf16 branch beside an f32 one) are all read as plain f32.
  std::vector<MemRef> inputs;
  bool mixed = false;
  for (ir::ValueId v : n.inputs) {
    inputs.push_back(where_.at(v));
    mixed |= inputs.back().desc.data_type() != inputs.front().desc.data_type();
  }
  if (mixed) {
    for (size_t i = 0; i < n.inputs.size(); ++i) inputs[i] = Ensure(n.inputs[i], Plain(DimsOf(n.inputs[i])));
  }
  std::vector<memory::desc> srcs;
  for (const MemRef& in : inputs) srcs.push_back(in.desc);
  dnnl::concat::primitive_desc pd(axis, srcs, CpuEngine(), UserScratchpad());
  Step s = MakeStep<dnnl::concat>(n, pd);
  const MemRef dst = NewArena(pd.dst_desc());
  for (size_t i = 0; i < inputs.size(); ++i) {
    s.args.push_back({DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i), inputs[i]});
  }
  s.args.push_back({DNNL_ARG_DST, dst});
  AddStep(std::move(s), pd.scratchpad_desc());
  where_[n.outputs[0]] = dst;
  return Status::Ok();
}

Status PlanBuilder::LowerFlatten(const ir::Node& n) {
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

Status PlanBuilder::LowerPad(const ir::Node& n) {
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
  const MemRef src = AsF32(x);
  AddReorder(n.name, src, MemRef{MemRef::Kind::kArena, dst.index, interior});
  where_[n.outputs[0]] = dst;
  return Status::Ok();
}

// ---- ops added for the ONNX importer ----------------------------------

// A view of the plain (row-major) bytes, like Flatten.
Status PlanBuilder::LowerReshape(const ir::Node& n) {
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
Status PlanBuilder::LowerTranspose(const ir::Node& n) {
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

// One reorder from a view of the box inside the input, in whatever layout the
// input has (a channel split of a blocked tensor stays blocked when the box
// falls on whole blocks; oneDNN refuses a submemory that splits a block, and
// then the input is read plainly).
Status PlanBuilder::LowerSlice(const ir::Node& n) {
  const ir::ValueId x = n.inputs[0];
  const auto& a = n.attr<ir::SliceAttrs>();
  const memory::dims out_dims = DimsOf(n.outputs[0]);
  const memory::dims offsets(a.starts.begin(), a.starts.end());
  MemRef src = AsF32(x);  // the reorder reads f32 or bf16, not int8
  memory::desc view;
  try {
    view = src.desc.submemory_desc(out_dims, offsets);
  } catch (const dnnl::error&) {
    src = Ensure(x, Plain(DimsOf(x)));
    view = src.desc.submemory_desc(out_dims, offsets);
  }
  const MemRef dst = NewArena(Plain(out_dims));
  AddReorder(n.name, MemRef{src.kind, src.index, view, src.offset}, dst);
  where_[n.outputs[0]] = dst;
  return Status::Ok();
}

}  // namespace kamado::runtime::detail
