// The CPU's model and the instruction-set features kamado's precisions and
// kernels depend on, as the kernel reports them in /proc/cpuinfo (which
// also says whether the kernel enabled them: AMX needs kernel support for
// its tile state, not only the CPU).
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace kamado {

struct CpuFeatures {
  std::string model_name;  // "Intel(R) Xeon(R) Processor", "AMD EPYC 7B13"
  std::string vendor;      // "GenuineIntel", "AuthenticAMD"
  int family = -1;
  int model = -1;
  std::set<std::string> flags;  // of the first processor

  bool Has(std::string_view flag) const { return flags.count(std::string(flag)) > 0; }
};

// The features that matter to kamado, in the order `kamado info` lists
// them: {flag in /proc/cpuinfo, name in the docs}.
struct NamedFeature {
  const char* flag;
  const char* name;
};
const std::vector<NamedFeature>& KamadoCpuFeatures();

// Parses the text of /proc/cpuinfo (the first processor's block).
// InvalidArgument when it has no `flags` line.
Result<CpuFeatures> ParseCpuInfo(std::string_view text);
Result<CpuFeatures> ReadCpuFeatures(const std::filesystem::path& path = "/proc/cpuinfo");

}  // namespace kamado
