// RequestTrace: `kamado serve --trace FILE`, one JSON line per answered model
// request, to find where a latency goes:
//
//   {"t_us":…,"model":"inception_v3","status":200,"total_ms":…,"decode_ms":…,
//    "queue_ms":…,"infer_ms":…,"batch":1,"worker":0}
//
// t_us: when the handler got the request (its body read), in µs since the
// trace was opened; total_ms: from then to the response handed to the
// connection; decode_ms: decode and preprocess (−1 for tensor inputs);
// queue_ms: enqueue to its batch's run start; infer_ms: that run; batch: the
// rows of that run. Thread-safe (one mutex around a buffered write); lines
// are flushed every 64 records and on close.
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
  int unflushed_ = 0;
};

}  // namespace kamado::serving
