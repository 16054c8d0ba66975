// Loading a model directory: kamado.yaml → importer → passes → CompiledModel,
// and the product's policy for what a served model is (one image input of
// 3 channels, as large as kamado.yaml says; one output per label).
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <memory>

#include "core/result.h"
#include "ir/graph.h"
#include "model/model_config.h"
#include "runtime/compiled_file.h"
#include "runtime/compiled_model.h"

namespace kamado::model {

struct LoadedModel {
  ModelConfig config;
  std::shared_ptr<const runtime::CompiledModel> compiled;
  // With a compiled cache: the file the model was mapped from, and how it
  // got there: "reused", "compiled" (no file yet) or "rebuilt (<why>)".
  std::filesystem::path compiled_file;
  std::string compiled_how;
};

// Where compiled files live (runtime/compiled_file.h): `dir`/<name>.kmc,
// holding the weight layouts of the plans for `batches` at the compile
// options' thread count (which must be set, > 0).
struct CompiledCache {
  std::filesystem::path dir;
  std::vector<int64_t> batches = {1};
  std::filesystem::path file;  // overrides dir/<name>.kmc when set (`kamado compile -o`)
};

// SHA-256 (hex) over the model directory's regular files, walked in sorted
// order, each as its relative path, size and bytes; names starting with '.'
// and compiled files (*.kmc) are left out.
Result<std::string> HashModelFiles(const std::filesystem::path& dir);

// The compiled file's path for a model named `name` at `precision` in
// `cache`: <name>.kmc for fp32, <name>.<precision>.kmc otherwise, so one
// cache holds a model at several precisions side by side.
std::filesystem::path CompiledFilePath(const CompiledCache& cache, const std::string& name,
                                       runtime::Precision precision = runtime::Precision::kFp32);

// The model file of `config` as an IR graph (no passes run), its input
// checked against the config's height, width and layout.
Result<ir::Graph> ImportModel(const ModelConfig& config);

// Everything: config, import, compile. Errors are prefixed with the directory.
// The precision is `options.precision` when set, else the config's
// `precision:` (fp32 when absent); the loaded config's `precision` says
// which was used.
//
// With `cache`: a valid compiled file for this model and key is mapped
// instead (nothing imported or reordered); a missing, stale, truncated or
// corrupt one is rebuilt (with a warning saying why) and then mapped, so
// every process that loads the model shares one copy of its weights. An
// exclusive lock on <file>.lock serialises processes that load the same
// model at once: one compiles, the others map its file. A cache directory
// that cannot be written costs the sharing, not the load (a warning, and
// the model compiled in memory is served).
Result<LoadedModel> LoadModel(const std::filesystem::path& dir,
                              const runtime::CompileOptions& options = {},
                              const CompiledCache* cache = nullptr);

// `--precision auto`: LoadModel at each precision GatedPrecisions allows
// here (fp32 alone when no reduced one passed its gate on this ISA), a
// batch-1 run of each timed (3 untimed, then the median of 9, with
// `options.threads`), and the fastest kept. `options.precision` is ignored.
// `chosen` (optional) gets the choice in words ("bf16 (bf16 7.9 ms, fp32
// 35.2 ms at batch 1)"). `now_ms` is the clock (steady_clock when empty),
// for tests.
Result<LoadedModel> LoadModelAutoPrecision(const std::filesystem::path& dir,
                                           const runtime::CompileOptions& options,
                                           const CompiledCache* cache, std::string* chosen,
                                           const std::function<double()>& now_ms = {});

}  // namespace kamado::model
