#include "cli/serve_command.h"

#include <pthread.h>
#include <signal.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>

#include "cli/precision_flag.h"
#include "core/logging.h"
#include "serving/allocator.h"
#include "serving/http/router.h"
#include "serving/http/http_server.h"
#include "serving/inference_service.h"
#include "serving/metrics.h"
#include "serving/serve_config.h"
#include "serving/cpu_budget.h"
#include "serving/memory_budget.h"
#include "serving/supervisor.h"
#include "serving/metrics_board.h"
#include "shadow/mirror.h"

namespace kamado::cli {
namespace {

// This process's command line, as given (from /proc/self/cmdline).
std::vector<std::string> OwnCommandLine() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> out;
  std::string arg;
  while (std::getline(in, arg, '\0')) out.push_back(arg);
  return out;
}

// Where compiled files go when workers need them and no cache was given.
std::string DefaultCompileCache() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/kamado";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/kamado";
  return "/tmp/kamado-cache";
}

// `--workers P` (P > 1) in the first process: size the workers from the CPU
// budget, refuse to oversubscribe it, and supervise them.
int RunSupervisorFor(const serving::ServeConfig& args, const sigset_t& signals) {
  const serving::CpuBudget budget = serving::DetectCpuBudget();
  const int per_worker_cpus = std::max(1, static_cast<int>(std::floor(budget.cpus / args.workers)));
  const serving::Parallelism p =
      serving::DefaultParallelism(per_worker_cpus, args.service.sessions, args.service.threads);
  const Status fits = serving::CheckCpuBudget(args.workers, p, budget);
  if (!fits.ok() && !args.oversubscribe) {
    std::cerr << "kamado serve: " << fits.message() << "\n";
    return 2;
  }
  spdlog::info("kamado serve: {:.2f} CPUs ({}) → {} workers × {} sessions × {} threads{}", budget.cpus,
               budget.source, args.workers, p.sessions, p.threads, fits.ok() ? "" : " (oversubscribed)");
  serving::SupervisorOptions so;
  so.workers = args.workers;
  if (args.service.pin) {
    // Each worker's process on its own S × T CPUs; within it, --pin (passed
    // on with the rest of the command line) gives each session its own T.
    const std::vector<int> allowed = serving::AllowedCpus();
    for (int w = 0; w < args.workers; ++w) {
      so.worker_cpus.push_back(serving::CpuSlice(allowed, w, p.sessions * p.threads));
      spdlog::info("worker {} pinned to CPUs {}", w, serving::CpuListString(so.worker_cpus.back()));
    }
  }
  so.host = args.host;
  so.port = args.port;
  so.worker_argv = OwnCommandLine();
  so.worker_argv[0] = "/proc/self/exe";
  // The server's budgets are the whole server's: each worker gets its share.
  const serving::ServeConfig share = serving::WorkerShare(args);
  spdlog::info("each worker: {} connections{}, {} bytes of request bodies, {} queued rows per model, {} bytes "
               "decoding (the server's limits / {})",
               share.max_connections, share.max_connections == 0 ? " (its open-files limit)" : "",
               share.max_buffered_bytes, share.service.max_queue, share.service.max_decode_bytes_in_flight,
               args.workers);
  for (const std::string& extra :
       {std::string("--workers"), std::string("1"), std::string("--sessions"), std::to_string(p.sessions),
        std::string("--threads"), std::to_string(p.threads), std::string("--compile-cache"),
        args.service.compile_cache.empty() ? DefaultCompileCache() : args.service.compile_cache,
        std::string("--max-connections"), std::to_string(share.max_connections),
        std::string("--max-buffered-bytes"), std::to_string(share.max_buffered_bytes),
        std::string("--max-queue"), std::to_string(share.service.max_queue),
        std::string("--max-decode-bytes-in-flight"), std::to_string(share.service.max_decode_bytes_in_flight)}) {
    so.worker_argv.push_back(extra);
  }
  // The exec'd path must name this binary even after /proc/self changes
  // meaning in the child: resolve it now.
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) so.worker_argv[0] = self.string();
  return serving::RunSupervisor(so, signals);
}

