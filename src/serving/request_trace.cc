#include "serving/request_trace.h"

#include <cerrno>
#include <cstring>

namespace kamado::serving {

Result<std::unique_ptr<RequestTrace>> RequestTrace::Open(const std::filesystem::path& path, int worker) {
  FILE* f = std::fopen(path.c_str(), "a");
  if (f == nullptr) return InvalidArgument("cannot open the trace file " + path.string() + ": " + std::strerror(errno));
  return std::unique_ptr<RequestTrace>(new RequestTrace(f, worker));
}

RequestTrace::~RequestTrace() { std::fclose(file_); }

void RequestTrace::Write(const TraceRecord& r) {
  const long long t = std::chrono::duration_cast<std::chrono::microseconds>(r.received - start_).count();
  std::string model;
  for (char c : r.model) {
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) continue;  // names are plain
    model.push_back(c);
  }
  std::lock_guard<std::mutex> lock(mu_);
  std::fprintf(file_,
               "{\"t_us\":%lld,\"model\":\"%s\",\"status\":%d,\"total_ms\":%.3f,\"read_ms\":%.3f,"
               "\"decode_wait_ms\":%.3f,\"decode_ms\":%.3f,\"queue_ms\":%.3f,\"infer_ms\":%.3f,\"batch\":%d,\"worker\":%d}\n",
               t, model.c_str(), r.status, r.total_ms, r.read_ms, r.decode_wait_ms,
               r.decode_ms, r.queue_ms, r.infer_ms, r.batch, worker_);
  std::fflush(file_);  // whole lines for a reader following the file
}

}  // namespace kamado::serving
