#include "runtime/dnnl/dnnl_util.h"

#include <algorithm>
#include <numeric>

namespace kamado::runtime {

using dnnl::algorithm;

const dnnl::engine& CpuEngine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

Status FromDnnlError(const dnnl::error& e, const std::string& what) {
  if (e.status == dnnl_unimplemented) {
    return Unsupported(what + ": oneDNN has no implementation for this configuration (" +
                       e.what() + ")");
  }
  if (e.status == dnnl_invalid_arguments) {
    return InvalidArgument(what + ": oneDNN rejected the arguments (" + std::string(e.what()) +
                           ")");
  }
  return Internal(what + ": oneDNN error " + std::string(e.what()));
}

std::vector<EltwiseSpec> EltwiseFor(const ir::Activation& a) {
  switch (a.kind) {
    case ir::ActivationKind::kRelu: return {{algorithm::eltwise_relu, 0.0f, 0.0f}};
    case ir::ActivationKind::kLeakyRelu: return {{algorithm::eltwise_relu, a.alpha, 0.0f}};
    case ir::ActivationKind::kClip: return {{algorithm::eltwise_clip, a.alpha, a.beta}};
    case ir::ActivationKind::kSigmoid: return {{algorithm::eltwise_logistic, 0.0f, 0.0f}};
    case ir::ActivationKind::kTanh: return {{algorithm::eltwise_tanh, 0.0f, 0.0f}};
    case ir::ActivationKind::kElu: return {{algorithm::eltwise_elu, a.alpha, 0.0f}};
    case ir::ActivationKind::kHardSigmoid:
      // oneDNN 2.6 has no hardsigmoid: alpha·x + beta, then clip to [0, 1].
      return {{algorithm::eltwise_linear, a.alpha, a.beta}, {algorithm::eltwise_clip, 0.0f, 1.0f}};
    case ir::ActivationKind::kHardSwish: return {{algorithm::eltwise_hardswish, 0.0f, 0.0f}};
    case ir::ActivationKind::kExp: return {{algorithm::eltwise_exp, 0.0f, 0.0f}};
    // eltwise_pow is alpha · x^beta; eltwise_linear is alpha · x + beta.
    case ir::ActivationKind::kReciprocal: return {{algorithm::eltwise_pow, 1.0f, -1.0f}};
    case ir::ActivationKind::kNeg: return {{algorithm::eltwise_linear, -1.0f, 0.0f}};
    case ir::ActivationKind::kAbs: return {{algorithm::eltwise_abs, 0.0f, 0.0f}};
    case ir::ActivationKind::kSqrt: return {{algorithm::eltwise_sqrt, 0.0f, 0.0f}};
    case ir::ActivationKind::kGeluErf: return {{algorithm::eltwise_gelu_erf, 0.0f, 0.0f}};
    case ir::ActivationKind::kSwish: return {{algorithm::eltwise_swish, a.alpha, 0.0f}};
    case ir::ActivationKind::kGeluTanh: return {{algorithm::eltwise_gelu_tanh, 0.0f, 0.0f}};
    case ir::ActivationKind::kErf: return {};  // no oneDNN eltwise: refused by the lowering
  }
  return {};
}

size_t AppendPostOps(const std::vector<ir::PostOp>& post_ops, dnnl::post_ops& ops,
                     float sum_scale, dnnl::memory::data_type sum_type) {
  std::vector<EltwiseSpec> fused;
  for (size_t i = 0; i < post_ops.size(); ++i) {
    const ir::PostOp& p = post_ops[i];
    if (p.kind == ir::PostOp::Kind::kSum) {
      ops.append_sum(sum_scale, sum_type);
      continue;
    }
    const std::vector<EltwiseSpec> specs = EltwiseFor(p.activation);
    if (specs.empty()) return i;  // no oneDNN form: the lowering refuses it
    for (const EltwiseSpec& e : specs) {
      for (const EltwiseSpec& f : fused) {
        if (f.algorithm == e.algorithm && (f.alpha != e.alpha || f.beta != e.beta)) return i;
      }
    }
    for (const EltwiseSpec& e : specs) {
      ops.append_eltwise(1.0f, e.algorithm, e.alpha, e.beta);
      fused.push_back(e);
    }
  }
  return post_ops.size();
}

std::string IsaName(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx512_mic: return "avx512_mic";
    case dnnl::cpu_isa::avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    default: return "isa#" + std::to_string(static_cast<int>(isa));
  }
}

std::string OneDnnVersion() {
  const dnnl_version_t* v = dnnl_version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) +
         " (" + (v->hash ? v->hash : "") + ")";
}

dnnl::memory::format_tag PlainTag(size_t rank) {
  using tag = dnnl::memory::format_tag;
  switch (rank) {
    case 1: return tag::a;
    case 2: return tag::ab;
    case 3: return tag::abc;
    case 4: return tag::abcd;
    case 5: return tag::abcde;
    default: return tag::undef;
  }
}

std::string DescribeLayout(const dnnl::memory::desc& md) {
  // oneDNN's own naming: dimensions ordered by stride, outermost first; a
  // blocked dimension is upper-case and its inner block is appended
  // ("aBcd8b" is nChw8c).
  const dnnl_memory_desc_t& d = md.data;
  if (d.format_kind != dnnl_blocked) return "any";
  const int n = d.ndims;
  const auto& blk = d.format_desc.blocking;
  std::vector<int> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return blk.strides[a] > blk.strides[b]; });
  std::string s;
  for (int dim : order) {
    bool blocked = false;
    for (int i = 0; i < blk.inner_nblks; ++i) blocked |= blk.inner_idxs[i] == dim;
    s += static_cast<char>((blocked ? 'A' : 'a') + dim);
  }
  for (int i = 0; i < blk.inner_nblks; ++i) {
    s += std::to_string(blk.inner_blks[i]) + static_cast<char>('a' + blk.inner_idxs[i]);
  }
  return s;
}

}  // namespace kamado::runtime
