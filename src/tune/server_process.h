// A real `kamado serve` as a child process, for `kamado tune`: started with a
// config file on an ephemeral loopback port, its address read from what it
// prints, its processes (the supervisor and its workers) watched for CPU and
// memory, stopped with SIGINT (a drain without the drain delay; SIGKILL after a grace period).
//
// Not thread-safe: one owner.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace kamado::tune {

// Memory of a set of processes, summed.
struct TreeMemory {
  double rss_mb = 0;
  double pss_mb = 0;  // 0 where smaps_rollup cannot be read
};

// The parent pid in the text of /proc/PID/stat (field 4, after the comm's
// closing parenthesis). InvalidArgument naming `source` when malformed.
Result<int> ParsePpid(std::string_view text, std::string_view source);

class ServerProcess {
 public:
  // Runs `binary serve --config config ...extra` with stdout and stderr
  // appended to `log`, and waits until it prints "listening on http://H:P"
  // (the single-process and the supervisor's line). Unavailable with the
  // log's last lines when it exits first or `timeout` passes (then it is
  // killed).
  static Result<std::unique_ptr<ServerProcess>> Start(const std::filesystem::path& binary,
                                                      const std::filesystem::path& config,
                                                      const std::filesystem::path& log,
                                                      std::chrono::milliseconds timeout);
  ~ServerProcess();  // Stop()
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }

  // This process and its children (the workers of a supervisor).
  std::vector<int> Pids() const;
  // CPU ticks (utime + stime) of Pids(), summed (perf::ProcReader).
  uint64_t CpuTicks() const;
  TreeMemory Memory() const;

  // SIGINT, then waits up to `grace` for the exit (SIGKILL after). Returns
  // the exit status as waitpid reports it; idempotent.
  int Stop(std::chrono::milliseconds grace = std::chrono::seconds(30));

 private:
  ServerProcess(pid_t pid, uint16_t port) : pid_(pid), port_(port) {}
  pid_t pid_;
  uint16_t port_;
  bool stopped_ = false;
  int status_ = 0;
};

// The last `lines` lines of the file at `path` ("" when unreadable).
std::string TailOfFile(const std::filesystem::path& path, int lines);

}  // namespace kamado::tune
