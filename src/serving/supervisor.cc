#include "serving/supervisor.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sched.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>

#include "serving/metrics_board.h"

namespace kamado::serving {
namespace {

using Clock = std::chrono::steady_clock;

struct Worker {
  pid_t pid = -1;
  Clock::time_point started;
  bool ever_ready = false;
  std::chrono::milliseconds backoff{0};
  std::optional<Clock::time_point> restart_at;
};

// A listening TCP socket on host:port (IPv4 or IPv6), inheritable (no
// CLOEXEC) so workers can accept from it.
Result<int> Listen(const std::string& host, int port, int* bound_port) {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family = AF_INET;
  if (inet_pton(AF_INET, host.c_str(), &reinterpret_cast<sockaddr_in*>(&addr)->sin_addr) == 1) {
    auto* a = reinterpret_cast<sockaddr_in*>(&addr);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host.c_str(), &reinterpret_cast<sockaddr_in6*>(&addr)->sin6_addr) == 1) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<uint16_t>(port));
    family = AF_INET6;
    len = sizeof(sockaddr_in6);
  } else {
    return InvalidArgument("'" + host + "' is not an IP address");
  }
  const int fd = socket(family, SOCK_STREAM, 0);
  if (fd < 0) return Unavailable(std::string("socket: ") + std::strerror(errno));
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || listen(fd, SOMAXCONN) != 0) {
    const std::string why = std::strerror(errno);
    close(fd);
    return Unavailable("cannot listen on " + host + ":" + std::to_string(port) + ": " + why);
  }
  sockaddr_storage got{};
  socklen_t got_len = sizeof(got);
  getsockname(fd, reinterpret_cast<sockaddr*>(&got), &got_len);
  *bound_port = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&got)->sin_port
                                        : reinterpret_cast<sockaddr_in6*>(&got)->sin6_port);
  return fd;
}

pid_t Spawn(const SupervisorOptions& options, int index, int listen_fd, int ready_fd, int metrics_fd) {
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  const bool pin = static_cast<size_t>(index) < options.worker_cpus.size();
  if (pin) {
    for (int c : options.worker_cpus[static_cast<size_t>(index)]) CPU_SET(c, &cpus);
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid != 0) return pid;
  // The child: only async-signal-safe calls until exec. The affinity is
  // kept across exec.
  if (pin && sched_setaffinity(0, sizeof(cpus), &cpus) != 0) _exit(126);
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != parent) _exit(1);
  sigset_t none;
  sigemptyset(&none);
  pthread_sigmask(SIG_SETMASK, &none, nullptr);
  char index_env[64], listen_env[64], ready_env[64], metrics_env[64];
  snprintf(index_env, sizeof(index_env), "%s=%d", kWorkerIndexEnv, index);
  snprintf(listen_env, sizeof(listen_env), "%s=%d", kListenFdEnv, listen_fd);
  snprintf(ready_env, sizeof(ready_env), "%s=%d", kReadyFdEnv, ready_fd);
  putenv(index_env);
  putenv(listen_env);
  putenv(ready_env);
  snprintf(metrics_env, sizeof(metrics_env), "%s=%d", kMetricsFdEnv, metrics_fd);
  putenv(metrics_env);
  std::vector<char*> argv;
  for (const std::string& a : options.worker_argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execv(argv[0], argv.data());
  _exit(127);
}

std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + std::to_string(WTERMSIG(status)) +
                                  " (" + strsignal(WTERMSIG(status)) + ")";
  return "stopped (" + std::to_string(status) + ")";
}

}  // namespace

void NotifyWorkerReady() {
  const char* fd = std::getenv(kReadyFdEnv);
  const char* index = std::getenv(kWorkerIndexEnv);
  if (fd == nullptr || index == nullptr) return;
  const auto i = static_cast<uint8_t>(std::atoi(index));
  const ssize_t n = write(std::atoi(fd), &i, 1);
  (void)n;
}

