// `kamado load`: HTTP load against a running `kamado serve`, closed loop
// (--concurrency) and open loop (--rate, latency from the intended send time),
// optionally searching the highest rate whose p99 stays within a bound
// (--find-max-rate --p99-ms). Images from a directory are POSTed round-robin
// to /v2/models/{model}/classify. Prints a table per level, optionally an HTML
// report and a final JSON line; the system (and --server-pid) is sampled
// alongside for CPU and memory.
#pragma once

#include <CLI/CLI.hpp>

namespace kamado::cli {

void AddLoadCommand(CLI::App& app, int& exit_code);

}  // namespace kamado::cli
