#include "shadow/endpoint.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/image_options.h"
#include "model/model_config.h"
#include "serving/http/encoding.h"

namespace kamado::shadow {
namespace {

using nlohmann::json;

std::vector<std::string> Split(std::string_view path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t end = std::min(path.find('/', start), path.size());
    if (end > start) parts.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

Status BadPath(std::string_view url, std::string_view flag) {
  return InvalidArgument(fmt::format(
      "{} '{}': the path must name the endpoint a photo is posted to: "
      "/v2/models/M/classify (kamado), /v2/models/M/infer (Open Inference Protocol v2), "
      "/v1/models/M:predict (TF Serving) or /predictions/M (TorchServe)",
      flag, url));
}

std::string MetadataTarget(const Endpoint& e) {
  std::string t = "/v2/models/" + e.model;
  if (!e.version.empty()) t += "/versions/" + e.version;
  return t;
}

// A JSON array of numbers as floats; nullopt when it is anything else.
std::optional<std::vector<float>> Numbers(const json& j) {
  if (!j.is_array()) return std::nullopt;
  std::vector<float> v;
  v.reserve(j.size());
  for (const auto& x : j) {
    if (!x.is_number()) return std::nullopt;
    v.push_back(x.get<float>());
  }
  return v;
}

// [[p...]] (one row of a batch of one) or [p...].
std::optional<std::vector<float>> OneRow(const json& j) {
  if (j.is_array() && j.size() == 1 && j[0].is_array()) return Numbers(j[0]);
  return Numbers(j);
}

Result<Answer> ParseClassify(const json& j) {
  Answer a;
  if (auto p = j.find("probabilities"); p != j.end()) {
    auto v = Numbers(*p);
    if (!v) return InvalidArgument("kamado /classify: 'probabilities' is not an array of numbers");
    a.scores = std::move(*v);
    return a;
  }
  auto top = j.find("top");
  if (top == j.end() || !top->is_array()) {
    return InvalidArgument("kamado /classify: the response has neither 'probabilities' nor 'top'");
  }
  for (const auto& c : *top) {
    if (!c.is_object() || !c.contains("label") || !c["label"].is_string() || !c.contains("score") ||
        !c["score"].is_number()) {
      return InvalidArgument("kamado /classify: an entry of 'top' is not {label, score}");
    }
    a.labelled.emplace_back(c["label"].get<std::string>(), c["score"].get<float>());
  }
  return a;
}

Result<Answer> ParseOip(const json& j) {
  auto outputs = j.find("outputs");
  if (outputs == j.end() || !outputs->is_array() || outputs->empty()) {
    return InvalidArgument("OIP v2: the response has no 'outputs'");
  }
  for (const auto& o : *outputs) {
    if (o.value("datatype", "") != "FP32" || !o.contains("data")) continue;
    auto v = Numbers(o["data"]);
    if (!v) v = OneRow(o["data"]);
    if (!v)
      return InvalidArgument(
          fmt::format("OIP v2: output '{}' data is not numbers", o.value("name", "")));
    Answer a;
    a.scores = std::move(*v);
    return a;
  }
  return InvalidArgument(
      "OIP v2: no FP32 output with 'data' in the response (binary outputs are not read)");
}

Result<Answer> ParseTfServing(const json& j) {
  if (auto e = j.find("error"); e != j.end()) {
    return InvalidArgument("TF Serving: error " +
                           (e->is_string() ? e->get<std::string>() : e->dump()));
  }
  auto p = j.find("predictions");
  if (p == j.end() || !p->is_array() || p->size() != 1) {
    return InvalidArgument("TF Serving: the response has no 'predictions' of one instance");
  }
  const json& row = (*p)[0];
  if (auto v = Numbers(row)) return Answer{std::move(*v), {}};
  if (row.is_object()) {  // named outputs: take probabilities/scores, else the one numeric list
    for (const char* name : {"probabilities", "scores", "probs"}) {
      if (row.contains(name)) {
        if (auto v = OneRow(row[name])) return Answer{std::move(*v), {}};
      }
    }
    std::optional<std::vector<float>> only;
    int lists = 0;
    for (const auto& [k, v] : row.items()) {
      if (auto n = OneRow(v); n && n->size() > 1) only = std::move(n), ++lists;
    }
    if (lists == 1) return Answer{std::move(*only), {}};
  }
  return InvalidArgument(
      "TF Serving: the prediction is neither a list of scores nor an object with one");
}

Result<Answer> ParseTorchServe(const json& j) {
  const json& o = j.is_array() && j.size() == 1 ? j[0] : j;
  if (!o.is_object() || o.empty()) {
    return InvalidArgument("TorchServe: the response is not an object of label: score");
  }
  if (o.contains("code") && o.contains("message")) {  // its error shape
    return InvalidArgument("TorchServe: error " + o["message"].dump());
  }
  Answer a;
  for (const auto& [label, score] : o.items()) {
    if (!score.is_number())
      return InvalidArgument("TorchServe: the score of '" + label + "' is not a number");
    a.labelled.emplace_back(label, score.get<float>());
  }
  std::stable_sort(a.labelled.begin(), a.labelled.end(),
                   [](const auto& x, const auto& y) { return x.second > y.second; });
  return a;
}

}  // namespace

std::string_view ProtocolName(Protocol protocol) {
  switch (protocol) {
    case Protocol::kClassify:
      return "kamado /classify";
    case Protocol::kOipV2:
      return "OIP v2 /infer";
    case Protocol::kTfServing:
      return "TF Serving predict";
    case Protocol::kTorchServe:
      return "TorchServe /predictions";
  }
  return "?";
}

Result<Endpoint> ParseEndpoint(std::string_view url, std::string_view flag) {
  ASSIGN_OR_RETURN(serving::http::HttpUrl http, serving::http::ParseHttpUrl(url, flag));
  Endpoint e;
  e.url = std::string(url);
  e.http = http;
  const std::string path = http.target.substr(0, http.target.find('?'));
  std::vector<std::string> s = Split(path);
  if (s.size() >= 2 && s[0] == "predictions" && s.size() <= 3) {
    e.protocol = Protocol::kTorchServe;
    e.model = s[1];
    if (s.size() == 3) e.version = s[2];
    return e;
  }
  if (s.size() >= 3 && s[0] == "v1" && s[1] == "models") {
    // v1/models/M:predict or v1/models/M/versions/V:predict
    std::string last = s.back();
    const size_t colon = last.rfind(':');
    if (colon == std::string::npos || last.substr(colon) != ":predict") return BadPath(url, flag);
    last.resize(colon);
    if (s.size() == 3) {
      e.model = last;
    } else if (s.size() == 5 && s[3] == "versions") {
      e.model = s[2];
      e.version = last;
    } else {
      return BadPath(url, flag);
    }
    if (e.model.empty()) return BadPath(url, flag);
    e.protocol = Protocol::kTfServing;
    return e;
  }
  if ((s.size() == 4 || s.size() == 6) && s[0] == "v2" && s[1] == "models" &&
      (s.size() == 4 || s[3] == "versions")) {
    e.model = s[2];
    if (s.size() == 6) e.version = s[4];
    const std::string& action = s.back();
    if (action == "classify") {
      e.protocol = Protocol::kClassify;
      return e;
    }
    if (action == "infer") {
      e.protocol = Protocol::kOipV2;
      return e;
    }
  }
  return BadPath(url, flag);
}

Status UseTensorInput(Endpoint& endpoint, const std::string& dir, std::string_view flag) {
  if (endpoint.protocol != Protocol::kOipV2) {
    return InvalidArgument(
        fmt::format("{}: tensors can be sent to an OIP v2 /infer endpoint only, not {} ({})", flag,
                    ProtocolName(endpoint.protocol), endpoint.url));
  }
  ASSIGN_OR_RETURN(model::ModelConfig config, model::LoadModelConfig(dir));
  endpoint.tensor = Endpoint::TensorInput{dir, model::DecodeOptionsFor(config),
                                          model::PreprocessOptionsFor(config)};
  return Status::Ok();
}

namespace {

// An OIP v2 request of one binary input: the JSON header, then the bytes.
WireRequest OipBinary(const Endpoint& endpoint, const char* datatype,
                      const std::vector<int64_t>& shape, std::string bytes) {
  WireRequest r;
  r.target = endpoint.http.target;
  const std::string header = json{{"inputs",
                                   {{{"name", endpoint.input_name},
                                     {"datatype", datatype},
                                     {"shape", shape},
                                     {"parameters", {{"binary_data_size", bytes.size()}}}}}}}
                                 .dump();
  r.body = header + bytes;
  r.content_type = "application/octet-stream";
  r.headers.emplace_back("Inference-Header-Content-Length", std::to_string(header.size()));
  return r;
}

}  // namespace

Result<WireRequest> BuildRequest(const Endpoint& endpoint, const perf::Payload& photo) {
  if (endpoint.tensor) {
    const auto* bytes = reinterpret_cast<const uint8_t*>(photo.body.data());
    auto t = image::DecodeToTensor({bytes, photo.body.size()}, endpoint.tensor->decode,
                                   endpoint.tensor->preprocess);
    if (!t.ok()) return InvalidArgument(fmt::format("{}: {}", photo.name, t.status().message()));
    // FP32 little-endian, as the extension says (and this CPU stores them).
    const std::span<const float> v = t->span();
    return OipBinary(
        endpoint, "FP32", t->shape(),
        std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)));
  }
  WireRequest r;
  r.target = endpoint.http.target;
  switch (endpoint.protocol) {
    case Protocol::kClassify:
    case Protocol::kTorchServe:
      r.body = photo.body;
      r.content_type = photo.content_type.empty() ? "application/octet-stream" : photo.content_type;
      break;
    case Protocol::kOipV2: {
      // The binary tensor extension: Triton and OVMS read raw BYTES only
      // there (their JSON strings are text), kamado and KServe read it too.
      // The element is a 4-byte little-endian length, then the photo.
      const auto n = static_cast<uint32_t>(photo.body.size());
      std::string element;
      for (int i = 0; i < 4; ++i) element.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
      return OipBinary(endpoint, "BYTES", {1}, element + photo.body);
    }
    case Protocol::kTfServing:
      r.body = json{{"instances", {{{"b64", serving::http::Base64Encode(photo.body)}}}}}.dump();
      r.content_type = "application/json";
      break;
  }
  return r;
}

