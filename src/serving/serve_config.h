// ServeConfig: the settings of `kamado serve`, from its flags and from an
// optional YAML file (`--config FILE.yaml`) whose keys are the flags' names
// with underscores:
//
//   host: 127.0.0.1
//   port: 8080
//   models:                       # --model, repeated; a path or {path: DIR}
//     - models/mobilenet_v2
//     - path: models/inception_v3
//   sessions: 0                   # 0: from the CPU quota
//   threads: 0
//   max_batch: 8
//   batch_delay_us: 2000
//   max_queue: 64
//   timeout_ms: 10000
//   max_body_bytes: 16777216
//   io_threads: 0
//   decode_threads: 0             # 0: half the CPUs, at least 1
//   header_timeout_ms: 30000
//   body_timeout_ms: 30000
//   drain_delay_s: 5              # on SIGTERM: readiness false, still serving, this long
//   drain_timeout_ms: 30000       # then: no new connections, finish within this
//   max_connections: 0            # 0: the open-files limit less 64
//   max_buffered_bytes: 536870912 # request bodies held, all connections
//   max_decode_bytes_per_request: 2147483648
//   max_decode_bytes_in_flight: 1073741824
//   allow_non_finite_inputs: false
//   workers: 1                    # worker processes sharing one compiled model
//   oversubscribe: false          # allow workers × sessions × threads > CPUs
//   pin: false                    # each worker, and each session, on its own CPUs
//   compile_cache: ""             # compiled-model files (default with workers > 1:
//                                 # $XDG_CACHE_HOME/kamado or ~/.cache/kamado)
//   trace: ""                     # FILE: a JSON line per model request (FILE.<i> per worker)
//   precision: ""                 # fp32 | bf16 | int8 | auto for every model; "": each
//                                 # model's kamado.yaml `precision:` (else fp32)
//   allow_ungated: false          # serve bf16/int8 without a passed gate (kamado compare)
//   mirror: ""                    # URL: copy answered /classify requests there (docs/SHADOW.md)
//   mirror_share: 1.0             # (0, 1]: the share of requests copied
//   mirror_queue: 64              # copies waiting to be sent; beyond: dropped and counted
//
// Precedence: built-in defaults < the file < flags given on the command line
// (a `--model` flag replaces the file's whole `models` list). Relative model
// paths are relative to the working directory, as on the command line.
//
// The service settings (sessions … timeout_ms) are server-wide: InferenceService
// applies one ServiceOptions to every model, so a `models` entry holds only its
// path, and a per-model `sessions:` is an error that says so.
//
// Pure functions over values; no I/O except LoadServeConfig reading its file.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "serving/model_service.h"

namespace kamado::serving {

struct ServeConfig {
  std::vector<std::string> models;  // model directories
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: an ephemeral port
  ServiceOptions service;
  size_t max_body_bytes = size_t{16} << 20;
  int io_threads = 0;  // 0: one per CPU the workers use, at least 2
  int header_timeout_ms = 30000;
  int body_timeout_ms = 30000;
  // SIGTERM: readiness answers 503 but requests are still served for this
  // long (a load balancer's health checks, or Kubernetes' endpoint removal,
  // catch up), then the listener closes and what is in flight drains within
  // drain_timeout_ms. SIGINT (Ctrl-C) skips the delay; a second signal ends it.
  int drain_delay_s = 5;
  int drain_timeout_ms = 30000;
  int max_connections = 0;  // 0: the open-files limit less a reserve
  size_t max_buffered_bytes = size_t{512} << 20;
  int workers = 1;             // worker processes (serving/supervisor.h); 1: this process serves
  bool oversubscribe = false;  // allow workers × sessions × threads over the CPUs
  std::string trace;           // a JSON line per model request (serving/request_trace.h); "" = none
  // kamado serve --mirror (shadow/mirror.h): a share of the first model's
  // /classify requests copied to this URL after they were answered.
  std::string mirror;          // "" = none
  double mirror_share = 1.0;   // (0, 1]
  int mirror_queue = 64;       // mirrored requests waiting; beyond: dropped (counted)
};

// Every key a config file may hold, in the order above.
const std::vector<std::string>& ServeConfigKeys();

// The key a long flag sets: "max-batch" → "max_batch", "model" → "models";
// empty for a flag that is not a setting ("config").
std::string ServeConfigKeyForFlag(std::string_view long_flag);

// Parses `yaml` (the text of the file `file`, named in messages) and sets on
// `config` each key it holds; keys it does not hold keep their value. An
// empty document sets nothing. InvalidArgument "FILE:LINE:COLUMN: ..." naming
// the key for: YAML syntax errors, a document that is not a mapping, unknown
// or repeated keys, values of the wrong type or out of range. On error
// `config` may be partly updated.
Status ParseServeConfig(std::string_view yaml, std::string_view file, ServeConfig& config);

// Reads `path`, then ParseServeConfig. NotFound when it cannot be read.
Status LoadServeConfig(const std::filesystem::path& path, ServeConfig& config);

// Copies onto `config` the settings named by `keys` (those given on the
// command line) from `flags`. InvalidArgument for a key not in ServeConfigKeys.
Status OverrideServeConfig(const ServeConfig& flags, const std::vector<std::string>& keys,
                           ServeConfig& config);

// Checks the merged settings: at least one model, every number in its range
// (the same ranges the file parser enforces), and with workers > 1 every
// budget WorkerShare splits at least `workers` (each worker gets some).
// Messages name the key and flag.
Status ValidateServeConfig(const ServeConfig& config);

// The budgets of one of `config.workers` worker processes (--workers P > 1),
// so that the limits the config names hold for the whole server, all
// workers together: each worker gets limit / P (rounded down) of
// max_connections (when set; 0 leaves each process its own open-files
// limit, which is a process's), max_buffered_bytes, max_queue (per model)
// and max_decode_bytes_in_flight. Per-request limits (body, header, rows,
// decode bytes per request) are not split. The rest of `config` unchanged;
// workers ≤ 1: `config` as it is.
ServeConfig WorkerShare(const ServeConfig& config);

}  // namespace kamado::serving
