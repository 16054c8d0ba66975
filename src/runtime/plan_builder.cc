#include "runtime/plan_builder.h"

#include <algorithm>
#include <climits>
#include <optional>

#include "ir/graph.h"
#include "runtime/compiled_model.h"
#include "runtime/dnnl/dnnl_util.h"
#include "runtime/plan_builder_internal.h"
#include "runtime/precision.h"

namespace kamado::runtime {
namespace detail {

memory::dims Dims(const Shape& shape, int64_t batch) {
  memory::dims d(shape.begin(), shape.end());
  if (!d.empty()) d[0] = batch;
  return d;
}

memory::desc Plain(const memory::dims& dims) { return {dims, dt::f32, PlainTag(dims.size())}; }
memory::desc Any(const memory::dims& dims) { return {dims, dt::f32, tag::any}; }
memory::desc Any(const memory::dims& dims, dt type) { return {dims, type, tag::any}; }

dnnl::primitive_attr UserScratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

PlanBuilder::PlanBuilder(const CompiledModel& model, int64_t batch, int threads)
    : model_(model),
      g_(model.graph()),
      batch_(batch),
      activation_(model.precision() == Precision::kBf16 ? dt::bf16 : dt::f32),
      plan_(std::make_shared<Plan>()) {
  plan_->batch = batch;
  plan_->threads = threads;
}

Result<std::shared_ptr<Plan>> PlanBuilder::Build() {
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
    if (dims.size() == 4 && g_.input_layout == Layout::kNHWC) md = {dims, dt::f32, tag::nhwc};
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

// ---- bookkeeping -------------------------------------------------------

int PlanBuilder::NewBuffer(const memory::desc& md) {
  plan_->buffers.push_back(BufferUse{md.get_size(), INT_MAX, -1});
  return static_cast<int>(plan_->buffers.size() - 1);
}

void PlanBuilder::AddStep(Step step, const dnnl::memory::desc& scratchpad) {
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

void PlanBuilder::AddReorder(const std::string& node, const MemRef& from, const MemRef& to,
                             float scale) {
  dnnl::primitive_attr attr = UserScratchpad();
  if (scale != 1.0f) attr.set_output_scales(0, {scale});
  dnnl::reorder::primitive_desc pd(CpuEngine(), from.desc, CpuEngine(), to.desc, attr);
  Step s;
  s.node = node + "/reorder";
  s.op = "Reorder";
  s.impl = pd.impl_info_str();
  s.primitive = dnnl::reorder(pd);
  s.args = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
  AddStep(std::move(s), pd.scratchpad_desc());
}

MemRef PlanBuilder::Ensure(ir::ValueId v, const memory::desc& want) {
  const MemRef& have = where_.at(v);
  if (have.desc == want) return have;
  for (const MemRef& alt : converted_[v]) {
    if (alt.desc == want) return alt;
  }
  MemRef to = NewArena(want);
  AddReorder(g_.value(v).name, have, to, ReorderScale(v, have.desc, want));
  converted_[v].push_back(to);
  return to;
}

Result<MemRef> PlanBuilder::Constant(ir::ValueId v, const memory::desc& want,
                                     const memory::desc& source, const std::vector<float>* scales,
                                     int scale_mask) {
  ASSIGN_OR_RETURN(dnnl::memory mem, model_.ConstantLocked(v, want, source, scales, scale_mask));
  plan_->constants.push_back(mem);
  return MemRef{MemRef::Kind::kConstant, static_cast<int>(plan_->constants.size() - 1), want};
}

std::optional<ActivationScale> PlanBuilder::QScale(ir::ValueId v) const {
  if (model_.precision() != Precision::kInt8) return std::nullopt;
  return model_.act_scales_.at(static_cast<size_t>(v));
}

dt PlanBuilder::QType(ir::ValueId v) const {
  const auto q = QScale(v);
  if (!q) return dt::f32;
  return q->is_unsigned ? dt::u8 : dt::s8;
}

float PlanBuilder::ReorderScale(ir::ValueId v, const memory::desc& from,
                                const memory::desc& to) const {
  const bool from_int = IsInt8(from.data_type()), to_int = IsInt8(to.data_type());
  if (from_int == to_int) return 1.0f;
  const auto q = QScale(v);
  const float scale = q ? q->scale : 1.0f;
  return from_int ? scale : 1.0f / scale;
}

MemRef PlanBuilder::AsF32(ir::ValueId v) {
  const MemRef& have = where_.at(v);
  if (!IsInt8(have.desc.data_type())) return have;
  dnnl_memory_desc_t d = have.desc.data;
  d.data_type = dnnl_f32;
  return Ensure(v, memory::desc(d));
}

bool PlanBuilder::Expiring(ir::ValueId v) const {
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

MemRef PlanBuilder::SameLayoutDst(ir::ValueId in, const memory::desc& md) {
  if (Expiring(in) && where_.at(in).desc == md) return where_.at(in);
  return NewArena(md);
}

// ---- lowering ----------------------------------------------------------
//
// The Lower* functions of each op family live in ops/: conv_dense.cc,
// pooling.cc, elementwise.cc, shape.cc.

Status PlanBuilder::Lower(const ir::Node& n) {
  switch (n.op) {
    case ir::OpType::kConv: return LowerConv(n);
    case ir::OpType::kDense: return LowerDense(n);
    case ir::OpType::kMaxPool:
    case ir::OpType::kAvgPool:
    case ir::OpType::kGlobalAvgPool: return LowerPool(n);
    case ir::OpType::kConcat: return LowerConcat(n);
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
    case ir::OpType::kSlice: return LowerSlice(n);
    case ir::OpType::kLayerNorm: return LowerLayerNorm(n);
  }
  return Unsupported(ir::Describe(n) + ": no oneDNN lowering for this op");
}

Status PlanBuilder::BindOutputs() {
  for (ir::ValueId v : g_.outputs()) {
    const memory::dims dims = DimsOf(v);
    memory::desc want = Plain(dims);
    Shape shape(dims.begin(), dims.end());
    if (dims.size() == 4 && g_.input_layout == Layout::kNHWC) {
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
// at byte offset c0·H·W·(element size), provided c0 and C are multiples of the block.
// A Conv or pool whose only consumer is a Concat on channels then writes
// straight into its part of the concat's buffer, and the concat copies
// nothing. (oneDNN 2.6's jit kernels reject strided sub-memory outputs,
// so larger batches keep the concat primitive.)

//
// DenseNet's blocks concat all the features so far at every layer:
// Concat(x0), Concat(x0, n1), Concat(x0, n1, n2), … each input list a
// prefix of the next. Such a chain shares the buffer of its longest concat
// (its owner): every feature is written once at its channel offset, and each
// shorter concat is a view of the buffer's first channels, so no concat
// copies anything (the copies grew with the square of the block's depth).
// The views are never overwritten in place: Expiring sees the features
// sharing their buffer still live until the owner.

void PlanBuilder::PlanConcatsInPlace(const std::vector<ir::NodeId>& order) {
  if (batch_ != 1) return;
  std::vector<ir::NodeId> concats;
  for (ir::NodeId id : order) {
    const ir::Node& n = g_.node(id);
    if (n.op == ir::OpType::kConcat && n.attr<ir::ConcatAttrs>().axis == 1 &&
        Val(n.outputs[0]).shape.size() == 4) {
      concats.push_back(id);
    }
  }
  auto is_prefix = [&](ir::NodeId a, ir::NodeId b) {
    const auto& x = g_.node(a).inputs;
    const auto& y = g_.node(b).inputs;
    return x.size() <= y.size() && std::equal(x.begin(), x.end(), y.begin());
  };
  // Each concat's owner: the longest concat its inputs are a prefix of, when
  // all those concats form one chain (no branching); else itself.
  for (ir::NodeId c : concats) {
    ir::NodeId best = c;
    bool chain = true;
    for (ir::NodeId d : concats) {
      if (d == c || !is_prefix(c, d)) continue;
      if (is_prefix(best, d)) {
        best = d;
      } else if (!is_prefix(d, best)) {
        chain = false;
      }
    }
    concat_owner_[c] = chain ? best : c;
  }
  for (ir::NodeId id : concats) {
    if (concat_owner_.at(id) != id) continue;
    const ir::Node& n = g_.node(id);
    int64_t offset = 0;
    for (ir::ValueId v : n.inputs) {
      const ir::NodeId p = Val(v).producer;
      bool eligible = p != ir::kNoNode && !g_.IsGraphOutput(v) && !g_.IsGraphInput(v) &&
                      std::count(n.inputs.begin(), n.inputs.end(), v) == 1;
      for (ir::NodeId c : g_.Consumers(v)) {
        const auto owner = concat_owner_.find(c);
        eligible &= owner != concat_owner_.end() && owner->second == id;
      }
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

MemRef PlanBuilder::Slice(const ir::Node& concat, const ConcatBuffer& buf, size_t input) const {
  int64_t channels = 0;
  for (size_t i = 0; i < input; ++i) channels += Val(concat.inputs[i]).shape[1];
  const memory::dims dims = DimsOf(concat.inputs[input]);
  MemRef ref{MemRef::Kind::kArena, buf.buffer, memory::desc(dims, buf.type, buf.tag)};
  ref.offset = static_cast<size_t>(channels * dims[2] * dims[3]) * memory::data_type_size(buf.type);
  return ref;
}

std::optional<MemRef> PlanBuilder::ConcatSliceFor(ir::ValueId v, const memory::desc& produced) {
  auto it = concat_slot_.find(v);
  if (it == concat_slot_.end()) return std::nullopt;
  const ir::Node& concat = g_.node(it->second.concat);
  const memory::dims dims = DimsOf(v);
  ConcatBuffer& buf = concat_buffer_[it->second.concat];
  if (buf.failed) return std::nullopt;
  if (buf.buffer < 0) {
    // The first producer picks the buffer's layout; every input's channel
    // count must be a multiple of its block so all slices start on one.
    buf.type = produced.data_type();
    for (auto [t, block] : {std::pair{tag::nChw16c, 16}, {tag::nChw8c, 8}, {tag::nchw, 1}}) {
      if (produced != memory::desc(dims, buf.type, t)) continue;
      bool aligned = true;
      for (ir::ValueId in : concat.inputs) aligned &= Val(in).shape[1] % block == 0;
      if (aligned) buf.tag = t;
      break;
    }
    if (buf.tag == tag::undef) {
      buf.failed = true;
      return std::nullopt;
    }
    buf.buffer = NewBuffer(memory::desc(DimsOf(concat.outputs[0]), buf.type, buf.tag));
  }
  if (produced != memory::desc(dims, buf.type, buf.tag)) return std::nullopt;
  const size_t index = static_cast<size_t>(
      std::find(concat.inputs.begin(), concat.inputs.end(), v) - concat.inputs.begin());
  return Slice(concat, buf, index);
}

}  // namespace detail

Result<std::shared_ptr<Plan>> BuildPlan(const CompiledModel& model, int64_t batch, int threads) {
  return detail::PlanBuilder(model, batch, threads).Build();
}

}  // namespace kamado::runtime
