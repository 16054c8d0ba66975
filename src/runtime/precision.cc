#include "runtime/precision.h"

#include <oneapi/dnnl/dnnl.hpp>

#include "runtime/dnnl/dnnl_util.h"

namespace kamado::runtime {
namespace {

// oneDNN's ISA values are nested bit masks: an ISA includes every one
// whose bits are a subset of its own.
bool Includes(dnnl::cpu_isa have, dnnl::cpu_isa want) {
  const auto h = static_cast<unsigned>(have), w = static_cast<unsigned>(want);
  return (h & w) == w;
}

}  // namespace

Status CheckPrecisionSupported(Precision p) {
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  switch (p) {
    case Precision::kFp32: return Status::Ok();
    case Precision::kBf16:
      if (Includes(isa, dnnl::cpu_isa::avx512_core_bf16)) return Status::Ok();
      return Unsupported("precision bf16 needs a CPU with AVX512-BF16 or AMX-BF16; oneDNN runs " +
                         IsaName(isa) +
                         " here (ONEDNN_MAX_CPU_ISA may lower it), where bf16 would be emulated "
                         "slower than fp32: use --precision fp32, or int8 on the model kamado "
                         "quantize writes");
    case Precision::kInt8:
      if (Includes(isa, dnnl::cpu_isa::avx2)) return Status::Ok();
      return Unsupported("precision int8 needs at least AVX2; oneDNN runs " + IsaName(isa) +
                         " here: use --precision fp32");
  }
  return Internal("unknown precision");
}

std::string EffectiveIsaName() { return IsaName(dnnl::get_effective_cpu_isa()); }

std::string PrecisionEngine(Precision p) {
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  if (Status s = CheckPrecisionSupported(p); !s.ok()) return "not available: " + s.message();
  switch (p) {
    case Precision::kFp32:
      return std::string(Includes(isa, dnnl::cpu_isa::avx512_core) ? "AVX-512" : "AVX2/FMA") +
             " fp32 (" + IsaName(isa) + ")";
    case Precision::kBf16:
      return std::string(Includes(isa, dnnl::cpu_isa::avx512_core_amx) ? "AMX-BF16 tiles"
                                                                         : "AVX512-BF16") +
             " (" + IsaName(isa) + ")";
    case Precision::kInt8:
      if (Includes(isa, dnnl::cpu_isa::avx512_core_amx)) return "AMX-INT8 tiles (" + IsaName(isa) + ")";
      if (Includes(isa, dnnl::cpu_isa::avx512_core_vnni)) return "AVX512-VNNI (" + IsaName(isa) + ")";
      if (Includes(isa, dnnl::cpu_isa::avx2_vnni)) return "AVX-VNNI (" + IsaName(isa) + ")";
      return std::string(Includes(isa, dnnl::cpu_isa::avx512_core) ? "AVX-512" : "AVX2") +
             " vpmaddubsw, 7-bit weights so int16 pairs cannot saturate (" + IsaName(isa) + ")";
  }
  return "?";
}

}  // namespace kamado::runtime
