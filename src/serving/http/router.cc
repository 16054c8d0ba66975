#include "serving/http/router.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <optional>
#include <nlohmann/json.hpp>

#include "model/classification.h"
#include "serving/http/encoding.h"
#include "serving/http/oip_codec.h"

namespace kamado::serving::http {

namespace bhttp = boost::beast::http;
using nlohmann::json;

namespace {

double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

std::vector<std::string> Split(std::string_view path) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string_view::npos) next = path.size();
    if (next > pos) parts.emplace_back(path.substr(pos, next - pos));
    pos = next + 1;
  }
  return parts;
}

// A path under /v2/models/{m}: /v2/models/{m}[/versions/{v}][/{action}],
// split once for the head check and the handler so both route alike.
struct ModelRoute {
  std::string model;
  std::optional<std::string> version;  // as given; only "1" is served
  std::string action;                  // "" (the metadata), "ready", "infer", "classify", or what was given
  bool no_route = false;               // ".../versions" with nothing after it, or more after the action
  bool served_version() const { return !version || *version == "1"; }
};

// nullopt when `p` (the split path) is not under /v2/models/{m}.
std::optional<ModelRoute> ParseModelRoute(const std::vector<std::string>& p) {
  if (p.size() < 3 || p[0] != "v2" || p[1] != "models") return std::nullopt;
  ModelRoute r;
  r.model = p[2];
  size_t i = 3;
  if (p.size() > i && p[i] == "versions") {
    if (p.size() == i + 1) {
      r.no_route = true;
      return r;
    }
    r.version = p[i + 1];
    i += 2;
  }
  if (p.size() > i) r.action = p[i];
  r.no_route = p.size() > i + 1;
  return r;
}

// A request's deadline: `timeout_ms` after `from` (its header's read), or
// none when timeout_ms is 0.
Clock::time_point DeadlineAfter(Clock::time_point from, int timeout_ms) {
  if (timeout_ms <= 0) return Clock::time_point::max();
  return from + std::chrono::milliseconds(timeout_ms);
}

// The value of query parameter `name` ("" when absent).
std::string QueryParam(std::string_view query, std::string_view name) {
  size_t pos = 0;
  while (pos < query.size()) {
    size_t next = query.find('&', pos);
    if (next == std::string_view::npos) next = query.size();
    std::string_view kv = query.substr(pos, next - pos);
    const size_t eq = kv.find('=');
    if (kv.substr(0, eq) == name) return eq == std::string_view::npos ? "" : std::string(kv.substr(eq + 1));
    pos = next + 1;
  }
  return "";
}

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

// One request being answered: owns the request, answers exactly once and
// records the request metrics when it does.
class Router::Call {
 public:
  Call(Request&& req, RequestContext&& context, Responder respond, Metrics& metrics, RequestTrace* trace)
      : req_(std::move(req)), respond_(std::move(respond)), metrics_(metrics), trace_(trace),
        start_(Clock::now()), header_read_at_(context.header_read_at),
        admission_(std::move(context.admission)) {
    if (header_read_at_ != Clock::time_point{}) record_.read_ms = MsSince(header_read_at_);
    metrics_.in_flight().fetch_add(1);
  }
  ~Call() {
    if (!answered_.load()) Error(Internal("the request was dropped without an answer"));
  }

  const Request& req() const { return req_; }
  Clock::time_point start() const { return start_; }
  // The queue place CheckHead took for this request (empty if none).
  QueueTicket TakeTicket() {
    QueueTicket t;
    if (admission_) t = std::move(*std::static_pointer_cast<QueueTicket>(admission_));
    admission_.reset();
    return t;
  }
  // Its deadline (--timeout-ms), from when its header was read: the body's
  // read and the wait to be decoded count.
  Clock::time_point Deadline(int timeout_ms) const {
    return DeadlineAfter(header_read_at_ == Clock::time_point{} ? start_ : header_read_at_, timeout_ms);
  }
  void set_model(std::string m) { model_ = std::move(m); }
  // What --trace records of this request (set before Reply).
  TraceRecord& record() { return record_; }
  void set_job(const JobOutput& out) {
    record_.queue_ms = out.queue_ms;
    record_.infer_ms = out.infer_ms;
    record_.batch = out.batch_size;
  }

