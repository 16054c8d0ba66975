#include "cli/serve_command.h"

#include <pthread.h>
#include <signal.h>

#include <iostream>
#include <thread>

#include "core/logging.h"
#include "serving/http/routes.h"
#include "serving/http/server.h"
#include "serving/inference_service.h"
#include "serving/metrics.h"

namespace kamado::cli {
namespace {

struct ServeArgs {
  std::vector<std::string> models;
  std::string host = "127.0.0.1";
  int port = 8080;
  serving::ServiceOptions service;
  size_t max_body_bytes = size_t{16} << 20;
  int io_threads = 0;
  int header_timeout_ms = 30000;
  int body_timeout_ms = 30000;
  int drain_timeout_ms = 30000;
};

int RunServe(ServeArgs args) {
  // Signals are taken synchronously by this thread (sigwait); every thread
  // started from here on inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  if (spdlog::get_level() > spdlog::level::info) spdlog::set_level(spdlog::level::info);

  serving::Metrics metrics;
  std::vector<std::filesystem::path> dirs(args.models.begin(), args.models.end());
  auto service = serving::InferenceService::Create(dirs, args.service, &metrics);
  if (!service.ok()) {
    std::cerr << "kamado serve: " << service.status().ToString() << "\n";
    return 2;
  }
  serving::http::Router router(**service, metrics);
  serving::http::HttpServerOptions http;
  http.host = args.host;
  http.port = static_cast<uint16_t>(args.port);
  http.max_body_bytes = args.max_body_bytes;
  // I/O threads also decode and preprocess images.
  http.io_threads = args.io_threads > 0
                        ? args.io_threads
                        : std::max(2, (*service)->sessions() * (*service)->threads());
  http.header_timeout = std::chrono::milliseconds(args.header_timeout_ms);
  http.body_timeout = std::chrono::milliseconds(args.body_timeout_ms);
  http.on_rejected = [&metrics](int status) { metrics.CountRequest("", status, 0); };
  serving::http::HttpServer server(
      http, [&router](serving::http::Request&& req, serving::http::Responder respond) {
        router.Handle(std::move(req), std::move(respond));
      });
  if (Status s = server.Start(); !s.ok()) {
    std::cerr << "kamado serve: " << s.ToString() << "\n";
    return 2;
  }
  spdlog::info("{} I/O threads, max body {} bytes", http.io_threads, http.max_body_bytes);
  std::cout << "kamado serve: listening on http://" << args.host << ":" << server.port() << "\n"
            << std::flush;

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("{}: draining (readiness false, no new connections)", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  (*service)->BeginShutdown();
  const bool clean = server.Shutdown(std::chrono::milliseconds(args.drain_timeout_ms));
  (*service)->Shutdown();
  spdlog::info("stopped{}", clean ? "" : " (drain deadline passed)");
  std::cout << "kamado serve: stopped\n" << std::flush;
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand("serve", "Serve models over HTTP (Open Inference Protocol v2)");
  cmd->add_option("--model", args->models, "Model directory (repeat for several models)")->required();
  cmd->add_option("--host", args->host, "Address to listen on");
  cmd->add_option("--port", args->port, "Port (0: an ephemeral port, printed)")->check(CLI::Range(0, 65535));
  cmd->add_option("--sessions", args->service.sessions, "Sessions (worker threads) per model; 0: from the CPU quota");
  cmd->add_option("--threads", args->service.threads, "Intra-op threads per session; 0: from the CPU quota");
  cmd->add_option("--max-batch", args->service.max_batch, "Largest dynamic batch")->check(CLI::Range(1, 256));
  cmd->add_option("--batch-delay-us", args->service.batch_delay_us,
                  "How long a batch may wait to fill, in µs")->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-queue", args->service.max_queue, "Requests waiting per model before 503");
  cmd->add_option("--timeout-ms", args->service.timeout_ms,
                  "A request not started within this gets 504 (0: no limit)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-body-bytes", args->max_body_bytes, "Largest request body (413 above)");
  cmd->add_option("--io-threads", args->io_threads, "HTTP I/O (and decode) threads; 0: one per CPU used");
  cmd->add_option("--header-timeout-ms", args->header_timeout_ms, "Header read / keep-alive idle timeout");
  cmd->add_option("--body-timeout-ms", args->body_timeout_ms, "Body read timeout");
  cmd->add_option("--drain-timeout-ms", args->drain_timeout_ms, "On SIGTERM, how long to finish requests");
  cmd->callback([args, &exit_code] { exit_code = RunServe(*args); });
}

}  // namespace kamado::cli