Result<Answer> ParseAnswer(const Endpoint& endpoint, std::string_view body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return InvalidArgument(
        fmt::format("{}: the response is not JSON", ProtocolName(endpoint.protocol)));
  }
  Result<Answer> a = InvalidArgument("unreachable");
  switch (endpoint.protocol) {
    case Protocol::kClassify:
      a = ParseClassify(j);
      break;
    case Protocol::kOipV2:
      a = ParseOip(j);
      break;
    case Protocol::kTfServing:
      a = ParseTfServing(j);
      break;
    case Protocol::kTorchServe:
      a = ParseTorchServe(j);
      break;
  }
  if (a.ok() && a->scores.empty() && a->labelled.empty()) {
    return InvalidArgument(
        fmt::format("{}: the response has no scores", ProtocolName(endpoint.protocol)));
  }
  return a;
}

Result<ClassInfo> FetchClassInfo(Endpoint& endpoint, serving::http::HttpClient& client) {
  if (endpoint.protocol == Protocol::kTfServing || endpoint.protocol == Protocol::kTorchServe) {
    return ClassInfo{};
  }
  const std::string target = MetadataTarget(endpoint);
  auto r = client.Get(target);
  if (!r.ok())
    return Unavailable(fmt::format("cannot reach {}: {}", endpoint.url, r.status().message()));
  if (r->status != 200) {
    return Unavailable(fmt::format("GET {} at {}: HTTP {} (is model '{}' served there?)", target,
                                   endpoint.url, r->status, endpoint.model));
  }
  json j = json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Unavailable(
        fmt::format("GET {} at {}: the metadata is not a JSON object", target, endpoint.url));
  }
  if (endpoint.protocol == Protocol::kOipV2) {
    const json& in = j.value("inputs", json::array());
    if (!in.is_array() || in.size() != 1 || !in[0].contains("name") || !in[0]["name"].is_string()) {
      return InvalidArgument(fmt::format(
          "{}: the model must have exactly one input to send the photo to (metadata 'inputs')",
          endpoint.url));
    }
    endpoint.input_name = in[0]["name"].get<std::string>();
  }
  ClassInfo info;
  if (auto labels = j.find("labels"); labels != j.end() && labels->is_array() && !labels->empty()) {
    for (const auto& l : *labels) {
      if (!l.is_string())
        return InvalidArgument(endpoint.url + ": a metadata label is not a string");
      info.labels.push_back(l.get<std::string>());
    }
    info.source = "metadata";
    return info;
  }
  const json& out = j.value("outputs", json::array());
  if (out.is_array() && out.size() == 1 && out[0].contains("shape") && out[0]["shape"].is_array() &&
      !out[0]["shape"].empty() && out[0]["shape"].back().is_number_integer() &&
      out[0]["shape"].back().get<int64_t>() > 0) {
    const int64_t classes = out[0]["shape"].back().get<int64_t>();
    for (int64_t i = 0; i < classes; ++i) info.labels.push_back(std::to_string(i));
    info.source = "metadata (class indices: no labels)";
  }
  return info;
}

Result<ClassInfo> ReadLabelsFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidArgument("cannot read labels file " + path);
  ClassInfo info;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    info.labels.push_back(line);
  }
  while (!info.labels.empty() && info.labels.back().empty()) info.labels.pop_back();
  if (info.labels.empty()) return InvalidArgument("labels file " + path + " has no labels");
  info.source = path;
  return info;
}

}  // namespace kamado::shadow