  void Reply(int status, std::string body, std::string content_type = "application/json",
             std::optional<size_t> header_length = std::nullopt) {
    if (answered_.exchange(true)) return;
    Response res = MakeResponse(status, std::move(body), std::move(content_type));
    if (header_length) res.set("Inference-Header-Content-Length", std::to_string(*header_length));
    if (status == 503) res.set(bhttp::field::retry_after, "1");
    if (!allow_.empty()) res.set(bhttp::field::allow, allow_);
    const double total_ms = MsSince(start_);
    metrics_.CountRequest(model_, status, total_ms / 1000.0);
    metrics_.in_flight().fetch_sub(1);
    respond_(std::move(res));
    if (trace_ != nullptr && !model_.empty()) {
      record_.received = start_;
      record_.model = model_;
      record_.status = status;
      record_.total_ms = total_ms;
      trace_->Write(record_);
    }
  }
  // Invalid UTF-8 (an error quoting what a client sent) is replaced, never thrown.
  void Json(int status, const json& j) {
    Reply(status, j.dump(-1, ' ', false, json::error_handler_t::replace));
  }
  // The methods a 405 names in its Allow header.
  void set_allow(std::string methods) { allow_ = std::move(methods); }
  const std::string& allow() const { return allow_; }
  void Error(const Status& s) { Error(HttpStatusOf(s.code()), s.message()); }
  void Error(int status, const std::string& message) { Json(status, json{{"error", message}}); }

 private:
  Request req_;
  Responder respond_;
  Metrics& metrics_;
  RequestTrace* trace_;
  Clock::time_point start_;
  Clock::time_point header_read_at_;
  std::shared_ptr<void> admission_;  // a QueueTicket, from CheckHead
  TraceRecord record_;
  std::string model_;
  std::string allow_;
  std::atomic<bool> answered_{false};
};

std::optional<Response> Router::CheckHead(const Request& head, RequestContext& context) const {
  if (head.method() != bhttp::verb::post) return std::nullopt;
  const std::string_view target(head.target().data(), head.target().size());
  // /v2/models/{m}[/versions/1]/(infer|classify); anything else (a version
  // not served, a model not loaded) is answered by Handle with the body read.
  const std::optional<ModelRoute> route = ParseModelRoute(Split(target.substr(0, target.find('?'))));
  if (!route || route->no_route || !route->served_version() ||
      (route->action != "infer" && route->action != "classify")) {
    return std::nullopt;
  }
  auto model = service_.FindModel(route->model);
  if (!model.ok()) return std::nullopt;
  auto ticket = service_.Admit(**model, 1);
  if (ticket.ok()) {
    context.admission = std::make_shared<QueueTicket>(std::move(ticket).value());
    // The place is held while the body arrives: no longer than the request's
    // deadline, which runs from its header (Call::Deadline).
    if (service_.options().timeout_ms > 0 && context.header_read_at != Clock::time_point{}) {
      context.body_deadline = DeadlineAfter(context.header_read_at, service_.options().timeout_ms);
    }
    return std::nullopt;
  }
  metrics_.CountRequest((*model)->name(), 503, 0);
  return RefusalResponse({503, ticket.status().message() + "; retry later"});
}