int RunSupervisor(const SupervisorOptions& options, const sigset_t& signals) {
  int port = 0;
  auto listen_fd = Listen(options.host, options.port, &port);
  if (!listen_fd.ok()) {
    std::cerr << "kamado serve: " << listen_fd.status().message() << "\n";
    return 2;
  }
  int ready_pipe[2];
  if (pipe2(ready_pipe, O_CLOEXEC) != 0) {
    std::cerr << "kamado serve: pipe: " << std::strerror(errno) << "\n";
    return 2;
  }
  // The write end must survive exec in the workers; the read end must not.
  fcntl(ready_pipe[1], F_SETFD, 0);
  fcntl(ready_pipe[0], F_SETFL, O_NONBLOCK);
  auto board = MetricsBoard::Create(options.workers);
  if (!board.ok()) {
    std::cerr << "kamado serve: the metrics board: " << board.status().message() << "\n";
    return 2;
  }
  sigset_t waited = signals;
  sigaddset(&waited, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &waited, nullptr);

  std::vector<Worker> workers(static_cast<size_t>(options.workers));
  auto start = [&](size_t i) {
    Worker& w = workers[i];
    w.pid = Spawn(options, static_cast<int>(i), *listen_fd, ready_pipe[1], (*board)->fd());
    w.started = Clock::now();
    w.restart_at.reset();
    if (w.pid < 0) {
      spdlog::error("worker {}: fork failed: {}", i, std::strerror(errno));
      w.restart_at = Clock::now() + options.max_restart_backoff;
    } else {
      spdlog::info("worker {} started (pid {})", i, w.pid);
    }
  };
  for (size_t i = 0; i < workers.size(); ++i) start(i);

  bool announced = false;
  int exit_status = 0;
  bool stopping = false;
  // What the workers get when it stops: the signal it got (SIGTERM: each
  // serves on through its drain delay; SIGINT: none), SIGINT when a worker
  // failed to start (nothing to wait for).
  int stop_signal = SIGINT;
  while (true) {
    // Ready notes from workers.
    uint8_t buf[64];
    ssize_t n;
    while ((n = read(ready_pipe[0], buf, sizeof(buf))) > 0) {
      for (ssize_t k = 0; k < n; ++k) {
        if (buf[k] < workers.size()) {
          workers[buf[k]].ever_ready = true;
          spdlog::info("worker {} ready (pid {})", buf[k], workers[buf[k]].pid);
        }
      }
    }
    if (!announced && std::all_of(workers.begin(), workers.end(), [](const Worker& w) { return w.ever_ready; })) {
      announced = true;
      std::cout << "kamado serve: " << workers.size() << " workers listening on http://" << options.host
                << ":" << port << "\n"
                << std::flush;
    }
    // Exits.
    int status = 0;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      for (size_t i = 0; i < workers.size(); ++i) {
        Worker& w = workers[i];
        if (w.pid != pid) continue;
        w.pid = -1;
        (*board)->Retire(static_cast<int>(i));  // its counts stay in the totals
        if (stopping) break;
        if (!w.ever_ready && WIFEXITED(status)) {
          spdlog::error("worker {} failed to start ({}); stopping", i, DescribeExit(status));
          exit_status = 2;
          stopping = true;
          break;
        }
        const bool quick = Clock::now() - w.started < std::chrono::seconds(10);
        w.backoff = quick ? std::clamp(w.backoff * 2, options.restart_backoff, options.max_restart_backoff)
                          : options.restart_backoff;
        w.restart_at = Clock::now() + w.backoff;
        spdlog::warn("worker {} (pid {}) {}; restarting in {} ms", i, pid, DescribeExit(status),
                     w.backoff.count());
      }
    }
    if (stopping) break;
    for (size_t i = 0; i < workers.size(); ++i) {
      if (workers[i].restart_at && Clock::now() >= *workers[i].restart_at) start(i);
    }
    // Wait for a signal (or 50 ms, for ready notes and restarts).
    timespec timeout{0, 50'000'000};
    siginfo_t info;
    const int sig = sigtimedwait(&waited, &info, &timeout);
    if (sig > 0 && sig != SIGCHLD) {
      spdlog::info("{}: draining {} workers", sig == SIGTERM ? "SIGTERM" : "SIGINT", workers.size());
      stop_signal = sig;
      stopping = true;
      break;
    }
  }
  // Stop: no new connections from here (the workers' copies close as each
  // one drains), every worker told, every worker waited for.
  close(*listen_fd);
  for (const Worker& w : workers) {
    if (w.pid > 0) kill(w.pid, stop_signal);
  }
  for (Worker& w : workers) {
    if (w.pid <= 0) continue;
    int status = 0;
    while (waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
      spdlog::warn("worker (pid {}) {} while draining", w.pid, DescribeExit(status));
    }
  }
  close(ready_pipe[0]);
  close(ready_pipe[1]);
  if (exit_status == 0) std::cout << "kamado serve: stopped\n" << std::flush;
  return exit_status;
}

}  // namespace kamado::serving
