// RequestTrace: `kamado serve --trace FILE`, one JSON line per answered model
// request, to find where a latency goes:
//
//   {"t_us":…,"model":"inception_v3","status":200,"total_ms":…,"read_ms":…,"decode_wait_ms":…,
//    "decode_ms":…,"queue_ms":…,"infer_ms":…,"batch":1,"worker":0}
//
// t_us: when the handler got the request (its body read), in µs since the
// trace was opened; total_ms: from then to the response handed to the
// connection; read_ms: from its header read to then (the body; −1 when the
// server does not stamp requests); decode_wait_ms: admitted → a decode thread
// took it; decode_ms: decode and preprocess (both −1 for tensor inputs);
// queue_ms: enqueue to its batch's run start; infer_ms: that run; batch: the
// rows of that run. Thread-safe (one mutex around the write); each line is
// flushed as written, so a reader following the file sees whole lines.
#pragma once

#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "core/result.h"
#include "serving/scheduler.h"

namespace kamado::serving {

struct TraceRecord {
  Clock::time_point received{};
  std::string model;
  int status = 0;
  double total_ms = -1;
  double read_ms = -1;  // header read → handler (the body's read), when stamped
  double decode_wait_ms = -1;
  double decode_ms = -1;
  double queue_ms = -1;
  double infer_ms = -1;
  int batch = 0;
};

class RequestTrace {
 public:
  static Result<std::unique_ptr<RequestTrace>> Open(const std::filesystem::path& path, int worker);
  ~RequestTrace();
  void Write(const TraceRecord& r);

 private:
  RequestTrace(FILE* f, int worker) : file_(f), worker_(worker), start_(Clock::now()) {}
  std::mutex mu_;
  FILE* file_;
  int worker_;
  Clock::time_point start_;
};

}  // namespace kamado::serving
