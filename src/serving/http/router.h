// Router: the HTTP endpoints, as an adapter over InferenceService. Parses
// requests, calls the service, serialises answers; never throws, every error
// is {"error": "..."} with the status code of its StatusCode (plus 405, 413,
// 415). See docs/HTTP_API.md for the endpoints.
//
// Thread-safe: Handle may run on any I/O thread; inference completions
// arrive on worker threads and answer through the Responder.
#pragma once

#include "serving/http/http_server.h"
#include "serving/inference_service.h"
#include "serving/metrics.h"
#include "serving/request_trace.h"

namespace kamado::serving::http {

class Router {
 public:
  // Both must outlive the Router and every request it answers.
  Router(InferenceService& service, Metrics& metrics, RequestTrace* trace = nullptr)
      : service_(service), metrics_(metrics), trace_(trace) {}

  void Handle(Request&& req, const RequestContext& context, Responder respond);

  // HttpServerOptions::check_head: a POST to a model whose queue is full now
  // is refused 503 from its header, before its body is read (the model's
  // 503 is counted here). Everything else goes on to Handle.
  std::optional<Response> CheckHead(const Request& head) const;

 private:
  class Call;
  void Infer(std::shared_ptr<Call> call, const ServedModel& model);
  void Classify(std::shared_ptr<Call> call, const ServedModel& model);
  void ModelMetadata(std::shared_ptr<Call> call, const ServedModel& model);

  InferenceService& service_;
  Metrics& metrics_;
  RequestTrace* trace_;  // optional: a line per answered model request
};

}  // namespace kamado::serving::http
