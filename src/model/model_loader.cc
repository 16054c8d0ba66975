#include "model/model_loader.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <fstream>

#include "core/sha256.h"
#include "model/precision_gate.h"
#include "model/quantize.h"
#include "runtime/session.h"
#include "importers/onnx/onnx_importer.h"
#include "importers/tfjs/tfjs_importer.h"

namespace kamado::model {

Result<ir::Graph> ImportModel(const ModelConfig& config) {
  Result<ir::Graph> imported = config.format == ModelFormat::kTfjs
                                   ? importers::ImportTfjsModel(config.model_path())
                                   : importers::ImportOnnxModel(config.model_path());
  ASSIGN_OR_RETURN(ir::Graph graph, std::move(imported));
  if (graph.name.empty()) graph.name = config.name;
  if (graph.inputs().size() != 1) {
    return Unsupported("model has " + std::to_string(graph.inputs().size()) +
                       " inputs; image classifiers with one input are supported");
  }
  if (graph.input_layout != config.layout) {
    return InvalidArgument("kamado.yaml key 'input.layout' does not match the model's layout");
  }
  const Shape& s = graph.value(graph.inputs()[0]).shape;  // logical [N, C, H, W]
  if (s.size() != 4 || s[1] != 3 || s[2] != config.height || s[3] != config.width) {
    return InvalidArgument("kamado.yaml says input " + std::to_string(config.height) + "x" +
                           std::to_string(config.width) + "x3, the model's input is " +
                           ShapeToString(s) + " (N, C, H, W)");
  }
  return graph;
}

namespace {

Status CheckLabels(const LoadedModel& loaded, const std::filesystem::path& dir) {
  const auto& out = loaded.compiled->outputs();
  if (!loaded.config.labels.empty() &&
      (out.size() != 1 || out[0].shape.size() != 2 ||
       out[0].shape[1] != static_cast<int64_t>(loaded.config.labels.size()))) {
    return InvalidArgument("model '" + dir.string() + "': kamado.yaml lists " +
                           std::to_string(loaded.config.labels.size()) +
                           " labels but the output is " +
                           (out.empty() ? "missing" : ShapeToString(out[0].shape)));
  }
  return Status::Ok();
}

Result<std::shared_ptr<const runtime::CompiledModel>> CompileInMemory(
    const ModelConfig& config, const std::filesystem::path& dir,
    const runtime::CompileOptions& options) {
  auto graph = ImportModel(config);
  if (!graph.ok()) return graph.status().WithPrefix("model '" + dir.string() + "'");
  graph->name = config.name;
  auto compiled = runtime::CompiledModel::Compile(std::move(graph).value(), options);
  if (!compiled.ok()) return compiled.status().WithPrefix("model '" + dir.string() + "'");
  return compiled;
}

// An exclusive flock on `path`, released (and the descriptor closed) when
// the object goes.
class FileLock {
 public:
  explicit FileLock(const std::filesystem::path& path)
      : fd_(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (fd_ >= 0) flock(fd_, LOCK_EX);
  }
  ~FileLock() {
    if (fd_ >= 0) close(fd_);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

}  // namespace

Result<std::string> HashModelFiles(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.empty() && name[0] == '.') {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec) && it->path().extension() != ".kmc") files.push_back(it->path());
  }
  if (ec) return InvalidArgument("cannot list model directory " + dir.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());
  Sha256 h;
  std::vector<char> buf(size_t{1} << 20);
  for (const fs::path& f : files) {
    const std::string rel = fs::relative(f, dir).generic_string();
    const uint64_t size = fs::file_size(f, ec);
    h.Update(rel.data(), rel.size() + 1);
    h.Update(&size, sizeof(size));
    std::ifstream in(f, std::ios::binary);
    if (!in) return InvalidArgument("cannot read " + f.string());
    while (in) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      h.Update(buf.data(), static_cast<size_t>(in.gcount()));
    }
  }
  return ToHex(h.Final());
}

std::filesystem::path CompiledFilePath(const CompiledCache& cache, const std::string& name,
                                       runtime::Precision precision) {
  if (!cache.file.empty()) return cache.file;
  if (precision == runtime::Precision::kFp32) return cache.dir / (name + ".kmc");
  return cache.dir / (name + "." + std::string(runtime::PrecisionName(precision)) + ".kmc");
}

