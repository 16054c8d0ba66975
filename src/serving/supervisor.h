// Supervisor: `kamado serve --workers P`. One process that binds the port
// and keeps P worker processes serving on it; it never imports, compiles or
// runs a model itself (so it never starts OpenMP), and holds no weights.
//
// Workers are separate executions of the same binary (fork, then exec of
// /proc/self/exe with the same command line plus --workers 1 and the
// sessions, threads and compile cache the supervisor chose), so none
// inherits an OpenMP runtime or a oneDNN state from a parent: GNU OpenMP's
// thread pool does not survive fork, and a child that forks after its
// parent ran a parallel region can hang in its first one.
//
// One model copy: every worker loads each model through the compiled cache
// (model::LoadModel with a CompiledCache): the first to take the file's lock
// compiles and writes it, the rest map the same file read-only, so the
// weights are page-cache pages present once whatever P is.
//
// One accept queue: the supervisor's listening socket is inherited by every
// worker (its descriptor number in KAMADO_LISTEN_FD), and all of them
// accept from it. Unlike SO_REUSEPORT (one queue per worker, chosen by a
// hash of the client's address), a connection waiting in the queue is
// never tied to a worker: when one dies, the others take what is queued,
// and only the connections it had accepted fail. Port 0 works too (the
// port is bound once).
//
// Supervision: a worker that exits or is killed while the server is up is
// restarted after a back-off (100 ms, doubling to 5 s while workers keep
// dying within 10 s of starting); one that exits on its own before it was
// ever ready (a bad model or setting) stops the server with status 2, as a
// single process would; one killed before it was ready is restarted. SIGTERM/SIGINT: the supervisor closes its copy
// of the socket, sends SIGTERM to every worker (each drains as a single
// server does: SIGTERM with its drain delay, SIGINT without), waits for them all and returns 0. Workers get
// PR_SET_PDEATHSIG, so they go with the supervisor if it is killed.
#pragma once

#include <signal.h>

#include <chrono>
#include <string>
#include <vector>

#include "core/result.h"

namespace kamado::serving {

struct SupervisorOptions {
  int workers = 2;
  std::string host = "127.0.0.1";
  int port = 8080;
  // The worker command: argv[0] is the program, exec'd as is.
  std::vector<std::string> worker_argv;
  // Worker i's CPUs (its affinity, set before exec); empty: not pinned.
  std::vector<std::vector<int>> worker_cpus;
  std::chrono::milliseconds restart_backoff{100};
  std::chrono::milliseconds max_restart_backoff{5000};
};

// Environment variables a worker reads (serve_command.cc).
inline constexpr const char* kWorkerIndexEnv = "KAMADO_WORKER_INDEX";
inline constexpr const char* kListenFdEnv = "KAMADO_LISTEN_FD";
inline constexpr const char* kReadyFdEnv = "KAMADO_READY_FD";

// Tells the supervisor this worker is ready (writes its index to
// KAMADO_READY_FD); nothing when not a worker.
void NotifyWorkerReady();

// Runs the supervisor until one of `signals` (blocked by the caller) comes;
// returns the exit status: 0 after a drain, 2 when the port cannot be bound
// or a worker fails to start.
int RunSupervisor(const SupervisorOptions& options, const sigset_t& signals);

}  // namespace kamado::serving
