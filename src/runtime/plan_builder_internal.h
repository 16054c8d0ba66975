// PlanBuilder, the state behind BuildPlan (plan_builder.h). Internal to the
// runtime layer: included only by plan_builder.cc and the lowerings in
// runtime/ops/, never from outside src/runtime.
//
// plan_builder.cc holds Build(), the bookkeeping (buffers, reorders,
// constants), the Lower() dispatch and the concat-in-place planning; each
// ops/<family>.cc defines the Lower* member functions of one op family.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "ir/graph.h"
#include "runtime/plan.h"
#include "runtime/quantization.h"

namespace kamado::runtime {

class CompiledModel;

namespace detail {

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;
using dt = memory::data_type;
using tag = memory::format_tag;

// `shape` with its first (batch) dimension set to `batch`.
memory::dims Dims(const Shape& shape, int64_t batch);
// f32 in the plain row-major layout.
memory::desc Plain(const memory::dims& dims);
// f32 in whatever layout the primitive prefers (format_tag::any).
memory::desc Any(const memory::dims& dims);
// `type` in whatever layout the primitive prefers.
memory::desc Any(const memory::dims& dims, dt type);
// Attributes with scratchpad_mode::user, which every plan primitive uses.
dnnl::primitive_attr UserScratchpad();

class PlanBuilder {
 public:
  PlanBuilder(const CompiledModel& model, int64_t batch, int threads);

  Result<std::shared_ptr<Plan>> Build();

 private:
  // ---- bookkeeping (plan_builder.cc) ---------------------------------------

  int NewBuffer(const memory::desc& md);
  MemRef NewArena(const memory::desc& md) { return {MemRef::Kind::kArena, NewBuffer(md), md}; }

  void AddStep(Step step, const dnnl::memory::desc& scratchpad = {});

  template <typename Primitive, typename PrimitiveDesc>
  Step MakeStep(const ir::Node& n, const PrimitiveDesc& pd) {
    Step s;
    s.node = n.name;
    s.op = std::string(ir::OpTypeName(n.op));
    s.impl = pd.impl_info_str();
    s.primitive = Primitive(pd);
    return s;
  }

  // `scale` multiplies every element (int8: quantising, dequantising).
  void AddReorder(const std::string& node, const MemRef& from, const MemRef& to,
                  float scale = 1.0f);

  // The value `v` in layout `want`: as produced, or through one reorder
  // (cached, so several consumers wanting the same layout share it).
  MemRef Ensure(ir::ValueId v, const memory::desc& want);

  Result<MemRef> Constant(ir::ValueId v, const memory::desc& want, const memory::desc& source,
                          const std::vector<float>* scales = nullptr, int scale_mask = 0);

  // ---- int8 (runtime/quantization.h) ----------------------------------------

  static bool IsInt8(dt type) { return type == dt::s8 || type == dt::u8; }
  // The int8 scale of `v` in an int8 model (nullopt: it stays f32).
  std::optional<ActivationScale> QScale(ir::ValueId v) const;
  // u8 or s8 for a value with a scale, else f32.
  dt QType(ir::ValueId v) const;
  // The factor a reorder of `v` from `from` to `to` multiplies by: its
  // scale to dequantise, the inverse to quantise, 1 otherwise.
  float ReorderScale(ir::ValueId v, const memory::desc& from, const memory::desc& to) const;
  // `v` as f32 (for ops that compute in f32): as produced, or dequantised
  // into the same layout.
  MemRef AsF32(ir::ValueId v);

  int Remaining(ir::ValueId v) const {
    auto it = remaining_.find(v);
    return it == remaining_.end() ? 0 : it->second;
  }

  // True when `v` is read by nobody after the current node and can be
  // overwritten in place.
  bool Expiring(ir::ValueId v) const;

  // Destination for an op whose output layout equals its input's: in place
  // when the input dies here.
  MemRef SameLayoutDst(ir::ValueId in, const memory::desc& md);

  const ir::Value& Val(ir::ValueId v) const { return g_.value(v); }
  memory::dims DimsOf(ir::ValueId v) const { return Dims(Val(v).shape, batch_); }
  // Any layout in the type activations flow in between layers (bf16 for a
  // bf16 model; the head and softmax ask for f32 themselves).
  memory::desc AnyActivation(const memory::dims& dims) const { return Any(dims, activation_); }
  static bool Has(const ir::Node& n, size_t i) {
    return n.inputs.size() > i && n.inputs[i] != ir::kNoValue;
  }

