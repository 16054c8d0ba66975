#include "tune/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "perf/monitor.h"
#include "perf/proc_stats.h"

namespace kamado::tune {

namespace fs = std::filesystem;

Result<int> ParsePpid(std::string_view text, std::string_view source) {
  const size_t close = text.rfind(')');
  if (close == std::string_view::npos || close + 4 > text.size()) {
    return InvalidArgument(fmt::format("{}: no ')' closing the command name", source));
  }
  // ") S 1234 ..." : state, then the parent pid.
  std::istringstream in{std::string(text.substr(close + 1))};
  std::string state;
  long ppid = -1;
  if (!(in >> state >> ppid) || ppid < 0) {
    return InvalidArgument(fmt::format("{}: field 4 (ppid) is not a number", source));
  }
  return static_cast<int>(ppid);
}

std::string TailOfFile(const fs::path& path, int lines) {
  std::ifstream in(path);
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) all.push_back(line);
  std::string out;
  for (size_t i = all.size() > static_cast<size_t>(lines) ? all.size() - lines : 0; i < all.size(); ++i) {
    out += all[i] + "\n";
  }
  return out;
}

namespace {

// The port in "... listening on http://HOST:PORT", or 0.
uint16_t PortInLog(const std::string& text) {
  const std::string marker = "listening on http://";
  const size_t at = text.find(marker);
  if (at == std::string::npos) return 0;
  const size_t eol = text.find('\n', at);
  if (eol == std::string::npos) return 0;  // the line is not complete yet
  const std::string url = text.substr(at + marker.size(), eol - at - marker.size());
  const size_t colon = url.rfind(':');
  if (colon == std::string::npos) return 0;
  const int port = std::atoi(url.c_str() + colon + 1);
  return port > 0 && port < 65536 ? static_cast<uint16_t>(port) : 0;
}

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

Result<std::unique_ptr<ServerProcess>> ServerProcess::Start(const fs::path& binary, const fs::path& config,
                                                            const fs::path& log, std::chrono::milliseconds timeout) {
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Unavailable(fmt::format("cannot open {}: {}", log.string(), std::strerror(errno)));
  const size_t log_start = static_cast<size_t>(::lseek(fd, 0, SEEK_END));
  const std::string bin = binary.string(), cfg = config.string();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fd);
    return Unavailable(fmt::format("fork: {}", std::strerror(errno)));
  }
  if (pid == 0) {
    // The server must not outlive a tune that is killed.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    std::vector<char*> argv = {const_cast<char*>(bin.c_str()), const_cast<char*>("serve"),
                               const_cast<char*>("--config"), const_cast<char*>(cfg.c_str()), nullptr};
    ::execv(bin.c_str(), argv.data());
    std::fprintf(stderr, "exec %s: %s\n", bin.c_str(), std::strerror(errno));
    ::_exit(127);
  }
  ::close(fd);
  std::unique_ptr<ServerProcess> server(new ServerProcess(pid, 0));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const std::string text = ReadAll(log);
    const uint16_t port = PortInLog(text.size() > log_start ? text.substr(log_start) : "");
    if (port != 0) {
      server->port_ = port;
      return server;
    }
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      server->stopped_ = true;
      server->status_ = status;
      return Unavailable(fmt::format("kamado serve --config {} exited ({}) before listening:\n{}", cfg,
                                     WIFEXITED(status) ? fmt::format("status {}", WEXITSTATUS(status))
                                                       : fmt::format("signal {}", WTERMSIG(status)),
                                     TailOfFile(log, 8)));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      server->Stop(std::chrono::seconds(5));
      return Unavailable(fmt::format("kamado serve --config {} did not listen within {} ms:\n{}", cfg,
                                     timeout.count(), TailOfFile(log, 8)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

ServerProcess::~ServerProcess() { Stop(); }

std::vector<int> ServerProcess::Pids() const {
  std::vector<int> pids = {pid_};
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    auto text = perf::ReadProcFile(entry.path() / "stat");
    if (!text.ok()) continue;  // gone meanwhile
    auto ppid = ParsePpid(*text, "stat");
    if (ppid.ok() && *ppid == pid_) pids.push_back(std::stoi(name));
  }
  return pids;
}

uint64_t ServerProcess::CpuTicks() const {
  const perf::ProcReader proc;
  uint64_t ticks = 0;
  for (int pid : Pids()) {
    if (auto p = proc.ReadProcess(pid); p.ok()) ticks += p->cpu_ticks;
  }
  return ticks;
}

TreeMemory ServerProcess::Memory() const {
  const perf::ProcReader proc;
  TreeMemory m;
  for (int pid : Pids()) {
    if (auto p = proc.ReadProcess(pid); p.ok()) m.rss_mb += p->rss_kb / 1024.0;
    const fs::path dir = fs::path("/proc") / std::to_string(pid);
    if (auto rollup = perf::ReadProcFile(dir / "smaps_rollup"); rollup.ok()) {
      if (auto kb = perf::KbField(*rollup, "smaps_rollup", "Pss"); kb.ok()) m.pss_mb += *kb / 1024.0;
    }
  }
  return m;
}

int ServerProcess::Stop(std::chrono::milliseconds grace) {
  if (stopped_) return status_;
  // SIGINT: the drain without serve's --drain-delay-s (no load balancer to wait for).
  ::kill(pid_, SIGINT);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      status_ = status;
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      status_ = status;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stopped_ = true;
  return status_;
}

}  // namespace kamado::tune
