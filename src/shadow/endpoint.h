// The classifier servers `kamado shadow` compares, named by the URL a user
// would post a photo to, and what each answers, in one form.
//
// The URL's path says which protocol the server speaks:
//   /v2/models/{m}[/versions/{v}]/classify   kamado's photo-in endpoint
//   /v2/models/{m}[/versions/{v}]/infer      Open Inference Protocol v2 (Triton,
//                                            OVMS, KServe, kamado), the photo
//                                            as a BYTES input
//   /v1/models/{m}[/versions/{v}]:predict    TF Serving's REST predict API,
//                                            {"instances": [{"b64": ...}]}
//   /predictions/{m}[/{v}]                   TorchServe's inference API, the
//                                            photo as the body
// Pure functions (no I/O) but FetchClassInfo, which asks the server.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "image/decode.h"
#include "image/preprocess.h"
#include "perf/load_generator.h"
#include "serving/http/http_client.h"
#include "serving/http/url.h"

namespace kamado::shadow {

enum class Protocol { kClassify, kOipV2, kTfServing, kTorchServe };
std::string_view ProtocolName(Protocol protocol);  // "kamado /classify", ...

struct Endpoint {
  std::string url;  // as given
  serving::http::HttpUrl http;
  Protocol protocol = Protocol::kClassify;
  std::string model;
  std::string version;  // "" when the URL names none
  // OIP v2: the input to send the photo in, from the model's metadata
  // (FetchClassInfo fills it; "image" until then).
  std::string input_name = "image";
  // OIP v2 to a server that wants tensors, not images: each photo decoded
  // and preprocessed here, as a kamado model directory's kamado.yaml says
  // (UseTensorInput), and sent as FP32 [1, H, W, 3] or [1, 3, H, W].
  struct TensorInput {
    std::string model_dir;  // for messages
    image::DecodeOptions decode;
    image::PreprocessOptions preprocess;
  };
  std::optional<TensorInput> tensor;
};

// Makes `endpoint` (OIP v2 only) send FP32 tensors preprocessed as the model
// directory `dir`'s kamado.yaml says. InvalidArgument naming `flag` for
// another protocol; the model loader's error when the config is bad.
Status UseTensorInput(Endpoint& endpoint, const std::string& dir, std::string_view flag);

// InvalidArgument naming `flag` when the URL is not http:// or its path is
// none of the forms above (the message lists them).
Result<Endpoint> ParseEndpoint(std::string_view url, std::string_view flag);

// One server's answer to one photo.
struct Answer {
  // Every class's score in the server's own class order, when the response
  // carries them all (kamado, OIP v2, TF Serving); else empty.
  std::vector<float> scores;
  // Scores the server named by label, best first (TorchServe's top-k); empty
  // when it gives only `scores`.
  std::vector<std::pair<std::string, float>> labelled;
};

// The HTTP request that asks `endpoint` to classify `photo`.
struct WireRequest {
  std::string target;
  std::string body;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
};
// With a tensor input, the decoder's or preprocessor's error (naming the
// photo) when the photo cannot be made into one.
Result<WireRequest> BuildRequest(const Endpoint& endpoint, const perf::Payload& photo);

// The answer in a 200 response's body. InvalidArgument saying what is
// missing or malformed (the field, the protocol) when the body is not what
// the protocol documents.
Result<Answer> ParseAnswer(const Endpoint& endpoint, std::string_view body);

// The classes of a server, in its order.
struct ClassInfo {
  std::vector<std::string> labels;  // empty when unknown
  std::string source;               // "metadata", "FILE", "" (unknown)
};

// Reads the model's metadata where the protocol has labels in it (kamado's
// /v2/models/{m} "labels"; an OIP v2 server without them: the output's last
// dimension gives the class count only, as labels "0", "1", ...), and for OIP
// v2 the input's name into `endpoint`. TF Serving's and TorchServe's
// metadata carry no labels: an empty ClassInfo. Unavailable when the server
// cannot be reached or does not serve the model (the message names the URL).
Result<ClassInfo> FetchClassInfo(Endpoint& endpoint, serving::http::HttpClient& client);

// One label per line (blank lines at the end ignored); InvalidArgument
// naming the file when it cannot be read or is empty.
Result<ClassInfo> ReadLabelsFile(const std::string& path);

}  // namespace kamado::shadow
