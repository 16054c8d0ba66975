#include "core/cpu_features.h"

#include <charconv>
#include <fstream>
#include <sstream>

namespace kamado {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

int ToInt(std::string_view s) {
  int v = -1;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

}  // namespace

const std::vector<NamedFeature>& KamadoCpuFeatures() {
  static const std::vector<NamedFeature> features = {
      {"avx2", "AVX2"},
      {"fma", "FMA"},
      {"avx512f", "AVX-512 F"},
      {"avx512bw", "AVX-512 BW"},
      {"avx512vl", "AVX-512 VL"},
      {"avx512_vnni", "AVX512-VNNI"},
      {"avx_vnni", "AVX-VNNI"},
      {"avx512_bf16", "AVX512-BF16"},
      {"avx512_fp16", "AVX512-FP16"},
      {"amx_bf16", "AMX-BF16"},
      {"amx_int8", "AMX-INT8"},
  };
  return features;
}

Result<CpuFeatures> ParseCpuInfo(std::string_view text) {
  CpuFeatures f;
  bool have_flags = false;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (Trim(line).empty()) {
      if (have_flags) break;  // the end of the first processor's block
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = Trim(line.substr(0, colon));
    const std::string_view value = Trim(line.substr(colon + 1));
    if (key == "model name") {
      f.model_name = std::string(value);
    } else if (key == "vendor_id") {
      f.vendor = std::string(value);
    } else if (key == "cpu family") {
      f.family = ToInt(value);
    } else if (key == "model") {
      f.model = ToInt(value);
    } else if (key == "flags") {
      std::istringstream words{std::string(value)};
      for (std::string w; words >> w;) f.flags.insert(w);
      have_flags = true;
    }
  }
  if (!have_flags) return InvalidArgument("cpuinfo has no 'flags' line");
  return f;
}

Result<CpuFeatures> ReadCpuFeatures(const std::filesystem::path& path) {
  // /proc files have no size to read up to: read to the end.
  std::ifstream in(path);
  if (!in) return NotFound("cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  auto f = ParseCpuInfo(text.str());
  if (!f.ok()) return f.status().WithPrefix(path.string());
  return f;
}

}  // namespace kamado