void Router::Handle(Request&& req, RequestContext&& context, Responder respond) {
  auto call = std::make_shared<Call>(std::move(req), std::move(context), std::move(respond), metrics_, trace_);
  const std::string target(call->req().target());
  const std::string path = target.substr(0, target.find('?'));
  const std::vector<std::string> p = Split(path);
  const bhttp::verb method = call->req().method();
  // HEAD is GET without the body (the server drops it), on every GET route.
  const bool get = method == bhttp::verb::get || method == bhttp::verb::head;
  const bool post = method == bhttp::verb::post;
  auto wrong_method = [&](const char* allowed) {
    call->set_allow(std::string(allowed) == "GET" ? "GET, HEAD" : allowed);
    call->Error(405, "method " + std::string(call->req().method_string()) + " is not allowed on " +
                         path + " (allowed: " + call->allow() + ")");
  };

  if (path == "/metrics") {
    if (!get) return wrong_method("GET");
    return call->Reply(200, metrics_.Render(), "text/plain; version=0.0.4; charset=utf-8");
  }
  if (p.empty() || p[0] != "v2") return call->Error(404, "no route for " + path);
  if (p.size() == 1) {
    if (!get) return wrong_method("GET");
    return call->Json(200, {{"name", "kamado"},
                            {"version", "0.1.0"},
                            {"extensions", {"binary_tensor_data", "classification", "classify"}}});
  }
  if (p[1] == "mirror" && p.size() == 2) {
    if (!get) return wrong_method("GET");
    if (!tap_) return call->Error(404, "no mirror: this server was started without --mirror");
    const bool html = QueryParam(std::string_view(target).substr(std::min(target.size(), path.size() + 1)),
                                 "format") == "html";
    return call->Reply(200, tap_->RenderReport(html), html ? "text/html; charset=utf-8" : "application/json");
  }
  if (p[1] == "health" && p.size() == 3 && (p[2] == "live" || p[2] == "ready")) {
    if (!get) return wrong_method("GET");
    if (p[2] == "live") return call->Json(200, {{"live", true}});
    const bool ready = service_.ready();
    return call->Json(ready ? 200 : 503, {{"ready", ready}});
  }
  const std::optional<ModelRoute> route = ParseModelRoute(p);
  if (!route) return call->Error(404, "no route for " + path);

  // /v2/models/{m}[/versions/{v}][/ready|/infer|/classify]
  auto model = service_.FindModel(route->model);
  if (!model.ok()) return call->Error(model.status());
  call->set_model((*model)->name());
  if (!route->served_version()) {
    return call->Error(404, "model '" + route->model + "' has no version '" + *route->version + "' (only 1)");
  }
  if (route->no_route) return call->Error(404, "no route for " + path);
  if (route->action.empty()) {
    if (!get) return wrong_method("GET");
    return ModelMetadata(call, **model);
  }
  if (route->action == "ready") {
    if (!get) return wrong_method("GET");
    const bool ready = service_.ready();
    return call->Json(ready ? 200 : 503, {{"name", (*model)->name()}, {"ready", ready}});
  }
  if (route->action == "infer") {
    if (!post) return wrong_method("POST");
    return Infer(call, **model);
  }
  if (route->action == "classify") {
    if (!post) return wrong_method("POST");
    return Classify(call, **model);
  }
  call->Error(404, "no route for " + path);
}

void Router::ModelMetadata(std::shared_ptr<Call> call, const ModelView& model) {
  auto tensors = [](const std::vector<runtime::TensorInfo>& infos) {
    json a = json::array();
    for (const auto& t : infos) a.push_back({{"name", t.name}, {"datatype", "FP32"}, {"shape", t.shape}});
    return a;
  };
  json j{{"name", model.name()},
         {"versions", {"1"}},
         {"platform", "kamado_" + std::string(model::ModelFormatName(model.config().format))},
         {"inputs", tensors(model.inputs())},
         {"outputs", tensors(model.outputs())},
         {"labels", model.config().labels}};
  if (model.config().decision) {
    j["decision"] = {{"name", model.config().decision->name},
                     {"positive", model.config().decision->positive},
                     {"threshold", model.config().decision->threshold}};
  }
  call->Json(200, j);
}