int RunServe(const serving::ServeConfig& args, const std::string& config_file) {
  // Signals are taken synchronously by this thread (sigwait); every thread
  // started from here on inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  if (spdlog::get_level() > spdlog::level::info) spdlog::set_level(spdlog::level::info);
  if (!config_file.empty()) spdlog::info("kamado serve: settings from {}", config_file);
  const char* worker_index = std::getenv(serving::kWorkerIndexEnv);
  if (worker_index == nullptr) {
    // Under a memory limit (a container's --memory), refuse models that
    // cannot fit before loading them, rather than be OOM-killed mid-load.
    if (const auto limit = serving::DetectMemoryLimit()) {
      std::vector<std::filesystem::path> dirs(args.models.begin(), args.models.end());
      auto estimate = serving::EstimateServeMemory(dirs);
      if (!estimate.ok()) {
        std::cerr << "kamado serve: " << estimate.status().ToString() << "\n";
        return 2;
      }
      if (Status s = serving::CheckMemoryBudget(*estimate, *limit); !s.ok()) {
        std::cerr << "kamado serve: " << s.message() << "\n";
        return 2;
      }
      spdlog::info("kamado serve: memory limit {:.0f} MiB ({}); the models need more than {:.0f} MiB",
                   limit->bytes / 1048576.0, limit->source, estimate->bytes / 1048576.0);
    }
  }
  if (worker_index == nullptr && args.workers > 1) return RunSupervisorFor(args, signals);
  // Detected once (cgroup files and the affinity mask), for the check below
  // and the service's sizing.
  serving::ServiceOptions service_options = args.service;
  service_options.cpu_budget = serving::DetectCpuBudget();
  if (worker_index == nullptr && !args.oversubscribe) {
    // One process: sessions × threads within the CPUs, as for P workers.
    const serving::CpuBudget& budget = *service_options.cpu_budget;
    const Status fits = serving::CheckCpuBudget(
        1, serving::DefaultParallelism(budget.cpus, args.service.sessions, args.service.threads), budget);
    if (!fits.ok()) {
      std::cerr << "kamado serve: " << fits.message() << "\n";
      return 2;
    }
  }

  serving::ConfigureAllocator();
  serving::Metrics metrics;
  // A worker of `--workers P`: every scrape answers the whole server's sums.
  auto board = serving::MetricsBoard::FromEnv();
  if (!board.ok()) {
    std::cerr << "kamado serve: " << board.status().message() << "\n";
    return 2;
  }
  const int index = worker_index ? std::atoi(worker_index) : 0;
  std::unique_ptr<serving::MetricsPublisher> publisher;
  if (*board) {
    serving::MetricsBoard* b = board->get();
    metrics.SetAggregator([b, index](const std::string& local) {
      return b->Aggregate(index, local, std::chrono::milliseconds(1000));
    });
  }
  std::vector<std::filesystem::path> dirs(args.models.begin(), args.models.end());
  auto service = serving::InferenceService::Create(dirs, service_options, &metrics);
  if (!service.ok()) {
    std::cerr << "kamado serve: " << service.status().ToString() << "\n";
    return 2;
  }
  std::unique_ptr<serving::RequestTrace> trace;
  if (!args.trace.empty()) {
    const std::string path = worker_index ? args.trace + "." + worker_index : args.trace;
    auto opened = serving::RequestTrace::Open(path, index);
    if (!opened.ok()) {
      std::cerr << "kamado serve: " << opened.status().message() << "\n";
      return 2;
    }
    trace = std::move(opened).value();
    spdlog::info("tracing every model request to {}", path);
  }
  // --mirror: a share of the first model's answered /classify requests
  // copied to another server and compared (shadow/mirror.h).
  std::unique_ptr<shadow::Mirror> mirror;
  if (!args.mirror.empty()) {
    const serving::ServedModel* first = (*service)->models().front();
    auto m = shadow::StartHttpMirror(args.mirror, first->name(), first->config().labels, args.mirror_share,
                                     static_cast<size_t>(args.mirror_queue), std::chrono::seconds(10));
    if (!m.ok()) {
      std::cerr << "kamado serve: " << m.status().message() << "\n";
      return 2;
    }
    mirror = std::move(m).value();
    shadow::Mirror* tap = mirror.get();
    metrics.AddTextSource([tap] { return tap->RenderMetrics(); });
    spdlog::info("mirroring {:g}% of model '{}' /classify requests to {} (queue {})", 100 * args.mirror_share,
                 first->name(), args.mirror, args.mirror_queue);
  }
  serving::http::Router router(**service, metrics, trace.get(), mirror.get());
  serving::http::HttpServerOptions http;
  http.host = args.host;
  http.port = static_cast<uint16_t>(args.port);
  http.max_body_bytes = args.max_body_bytes;
  // I/O threads read, parse and serialise; images decode on the service's
  // decode threads.
  http.io_threads = args.io_threads > 0
                        ? args.io_threads
                        : std::max(2, (*service)->sessions() * (*service)->threads());
  http.header_timeout = std::chrono::milliseconds(args.header_timeout_ms);
  http.body_timeout = std::chrono::milliseconds(args.body_timeout_ms);
  http.max_connections = args.max_connections;
  http.max_buffered_bytes = args.max_buffered_bytes;
  http.on_rejected = [&metrics](int status) { metrics.CountRequest("", status, 0); };
  http.check_head = router.AsHeadCheck();
  if (worker_index != nullptr) {
    // A worker of `--workers P`: accept from the supervisor's socket, and
    // say in every response which worker answered.
    const char* fd = std::getenv(serving::kListenFdEnv);
    http.listen_fd = fd ? std::atoi(fd) : -1;
    http.response_headers.emplace_back("X-Kamado-Worker", worker_index);
  }
  serving::http::HttpServer server(http, router.AsHandler());
  if (Status s = server.Start(); !s.ok()) {
    std::cerr << "kamado serve: " << s.ToString() << "\n";
    return 2;
  }
  spdlog::info("{} I/O threads, {} decode threads, max body {} bytes, max {} connections", http.io_threads,
               (*service)->decode_threads(), http.max_body_bytes, server.max_connections());
  // Memory back to the system after a burst: see serving/allocator.h.
  serving::AllocatorTrimmer trimmer(
      std::chrono::seconds(1), [&metrics] { return metrics.requests_answered(); },
      [&metrics, &server] { return metrics.in_flight().load() == 0 && server.stats().buffered_bytes == 0; });
  if (worker_index == nullptr) {
    std::cout << "kamado serve: listening on http://" << args.host << ":" << server.port() << "\n"
              << std::flush;
  } else {
    spdlog::info("worker {} ready", worker_index);
    if (*board) {
      publisher = std::make_unique<serving::MetricsPublisher>(
          board->get(), index, std::chrono::milliseconds(250), [&metrics] { return metrics.RenderLocal(); });
    }
    serving::NotifyWorkerReady();
  }

  int sig = 0;
  sigwait(&signals, &sig);
  if (sig == SIGTERM && args.drain_delay_s > 0) {
    // Readiness first, the listener later: a load balancer (HAProxy's health
    // check, Kubernetes' endpoint removal) stops sending during the delay,
    // and what it still sends meanwhile is served.
    (*service)->NotReady();
    spdlog::info("SIGTERM: readiness false; still serving for {} s (--drain-delay-s), then draining",
                 args.drain_delay_s);
    const timespec delay{args.drain_delay_s, 0};
    if (const int again = sigtimedwait(&signals, nullptr, &delay); again > 0) {
      spdlog::info("{} during the drain delay: draining now", again == SIGTERM ? "SIGTERM" : "SIGINT");
    }
  }
  spdlog::info("{}: draining (readiness false, no new connections)", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  (*service)->BeginShutdown();
  const bool clean = server.Shutdown(std::chrono::milliseconds(args.drain_timeout_ms));
  publisher.reset();  // it renders the service's queue depths: stop it before the service goes
  if (mirror) mirror->Stop();
  (*service)->Shutdown();
  spdlog::info("stopped{}", clean ? "" : " (drain deadline passed)");
  if (worker_index == nullptr) std::cout << "kamado serve: stopped\n" << std::flush;
  return 0;
}

}  // namespace

