// Small oneDNN helpers shared by the runtime: the process-wide CPU engine,
// error conversion, and mapping IR activations onto eltwise algorithms.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <string>
#include <vector>

#include "core/status.h"
#include "ir/op_type.h"

namespace kamado::runtime {

// The CPU engine; created once, thread-safe to share.
const dnnl::engine& CpuEngine();

// Converts a oneDNN exception into a Status naming `what` (usually a node).
Status FromDnnlError(const dnnl::error& e, const std::string& what);

struct EltwiseSpec {
  dnnl::algorithm algorithm;
  float alpha = 0.0f;
  float beta = 0.0f;
};

// One IR activation may need several eltwise steps (HardSigmoid = linear, clip).
std::vector<EltwiseSpec> EltwiseFor(const ir::Activation& activation);

// Appends to `ops` the IR post-ops, from the front, that one primitive can
// fuse (sum → append_sum) and returns how many that is; the caller runs the
// rest as separate eltwise steps. oneDNN 2.6's jit kernels keep one eltwise
// injector per algorithm, so two eltwise post-ops of one algorithm with
// different alpha/beta (LeakyReLU then ReLU, say: both eltwise_relu) compute
// wrong results; the chain is cut before the first such repeat. Fixed upstream
// in the OpenVINO fork (openvinotoolkit/oneDNN#157).
// `sum_scale` and `sum_type` go to append_sum (int8: the residual's scale,
// and its type when it differs from the destination's; undef: the same).
size_t AppendPostOps(const std::vector<ir::PostOp>& post_ops, dnnl::post_ops& ops,
                     float sum_scale = 1.0f,
                     dnnl::memory::data_type sum_type = dnnl::memory::data_type::undef);

// Plain row-major tag for a tensor of `rank` dimensions (a, ab, abc, abcd, ...).
dnnl::memory::format_tag PlainTag(size_t rank);

// Short text for a memory descriptor's layout, for logs and profiles.
std::string DescribeLayout(const dnnl::memory::desc& md);

// oneDNN's name for an ISA ("avx2", "avx512_core_amx"), as ONEDNN_MAX_CPU_ISA
// spells it in lower case.
std::string IsaName(dnnl::cpu_isa isa);

// oneDNN's version as the compiled-file key and `kamado info` name it:
// "2.6.3 (hash)".
std::string OneDnnVersion();

}  // namespace kamado::runtime
