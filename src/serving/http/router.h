// Router: the HTTP endpoints, as an adapter over a ModelService
// (InferenceService in `serve`; a stub in the request fuzzer and tests). Parses
// requests, calls the service, serialises answers; never throws, every error
// is {"error": "..."} with the status code of its StatusCode (plus 405, 413,
// 415). See docs/HTTP_API.md for the endpoints.
//
// Thread-safe: Handle may run on any I/O thread; inference completions
// arrive on worker threads and answer through the Responder.
#pragma once

#include "serving/http/http_server.h"
#include "serving/model_service.h"
#include "serving/metrics.h"
#include "serving/request_tap.h"
#include "serving/request_trace.h"

namespace kamado::serving::http {

class Router {
 public:
  // All must outlive the Router and every request it answers. `tap`
  // (optional) is offered every /classify answered 200 (request_tap.h) and
  // answers GET /v2/mirror.
  Router(const ModelService& service, Metrics& metrics, RequestTrace* trace = nullptr, RequestTap* tap = nullptr)
      : service_(service), metrics_(metrics), trace_(trace), tap_(tap) {}

  void Handle(Request&& req, RequestContext&& context, Responder respond);

  // HttpServerOptions::check_head: a POST to a model's infer or classify
  // takes a place in the model's queue from its header, before its body is
  // read (attached to `context`, grown to the request's rows once they are
  // known, given back if it fails first), or is refused 503 when the queue
  // is full (counted here). So bodies are read only for requests that can be
  // served, at most the queue's worth at a time. Everything else goes on to
  // Handle.
  std::optional<Response> CheckHead(const Request& head, RequestContext& context) const;

  // The two callbacks an HttpServer (or the in-memory test connection)
  // takes, bound to this Router: HttpServerOptions::check_head and the
  // server's Handler. The Router must outlive whatever holds them.
  HeadCheck AsHeadCheck() const {
    return [this](const Request& head, RequestContext& context) { return CheckHead(head, context); };
  }
  Handler AsHandler() {
    return [this](Request&& req, RequestContext&& context, Responder respond) {
      Handle(std::move(req), std::move(context), std::move(respond));
    };
  }

 private:
  class Call;
  void Infer(std::shared_ptr<Call> call, const ModelView& model);
  void Classify(std::shared_ptr<Call> call, const ModelView& model);
  void ModelMetadata(std::shared_ptr<Call> call, const ModelView& model);

  const ModelService& service_;
  Metrics& metrics_;
  RequestTrace* trace_;  // optional: a line per answered model request
  RequestTap* tap_;      // optional: kamado serve --mirror
};

}  // namespace kamado::serving::http
