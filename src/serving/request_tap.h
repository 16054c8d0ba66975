// RequestTap: what the Router hands, after the fact, to an observer of the
// photos it classified — `kamado serve --mirror URL` copies a share of live
// /classify requests to another server (shadow/mirror.h). The live answer
// never waits for it: the Router asks Sample() before the request is
// submitted (cheap, no allocation) and calls OnClassified only after the
// response has been handed to its connection.
//
// Thread-safe: every method may be called from any thread at once.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace kamado::serving {

struct TappedRequest {
  std::string model;
  std::string content_type;
  std::string photo;                 // the image bytes, as the client sent them
  std::vector<float> probabilities;  // the live answer, in the model's class order
  double total_ms = 0;               // the live request's time in the server
};

class RequestTap {
 public:
  virtual ~RequestTap() = default;
  // Whether this request for `model` is one to observe (a share of them).
  // Must not block.
  virtual bool Sample(const std::string& model) = 0;
  // A sampled request, answered 200. Must not block (queue it, or drop it).
  virtual void OnClassified(TappedRequest request) = 0;
  // Prometheus text appended to this process's /metrics.
  virtual std::string RenderMetrics() const = 0;
  // GET /v2/mirror: what it has recorded so far, as JSON, or (`html`) as
  // the self-contained report page.
  virtual std::string RenderReport(bool html) const = 0;
};

}  // namespace kamado::serving
