#include "cli/monitor_command.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <thread>

#include "perf/monitor.h"

namespace kamado::cli {
namespace {

struct MonitorArgs {
  std::vector<int> pids;
  double interval_s = 1.0;
  double duration_s = 0;  // 0: until Ctrl-C
  bool json = false;
};

std::atomic<bool> g_interrupted{false};
extern "C" void OnSigint(int) { g_interrupted.store(true); }

int RunMonitor(const MonitorArgs& args) {
  const perf::ProcReader reader;
  for (int pid : args.pids) {
    auto p = reader.ReadProcess(pid);
    if (!p.ok()) {
      std::cerr << "kamado monitor: " << p.status().message() << "\n";
      return 2;
    }
  }
  std::vector<int> pids = args.pids;
  auto first = reader.Read(pids);
  if (!first.ok()) {
    std::cerr << "kamado monitor: " << first.status().ToString() << "\n";
    return 2;
  }
  g_interrupted = false;
  std::signal(SIGINT, OnSigint);
  std::signal(SIGTERM, OnSigint);
  const long clk_tck = sysconf(_SC_CLK_TCK);
  const auto interval = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(args.interval_s));
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                    std::chrono::duration<double>(args.duration_s));
  if (!args.json) std::cout << perf::FormatHeaderText() << std::flush;
  perf::Snapshot prev = std::move(*first);
  for (auto next = start + interval; !g_interrupted; next += interval) {
    if (args.duration_s > 0 && next > deadline + interval / 2) break;
    // Sleep in short steps so Ctrl-C ends the run promptly.
    while (!g_interrupted && std::chrono::steady_clock::now() < next) {
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          next - std::chrono::steady_clock::now(), std::chrono::milliseconds(50)));
    }
    if (g_interrupted) break;
    auto cur = reader.Read(pids);
    if (!cur.ok()) {
      std::cerr << "kamado monitor: " << cur.status().ToString() << "\n";
      return 1;
    }
    const perf::Sample s = perf::ComputeSample(prev, *cur, clk_tck);
    std::cout << (args.json ? perf::FormatSampleJson(s) + "\n" : perf::FormatSampleText(s))
              << std::flush;
    // Exited pids are reported once, then no longer read.
    std::erase_if(pids, [&](int pid) {
      return std::find(cur->exited.begin(), cur->exited.end(), pid) != cur->exited.end();
    });
    cur->exited.clear();
    prev = std::move(*cur);
  }
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  return 0;
}

}  // namespace

void AddMonitorCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<MonitorArgs>();
  CLI::App* cmd =
      app.add_subcommand("monitor", "sar-like CPU, memory and per-process sampling from /proc");
  cmd->add_option("--pid", args->pids, "Process to follow (CPU% and RSS); repeatable")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--interval", args->interval_s, "Seconds between samples")
      ->check(CLI::Range(0.05, 3600.0));
  cmd->add_option("--duration", args->duration_s, "Stop after this many seconds (0: until Ctrl-C)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--json", args->json, "One JSON object per sample per line");
  cmd->callback([args, &exit_code] { exit_code = RunMonitor(*args); });
}

}  // namespace kamado::cli
