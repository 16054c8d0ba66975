// The compiled-model file: a CompiledModel written once and mapped by every
// process that serves it, so its weights are in physical memory once.
//
// What it holds: the graph after the passes (structure, attributes, and the
// constants that were not reordered, such as biases), and every reordered
// weight in the exact oneDNN layout the plans chose on this CPU, with its
// memory descriptor. A process that loads it rebuilds its primitives (plans
// are not serialisable in oneDNN 2.6) and finds each weight already in the
// layout it asks for, so nothing is imported, folded or reordered again; the
// weight bytes stay in the file's page cache, shared by every mapping.
//
// Layout (native endianness; the key pins the machine kind):
//   "KAMADOC\x01"  u64 metadata bytes  metadata  (pad to 4 KiB)  weight data
//   (4 KiB-aligned pieces)  SHA-256 of every byte before it (32 bytes).
// The metadata is the key (CompiledFileKey), the graph, and the table of
// reordered constants (value id, descriptor, offset, size).
//
// Trust: a file is used only when its checksum holds and its key equals the
// key this process would compile with; anything else (truncated, corrupt,
// foreign, or stale: another model, build, oneDNN, ISA, precision, batch
// sizes or thread count) is an InvalidArgument naming what differs, and the
// caller rebuilds it. The parser bounds-checks every field (it is fuzzed
// with the checksum off: fuzz/fuzz_compiled_file.cc).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "runtime/compiled_model.h"

namespace kamado::runtime {

struct CompiledFileKey {
  std::string model_hash;  // of the model's files (model::HashModelFiles)
  std::string build;       // CurrentBuild().ToString()
  std::string onednn;      // "2.6.0 (52b5f107)"
  std::string isa;         // the ISA oneDNN dispatches to here, e.g. "avx512_core_amx"
  std::string precision = "fp32";  // PrecisionName
  std::vector<int64_t> batches;  // the plans whose weight layouts the file holds
  int threads = 1;               // their thread count
  bool winograd = true;

  bool operator==(const CompiledFileKey&) const = default;
  // The first field that differs from `other`, as "threads 2, not 1"; empty
  // when equal.
  std::string Difference(const CompiledFileKey& other) const;
};

// The key for this process: build, oneDNN and ISA filled in.
CompiledFileKey CurrentCompiledFileKey(std::string model_hash, std::vector<int64_t> batches,
                                       int threads, bool winograd,
                                       Precision precision = Precision::kFp32);

// Writes `model` (every plan of key.batches × key.threads is built first, so
// every layout they use is in the file; one that cannot be built is left
// out, unless it is the first) to `path` atomically: a temporary
// file beside it, renamed over it.
Status WriteCompiledFile(const CompiledModel& model, const CompiledFileKey& key,
                         const std::filesystem::path& path);

// Maps `path` and returns the model it holds, its weights pointing into the
// mapping. InvalidArgument when the file is not a valid compiled file for
// `expected` (the message says why); NotFound when it does not exist.
// An int8 file needs the model's `quantization` (the table it was compiled
// with: its file is among those the key's model hash covers).
Result<std::shared_ptr<const CompiledModel>> LoadCompiledFile(
    const std::filesystem::path& path, const CompiledFileKey& expected,
    std::shared_ptr<const QuantTable> quantization = nullptr);

// The parser alone, over bytes in memory (kept alive by `owner`): the graph
// checked (shape inference, Verify) and the constant table bounds-checked,
// no primitive built. For the fuzzer and tests; `verify_checksum` false
// skips the SHA-256 so mutated inputs reach the parser.
struct ParsedCompiledFile {
  CompiledFileKey key;
  ir::Graph graph;
  struct Constant {
    ir::ValueId value;
    dnnl::memory::desc desc;
    const void* data;
  };
  std::vector<Constant> constants;
};
Result<ParsedCompiledFile> ParseCompiledFile(std::span<const uint8_t> bytes, bool verify_checksum);

}  // namespace kamado::runtime
