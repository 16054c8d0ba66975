// Precision: the data type a compiled model's activations and convolution
// weights are held in. fp32 everywhere is the default; bf16 keeps the
// convolutions, pooling and the tensors between them in bfloat16 (weights
// reordered to bf16 once, at compile time), while the classifier head
// (Dense) and Softmax stay fp32 — the reorders that change the type sit at
// the graph's input and before the head, never between two convolutions.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace kamado::runtime {

enum class Precision { kFp32, kBf16, kInt8 };

// "fp32" | "bf16" | "int8". (Inline, with ParsePrecision: the config
// parsers and their fuzzers use the names without linking oneDNN.)
inline std::string_view PrecisionName(Precision p) {
  switch (p) {
    case Precision::kFp32: return "fp32";
    case Precision::kBf16: return "bf16";
    case Precision::kInt8: return "int8";
  }
  return "?";
}
// The inverse of PrecisionName; InvalidArgument naming the accepted values.
inline Result<Precision> ParsePrecision(std::string_view name) {
  for (Precision p : {Precision::kFp32, Precision::kBf16, Precision::kInt8}) {
    if (name == PrecisionName(p)) return p;
  }
  return InvalidArgument("precision '" + std::string(name) + "' is not one of fp32, bf16, int8");
}

// Whether oneDNN can run `p` on this CPU with real instructions for it (it
// honours ONEDNN_MAX_CPU_ISA): bf16 needs AVX512-BF16 or AMX-BF16; without
// them oneDNN would emulate bf16 on AVX-512 at a fraction of fp32's speed,
// or not run it at all on AVX2. Ok, or FailedPrecondition saying what this
// CPU has and what to use instead.
Status CheckPrecisionSupported(Precision p);

// oneDNN's name for the ISA it dispatches to here ("avx512_core_amx",
// "avx2"; ONEDNN_MAX_CPU_ISA lowers it): what compiled files and gates
// are keyed by.
std::string EffectiveIsaName();

// What `p` runs on here, in words ("AMX-BF16 (avx512_core_amx)", "not
// available: ..."), for `kamado info`.
std::string PrecisionEngine(Precision p);

}  // namespace kamado::runtime