// Flags parse into `flags`; the callback merges defaults < --config file <
// the flags actually given (CLI11's count()), then validates.
void AddServeCommand(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<serving::ServeConfig>();
  auto config_file = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("serve", "Serve models over HTTP (Open Inference Protocol v2)");
  cmd->add_option("--config", *config_file,
                  "YAML file of settings, keys as the flags with '_' (flags given override it)");
  cmd->add_option("--model", flags->models, "Model directory (repeat for several models)");
  cmd->add_option("--host", flags->host, "Address to listen on");
  cmd->add_option("--port", flags->port, "Port (0: an ephemeral port, printed)");
  // The supervisor of --workers appends its choices of these (and of each
  // worker's share of the budgets below) to the workers' command lines: the
  // last one given wins.
  cmd->add_option("--sessions", flags->service.sessions,
                  "Sessions (worker threads) per model; 0: from the CPU quota")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cmd->add_option("--threads", flags->service.threads,
                  "Intra-op threads per session; 0: from the CPU quota")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cmd->add_option("--max-batch", flags->service.max_batch, "Largest dynamic batch");
  cmd->add_option("--batch-delay-us", flags->service.batch_delay_us,
                  "How long a batch may wait to fill, in µs");
  cmd->add_option("--max-queue", flags->service.max_queue, "Rows (images) waiting per model before 503 (all workers together)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cmd->add_option("--timeout-ms", flags->service.timeout_ms,
                  "A request not started within this of its header's read gets 504 (0: no limit)");
  cmd->add_option("--max-body-bytes", flags->max_body_bytes, "Largest request body (413 above)");
  cmd->add_option("--io-threads", flags->io_threads,
                  "HTTP I/O threads; 0: one per CPU used, at least 2");
  cmd->add_option("--decode-threads", flags->service.decode_threads,
                  "Image decode threads; 0: half the CPUs, at least 1");
  cmd->add_option("--header-timeout-ms", flags->header_timeout_ms,
                  "Header read / keep-alive idle timeout");
  cmd->add_option("--body-timeout-ms", flags->body_timeout_ms, "Body read timeout");
  cmd->add_option("--drain-delay-s", flags->drain_delay_s,
                  "On SIGTERM, readiness false but still serving for this long before draining "
                  "(SIGINT: none)");
  cmd->add_option("--drain-timeout-ms", flags->drain_timeout_ms,
                  "Then, how long to finish requests");
  cmd->add_option("--max-connections", flags->max_connections,
                  "Open connections before 503, all workers together (0: each process's open-files limit less 64)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cmd->add_option("--max-buffered-bytes", flags->max_buffered_bytes,
                  "Request body bytes all connections (all workers) may hold together before 503")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cmd->add_option("--max-decode-bytes-per-request", flags->service.max_decode_bytes_per_request,
                  "Image decode memory one request may need in all (413 above)");
  cmd->add_option("--max-decode-bytes-in-flight", flags->service.max_decode_bytes_in_flight,
                  "Image decode memory of all requests at once, all workers together (503 above)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cmd->add_option("--workers", flags->workers,
                  "Worker processes sharing one compiled model per model (1: this process serves)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cmd->add_flag("--oversubscribe", flags->oversubscribe,
                "Allow workers × sessions × threads over the CPUs this process may use");
  cmd->add_flag("--pin", flags->service.pin,
                "Each worker on its own sessions × threads CPUs, each session's threads on its own "
                "threads CPUs (I/O and decode threads share the worker's)");
  cmd->add_option("--compile-cache", flags->service.compile_cache,
                  "Directory of compiled-model files (reused when valid, rebuilt when stale); "
                  "default with --workers > 1: ~/.cache/kamado")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cmd->add_option("--trace", flags->trace,
                  "Append a JSON line per model request (arrival, decode, queue, run, batch) to FILE "
                  "(FILE.<i> per worker)");
  AddPrecisionFlag(cmd, &flags->service.precision)
      ->description("fp32 | bf16 | int8 | auto for every model; auto: the fastest whose gate "
                    "passed here, one process only (default: each model's kamado.yaml "
                    "`precision:`, else fp32)");
  cmd->add_flag("--allow-ungated", flags->service.allow_ungated,
                "Serve a bf16/int8 model whose gate (kamado compare) failed or never ran on this CPU");
  cmd->add_option("--mirror", flags->mirror,
                  "Copy answered /classify requests of the first model to this URL (any `kamado shadow` "
                  "endpoint) in the background and compare its answers: /metrics kamado_mirror_*, GET /v2/mirror")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cmd->add_option("--mirror-share", flags->mirror_share, "The share of requests --mirror copies, in (0, 1]")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cmd->add_option("--mirror-queue", flags->mirror_queue,
                  "Copies waiting to be sent; beyond it one is dropped and counted (never queued without bound)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cmd->add_flag("--allow-non-finite-inputs", flags->service.allow_non_finite_inputs,
                "Accept NaN and infinity in FP32 tensors (refused with 400 by default)");
  cmd->callback([cmd, flags, config_file, &exit_code] {
    serving::ServeConfig config;
    if (!config_file->empty()) {
      if (Status s = serving::LoadServeConfig(*config_file, config); !s.ok()) {
        std::cerr << "kamado serve: " << s.message() << "\n";
        exit_code = 2;
        return;
      }
    }
    std::vector<std::string> given;
    for (const CLI::Option* opt : cmd->get_options()) {
      if (opt->count() == 0 || opt->get_lnames().empty()) continue;
      const std::string key = serving::ServeConfigKeyForFlag(opt->get_lnames().front());
      if (!key.empty() && key != "help") given.push_back(key);
    }
    Status s = serving::OverrideServeConfig(*flags, given, config);
    if (s.ok()) s = serving::ValidateServeConfig(config);
    if (!s.ok()) {
      std::cerr << "kamado serve: " << s.message() << "\n";
      exit_code = 2;
      return;
    }
    exit_code = RunServe(config, *config_file);
  });
}

}  // namespace kamado::cli
