// Small oneDNN helpers shared by the runtime: the process-wide CPU engine,
// error conversion, and mapping IR activations onto eltwise algorithms.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
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

// How many of `post_ops`, from the front, one primitive can fuse. oneDNN
// 2.6's jit kernels keep one eltwise injector per algorithm, so two eltwise
// post-ops of one algorithm with different alpha/beta (LeakyReLU then ReLU,
// say: both eltwise_relu) compute wrong results; the chain is cut before the
// first such repeat and the rest must run as separate eltwise steps. Fixed
// upstream in the OpenVINO fork (openvinotoolkit/oneDNN#157).
size_t FusablePostOps(const std::vector<ir::PostOp>& post_ops);

// Appends the first `count` IR post-ops (all by default) to oneDNN post-ops
// (sum → append_sum).
void AppendPostOps(const std::vector<ir::PostOp>& post_ops, dnnl::post_ops& ops,
                   size_t count = SIZE_MAX);

// Plain row-major tag for a tensor of `rank` dimensions (a, ab, abc, abcd, ...).
dnnl::memory::format_tag PlainTag(size_t rank);

// Short text for a memory descriptor's layout, for logs and profiles.
std::string DescribeLayout(const dnnl::memory::desc& md);

}  // namespace kamado::runtime