Result<LoadedModel> LoadModel(const std::filesystem::path& dir,
                              const runtime::CompileOptions& requested, const CompiledCache* cache) {
  LoadedModel loaded;
  ASSIGN_OR_RETURN(loaded.config, LoadModelConfig(dir));
  runtime::CompileOptions options = requested;
  if (!options.precision) options.precision = loaded.config.precision;
  loaded.config.precision = *options.precision;
  if (*options.precision == runtime::Precision::kInt8 && options.quantization == nullptr) {
    auto table = ReadQuantTable(loaded.config);
    if (!table.ok()) return table.status().WithPrefix("model '" + dir.string() + "'");
    options.quantization = *table;
  }
  if (cache == nullptr) {
    ASSIGN_OR_RETURN(loaded.compiled, CompileInMemory(loaded.config, dir, options));
    RETURN_IF_ERROR(CheckLabels(loaded, dir));
    return loaded;
  }
  if (options.threads <= 0) return InvalidArgument("a compiled cache needs the thread count set");
  auto hash = HashModelFiles(dir);
  if (!hash.ok()) return hash.status().WithPrefix("model '" + dir.string() + "'");
  const runtime::CompiledFileKey key =
      runtime::CurrentCompiledFileKey(*hash, cache->batches, options.threads, options.winograd,
                                      *options.precision);
  const std::filesystem::path path = CompiledFilePath(*cache, loaded.config.name, *options.precision);
  std::error_code ec;
  if (!path.parent_path().empty()) std::filesystem::create_directories(path.parent_path(), ec);
  FileLock lock(path.string() + ".lock");
  auto mapped = runtime::LoadCompiledFile(path, key, options.quantization);
  if (mapped.ok()) {
    loaded.compiled = *mapped;
    loaded.compiled_file = path;
    loaded.compiled_how = "reused";
    RETURN_IF_ERROR(CheckLabels(loaded, dir));
    return loaded;
  }
  const bool missing = mapped.status().code() == StatusCode::kNotFound;
  if (!missing) spdlog::warn("model '{}': rebuilding: {}", loaded.config.name, mapped.status().message());
  ASSIGN_OR_RETURN(auto compiled, CompileInMemory(loaded.config, dir, options));
  loaded.compiled = compiled;
  RETURN_IF_ERROR(CheckLabels(loaded, dir));
  if (Status written = runtime::WriteCompiledFile(*compiled, key, path); !written.ok()) {
    spdlog::warn("model '{}': {}; serving the model compiled in memory (not shared)",
                 loaded.config.name, written.message());
    return loaded;
  }
  // Serve from the file just written, so this process shares its weights
  // with every other that maps it; the in-memory copy is released.
  loaded.compiled.reset();
  compiled.reset();
  auto reread = runtime::LoadCompiledFile(path, key, options.quantization);
  if (!reread.ok()) return reread.status().WithPrefix("model '" + dir.string() + "'");
  loaded.compiled = *reread;
  loaded.compiled_file = path;
  loaded.compiled_how = missing ? "compiled" : "rebuilt (" + mapped.status().message() + ")";
  return loaded;
}

Result<LoadedModel> LoadModelAutoPrecision(const std::filesystem::path& dir,
                                           const runtime::CompileOptions& options,
                                           const CompiledCache* cache, std::string* chosen,
                                           const std::function<double()>& now_ms) {
  auto hash = HashModelFiles(dir);
  if (!hash.ok()) return hash.status().WithPrefix("model '" + dir.string() + "'");
  const std::vector<runtime::Precision> candidates =
      GatedPrecisions(dir, runtime::EffectiveIsaName(), *hash);
  const std::function<double()> clock =
      now_ms ? now_ms : [] {
        return std::chrono::duration<double, std::milli>(
                   std::chrono::steady_clock::now().time_since_epoch())
            .count();
      };
  std::optional<LoadedModel> best;
  std::vector<TimedPrecision> timed;
  std::string words;
  for (runtime::Precision p : candidates) {
    runtime::CompileOptions o = options;
    o.precision = p;
    ASSIGN_OR_RETURN(LoadedModel m, LoadModel(dir, o, cache));
    double ms = 0;
    if (candidates.size() > 1) {
      runtime::Session session(m.compiled, {.threads = options.threads});
      const Tensor input(m.config.InputShape(1));
      std::vector<double> runs;
      for (int i = 0; i < 12; ++i) {
        const double t0 = clock();
        auto out = session.Run({input});
        if (!out.ok()) return out.status().WithPrefix("model '" + dir.string() + "'");
        if (i >= 3) runs.push_back(clock() - t0);
      }
      std::nth_element(runs.begin(), runs.begin() + runs.size() / 2, runs.end());
      ms = runs[runs.size() / 2];
      words += fmt::format("{}{} {:.1f} ms", words.empty() ? "" : ", ",
                           runtime::PrecisionName(p), ms);
    }
    timed.push_back({p, ms});
    if (Fastest(timed) == p) best = std::move(m);
  }
  if (chosen != nullptr) {
    *chosen = std::string(runtime::PrecisionName(best->config.precision)) +
              (candidates.size() > 1 ? " (" + words + " at batch 1)"
                                     : " (no reduced precision passed its gate on this CPU)");
  }
  return std::move(*best);
}

}  // namespace kamado::model