void Router::Classify(std::shared_ptr<Call> call, const ModelView& model) {
  const Request& req = call->req();
  const std::string content_type(req[bhttp::field::content_type]);
  const std::string media = MediaType(content_type);
  std::string_view image = req.body();
  if (media == "multipart/form-data") {
    auto field = MultipartField(req.body(), content_type, "file");
    if (!field.ok()) return call->Error(field.status());
    image = *field;
  } else if (!media.empty() && media != "image/jpeg" && media != "image/png" &&
             media != "image/webp" && media != "application/octet-stream") {
    return call->Error(415, "Content-Type '" + media +
                                "' is not an image (send image/jpeg, image/png, image/webp, "
                                "application/octet-stream or multipart/form-data with a 'file' field)");
  }
  if (image.empty()) return call->Error(400, "the request has no image (empty body)");
  int top_k = 3;
  const std::string target(req.target());
  if (auto q = target.find('?'); q != std::string::npos) {
    const std::string k = QueryParam(std::string_view(target).substr(q + 1), "top_k");
    if (!k.empty()) {
      try {
        top_k = std::stoi(k);
      } catch (...) {
        top_k = -1;
      }
      if (top_k < 1) return call->Error(400, "query parameter 'top_k' must be a positive integer");
    }
  }
  const model::ModelConfig* config = &model.config();
  ImageRequest request;
  request.images = {Bytes(image)};  // into the request, which `call` owns
  request.name_elements = false;
  request.deadline = call->Deadline(service_.options().timeout_ms);
  RequestTap* tap = tap_ && tap_->Sample(config->name) ? tap_ : nullptr;
  request.done = [call, config, top_k, tap, image, media](Result<JobOutput> r, const PrepareTiming& timing) {
    call->record().decode_wait_ms = timing.wait_ms;
    call->record().decode_ms = timing.decode_ms;
    if (!r.ok()) return call->Error(r.status());
    call->set_job(*r);
    const Tensor& probs = r->outputs.front();
    const std::span<const float> p = probs.span();
    const auto top = model::TopClasses(*config, p, top_k);
    json j{{"model_name", config->name}};
    j["label"] = top.empty() ? "" : top.front().label;
    j["score"] = top.empty() ? 0.0f : top.front().score;
    j["top"] = json::array();
    for (const auto& c : top) j["top"].push_back({{"label", c.label}, {"score", c.score}});
    j["probabilities"] = std::vector<float>(p.begin(), p.end());
    if (auto v = model::Decide(*config, p)) {
      j["verdict"] = {{"name", v->name}, {"value", v->value}, {"score", v->score}};
    }
    j["timing_ms"] = {{"queue", r->queue_ms},
                      {"decode", timing.decode_ms},
                      {"infer", r->infer_ms},
                      {"total", MsSince(call->start())}};
    j["batch_size"] = r->batch_size;
    const double total_ms = MsSince(call->start());
    call->Json(200, j);
    // After the answer has gone to its connection; `image` points into the
    // request, which `call` still owns.
    if (tap) {
      // The photo alone goes on (a multipart body's field, not the form).
      const std::string type = media.empty() || media == "multipart/form-data" ? "application/octet-stream" : media;
      tap->OnClassified({config->name, type, std::string(image), std::vector<float>(p.begin(), p.end()), total_ms});
    }
  };
  if (Status s = service_.SubmitImages(model, std::move(request), call->TakeTicket()); !s.ok()) call->Error(s);
}

