// Int8 quantization of a compiled model (issue 16): the ranges `kamado
// quantize` measured on calibration photos, and the scales the plan builder
// derives from them.
//
// The scheme: symmetric, no zero points. Convolution weights are s8 per
// output channel (scale max|w| / 127); activations are u8 where every value
// is ≥ 0 (after ReLU/ReLU6) and s8 elsewhere, one scale per tensor (max / 255
// or max / 127). A tensor's real value is its integer times its scale.
// Pooling and in-place concat move integers without rescaling, so a pool's
// input and output, and a concat's inputs and output, share one scale (the
// largest range of the group); convolutions requantise through their
// output-scale attribute and post-ops. The global average pool before the
// head reads f32 (its input dequantised): an average of 64 values at the
// scale of their maximum would lose most of its resolution, and it is the
// feature vector the classifier reads.
//
// On CPUs without VNNI (AVX2, AVX-512 without VNNI) oneDNN multiplies u8 by
// s8 with vpmaddubsw, which adds two u8·s8 products in a saturating int16:
// 255·127·2 = 64,770 overflows 32,767. Weights are then quantised to 7 bits
// (|w| ≤ 63: 255·63·2 = 32,130 fits), so no pair can saturate, at half the
// weight resolution (WeightBits()).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/graph.h"

namespace kamado::runtime {

struct QuantTable {
  struct Range {
    float max = 0.0f;          // the largest |x| kept (after clipping, for percentile/entropy)
    bool is_unsigned = false;  // every value seen was ≥ 0
  };
  // By the name of the value in the graph after the passes.
  std::unordered_map<std::string, Range> activations;
  // By Conv node name: max |w| of each output channel's (folded) weights.
  std::unordered_map<std::string, std::vector<float>> weight_max;
  // Conv nodes that stay fp32 (kamado.yaml `quantization.fp32_layers`).
  std::set<std::string> fp32_nodes;
};

// The scale of one int8 tensor: real = integer · scale.
struct ActivationScale {
  float scale = 1.0f;
  bool is_unsigned = false;
};

// Per value id of `graph` (after the passes): its int8 scale, or nullopt
// when the table has no range for it (it then stays fp32). Values that share
// integers (pool in/out, concat inputs/output, Identity) share one scale.
std::vector<std::optional<ActivationScale>> ActivationScales(const ir::Graph& graph,
                                                             const QuantTable& table);

// 8, or 7 where oneDNN's int8 convolutions use vpmaddubsw (no VNNI in the
// ISA it dispatches to; ONEDNN_MAX_CPU_ISA lowers it).
int WeightBits();

}  // namespace kamado::runtime
