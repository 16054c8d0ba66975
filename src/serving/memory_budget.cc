#include "serving/memory_budget.h"

#include <unistd.h>

#include <cstdio>
#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/file_util.h"
#include "serving/cgroup_paths.h"
#include "model/model_config.h"
#include <nlohmann/json.hpp>

namespace kamado::serving {
namespace {

namespace fs = std::filesystem;

std::optional<int64_t> ReadLimit(const fs::path& file) {
  std::ifstream in(file);
  std::string word;
  if (!(in >> word) || word == "max") return std::nullopt;
  try {
    return static_cast<int64_t>(std::stoll(word));
  } catch (...) {
    return std::nullopt;
  }
}

std::string Mib(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.0f MiB", static_cast<double>(bytes) / 1048576.0);
  return buf;
}

}  // namespace

std::optional<MemoryLimit> DetectMemoryLimit(const fs::path& cgroup_root, const std::string& self_cgroup,
                                             int64_t machine_bytes) {
  const std::string self = self_cgroup.empty() ? ReadSelfCgroup() : self_cgroup;
  if (machine_bytes <= 0) {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    machine_bytes = pages > 0 && page > 0 ? int64_t{pages} * page : INT64_MAX;
  }
  struct Place {
    fs::path file;
    const char* source;
  };
  std::vector<Place> places;
  for (const fs::path& dir : CgroupDirs(cgroup_root, self, "", {""})) {
    places.push_back({dir / "memory.max", "cgroup v2 memory.max"});
  }
  for (const fs::path& dir : CgroupDirs(cgroup_root, self, "memory", {"memory"})) {
    places.push_back({dir / "memory.limit_in_bytes", "cgroup v1 memory.limit_in_bytes"});
  }
  // Limits are hierarchical: the tightest of the own cgroup, its ancestors
  // and the mount binds; "max", v1's huge "no limit" and anything at or
  // above the machine's memory are no limit.
  std::optional<MemoryLimit> tightest;
  for (const Place& p : places) {
    if (!fs::exists(p.file)) continue;
    const auto limit = ReadLimit(p.file);
    if (!limit || *limit <= 0 || *limit >= machine_bytes) continue;
    if (!tightest || *limit < tightest->bytes) tightest = MemoryLimit{*limit, p.source};
  }
  return tightest;
}

namespace {

// fp32 bytes of the model's weights without loading them (loading is what
// may not fit): a TF.js model's weights manifest lists every weight's shape
// (stored quantized or not, it becomes fp32); an ONNX file is mostly its
// fp32 initializers, so its size.
Result<int64_t> WeightBytes(const model::ModelConfig& config) {
  const fs::path path = config.model_path();
  std::error_code ec;
  if (config.format != model::ModelFormat::kTfjs) {
    const auto size = fs::file_size(path, ec);
    if (ec) return NotFound(path.string() + ": " + ec.message());
    return static_cast<int64_t>(size);
  }
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("weightsManifest") || !j["weightsManifest"].is_array()) {
    return InvalidArgument(path.string() + ": no weightsManifest");
  }
  int64_t bytes = 0;
  for (const auto& group : j["weightsManifest"]) {
    if (!group.contains("weights") || !group["weights"].is_array()) continue;
    for (const auto& w : group["weights"]) {
      if (!w.contains("shape") || !w["shape"].is_array()) continue;
      // A user's file: the product and the sum may not fit (undefined if
      // they were let overflow).
      int64_t n = static_cast<int64_t>(sizeof(float));
      bool overflow = false;
      for (const auto& d : w["shape"]) {
        const int64_t dim = d.is_number_integer() ? std::max<int64_t>(d.get<int64_t>(), 0) : 0;
        overflow |= __builtin_mul_overflow(n, dim, &n);
      }
      if (overflow || __builtin_add_overflow(bytes, n, &bytes)) {
        return InvalidArgument(path.string() + ": the weights' shapes hold more bytes than fit in 64 bits");
      }
    }
  }
  return bytes;
}

}  // namespace

Result<MemoryEstimate> EstimateServeMemory(const std::vector<fs::path>& model_dirs) {
  MemoryEstimate e;
  e.bytes = kServeBaseBytes;
  for (const fs::path& dir : model_dirs) {
    auto config = model::LoadModelConfig(dir);
    if (!config.ok()) return config.status();
    auto weights = WeightBytes(*config);
    if (!weights.ok()) return weights.status();
    e.weights.emplace_back(dir.string(), *weights);
    e.bytes += 2 * *weights;
  }
  return e;
}

Status CheckMemoryBudget(const MemoryEstimate& estimate, const MemoryLimit& limit) {
  if (limit.bytes >= estimate.bytes) return Status::Ok();
  std::string models;
  for (const auto& [dir, bytes] : estimate.weights) {
    models += (models.empty() ? "" : ", ") + dir + " " + Mib(bytes) + " of fp32 weights";
  }
  return InvalidArgument("the memory limit is " + Mib(limit.bytes) + " (" + limit.source +
                         "), but serving needs more than " + Mib(estimate.bytes) + " (" + models +
                         ", each held twice while it compiles, plus " + Mib(kServeBaseBytes) +
                         " for the process, before any activations); raise the limit (podman/docker --memory, "
                         "Kubernetes resources.limits.memory) or serve fewer models");
}

}  // namespace kamado::serving