void Router::Infer(std::shared_ptr<Call> call, const ModelView& model) {
  const Request& req = call->req();
  std::optional<size_t> header_length;
  if (auto it = req.find("Inference-Header-Content-Length"); it != req.end()) {
    try {
      header_length = std::stoull(std::string(it->value()));
    } catch (...) {
      return call->Error(400, "Inference-Header-Content-Length is not a number");
    }
  }
  // The row limit is checked on each input's shape before its data is read.
  auto parsed =
      ParseInferRequest(req.body(), header_length, service_.options().max_rows_per_request);
  if (!parsed.ok()) return call->Error(parsed.status());
  OipRequest& oip = *parsed;
  const std::string& input_name = model.inputs().front().name;
  if (oip.inputs.size() != 1) {
    return call->Error(400, "model '" + model.name() + "' takes one input, '" + input_name + "'");
  }
  OipInput& in = oip.inputs.front();
  if (in.name != input_name) {
    return call->Error(400, "model '" + model.name() + "' has no input '" + in.name +
                                "' (its input is '" + input_name + "')");
  }
  const std::string& output_name = model.outputs().front().name;
  for (const auto& o : oip.outputs) {
    if (o.name != output_name) {
      return call->Error(400, "model '" + model.name() + "' has no output '" + o.name +
                                  "' (its output is '" + output_name + "')");
    }
  }

  // Outputs wanted: the requested ones, or the model's output as FP32.
  std::vector<OipOutputRequest> wanted = oip.outputs;
  if (wanted.empty()) wanted.push_back({output_name, 0, oip.binary_outputs});
  const model::ModelConfig* config = &model.config();
  auto reply = [call, config, wanted, id = oip.id](Result<JobOutput> r) {
    if (!r.ok()) return call->Error(r.status());
    call->set_job(*r);
    const Tensor& probs = r->outputs.front();  // [n, classes]
    const int64_t n = probs.shape()[0];
    const int64_t classes = n > 0 ? probs.size() / n : 0;
    std::vector<OipOutput> outputs;
    for (const auto& w : wanted) {
      OipOutput o;
      o.name = w.name;
      o.binary = w.binary;
      if (w.classification > 0) {
        o.datatype = "BYTES";
        const int k = std::min<int>(w.classification, static_cast<int>(classes));
        o.shape = {n, k};
        for (int64_t row = 0; row < n; ++row) {
          const std::span<const float> p = probs.span().subspan(static_cast<size_t>(row * classes),
                                                                 static_cast<size_t>(classes));
          for (const auto& c : model::TopClasses(*config, p, k)) {
            char score[32];
            std::snprintf(score, sizeof(score), "%f", c.score);
            o.bytes.push_back(std::string(score) + ":" + std::to_string(c.index) + ":" + c.label);
          }
        }
      } else {
        o.datatype = "FP32";
        o.shape = {n, classes};
        o.fp32.assign(probs.data(), probs.data() + probs.size());
      }
      outputs.push_back(std::move(o));
    }
    EncodedBody e = EncodeInferResponse(config->name, id, outputs);
    call->Reply(200, std::move(e.body),
                e.header_length ? "application/octet-stream" : "application/json", e.header_length);
  };

  // One tensor of N rows, checked and admitted before anything is decoded.
  const Shape& item_shape = model.item_shape();
  if (in.datatype == "FP32") {
    if (in.shape.size() != item_shape.size() ||
        !std::equal(item_shape.begin() + 1, item_shape.end(), in.shape.begin() + 1) ||
        in.shape[0] < 1) {
      Shape want = item_shape;
      want[0] = -1;
      return call->Error(400, "input '" + in.name + "' must have shape " + ShapeToString(want) +
                                  " (? = the number of rows)");
    }
    if (!service_.options().allow_non_finite_inputs) {
      const auto bad = std::find_if(in.fp32.begin(), in.fp32.end(), [](float v) { return !std::isfinite(v); });
      if (bad != in.fp32.end()) {
        return call->Error(400, "input '" + in.name + "' holds a non-finite value (" +
                                    (std::isnan(*bad) ? "NaN" : "infinity") + ") at element " +
                                    std::to_string(bad - in.fp32.begin()) +
                                    " (allow them with --allow-non-finite-inputs)");
      }
    }
    if (Status s = service_.Submit(model, Tensor(in.shape, std::move(in.fp32)), reply,
                                   call->Deadline(service_.options().timeout_ms), call->TakeTicket());
        !s.ok()) {
      call->Error(s);
    }
    return;
  }
  if (in.bytes.empty() || in.shape.empty() || in.shape.size() > 2 ||
      (in.shape.size() == 2 && in.shape[1] != 1)) {
    return call->Error(400, "BYTES input '" + in.name + "' must have shape [N] or [N,1] of encoded images");
  }
  auto encoded = std::make_shared<std::vector<std::string>>(std::move(in.bytes));
  ImageRequest request;
  for (const std::string& b : *encoded) request.images.push_back(Bytes(b));
  request.error_prefix = "input '" + in.name + "'";
  request.deadline = call->Deadline(service_.options().timeout_ms);
  request.done = [call, encoded, reply](Result<JobOutput> r, const PrepareTiming& timing) {
    call->record().decode_wait_ms = timing.wait_ms;
    call->record().decode_ms = timing.decode_ms;
    reply(std::move(r));
  };
  if (Status s = service_.SubmitImages(model, std::move(request), call->TakeTicket()); !s.ok()) call->Error(s);
}

}  // namespace kamado::serving::http