  // ---- lowering ------------------------------------------------------------

  Status Lower(const ir::Node& n);  // plan_builder.cc

  // ops/conv_dense.cc
  // The convolution_forward descriptor of Conv `n` for these source,
  // weights and destination descriptors (its bias f32).
  dnnl::convolution_forward::desc ConvDesc(const ir::Node& n, algorithm alg,
                                           const memory::desc& src, const memory::desc& weights,
                                           const memory::desc& dst) const;
  // [O, I, kH, kW], or [G, O/G, I, kH, kW] for a grouped Conv `n`.
  memory::dims ConvWeightDims(const ir::Node& n) const;
  Status LowerConv(const ir::Node& n);
  // The int8 convolution, when `n` can run as one (sets *lowered).
  Status LowerConvInt8(const ir::Node& n, bool* lowered);
  // Whether Conv `n` runs as a Winograd convolution (when oneDNN has one).
  bool UseWinograd(const ir::Node& n) const;
  // Whether every reader of `v` is a Winograd Conv taking it as its source.
  bool FeedsOnlyWinograd(ir::ValueId v) const;
  Status LowerDense(const ir::Node& n);

  // ops/pooling.cc
  Status LowerPool(const ir::Node& n);
  Status AddPooling(const ir::Node& n, const dnnl::pooling_forward::desc& d, const MemRef& src,
                    const dnnl::primitive_attr& attr = UserScratchpad());
  Status LowerGlobalMaxPool(const ir::Node& n);

  // ops/elementwise.cc
  // Eltwise steps computing `activation` from `src` into `dst` (may be `src`).
  void AddActivationSteps(const ir::Node& n, MemRef src, const MemRef& dst,
                          const ir::Activation& activation);
  // The post-ops from index `fused` on, which `n`'s primitive could not fuse
  // (see AppendPostOps), as eltwise steps in place on `dst`.
  Status CheckLowerable(const ir::Node& n, const ir::Activation& activation);
  Status AddUnfusedPostOps(const ir::Node& n, const std::vector<ir::PostOp>& post_ops,
                           size_t fused, const MemRef& dst);
  Status LowerActivation(const ir::Node& n);
  Status LowerBatchNorm(const ir::Node& n);
  Status LowerSoftmax(const ir::Node& n);
  Status LowerLayerNorm(const ir::Node& n);
  Status LowerBinary(const ir::Node& n);

  // ops/shape.cc
  Status LowerConcat(const ir::Node& n);
  Status LowerFlatten(const ir::Node& n);
  Status LowerPad(const ir::Node& n);
  Status LowerReshape(const ir::Node& n);
  Status LowerTranspose(const ir::Node& n);
  Status LowerSlice(const ir::Node& n);

  Status BindOutputs();  // plan_builder.cc

  // ---- concat in place (batch 1; the scheme is described in plan_builder.cc)

  struct ConcatSlot {
    ir::NodeId concat;
    int64_t channel_offset;
  };
  struct ConcatBuffer {
    int buffer = -1;
    memory::format_tag tag = tag::undef;
    dt type = dt::f32;
    bool failed = false;
  };

  void PlanConcatsInPlace(const std::vector<ir::NodeId>& order);

  MemRef Slice(const ir::Node& concat, const ConcatBuffer& buf, size_t input) const;

  // Where the producer of `v` should write, if `v` feeds a concat in place
  // and `produced` (the layout the producer chose) fits the concat's buffer.
  std::optional<MemRef> ConcatSliceFor(ir::ValueId v, const memory::desc& produced);

  std::unordered_map<ir::ValueId, ConcatSlot> concat_slot_;
  std::unordered_map<ir::NodeId, ConcatBuffer> concat_buffer_;
  // Each channel concat's owner: the concat whose buffer it is a view of
  // (itself, unless it is a prefix of a longer one: DenseNet's chains).
  std::unordered_map<ir::NodeId, ir::NodeId> concat_owner_;

  const CompiledModel& model_;
  const ir::Graph& g_;
  int64_t batch_;
  dt activation_ = dt::f32;  // from the model's precision
  std::shared_ptr<Plan> plan_;
  std::unordered_map<ir::ValueId, MemRef> where_;
  std::unordered_map<ir::ValueId, std::vector<MemRef>> converted_;
  std::unordered_map<ir::ValueId, int> remaining_;
};

}  // namespace detail
}  // namespace kamado::runtime
