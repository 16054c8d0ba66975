// Open Inference Protocol v2 (KServe / Triton / OVMS) request and response
// bodies for /v2/models/{m}/infer, JSON and the binary tensor extension
// (`Inference-Header-Content-Length`: the first N bytes are the JSON header,
// then each binary tensor's bytes in order). Pure functions; never throw.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/shape.h"

namespace kamado::serving::http {

struct OipInput {
  std::string name;
  std::string datatype;  // "FP32" | "BYTES"
  Shape shape;
  std::vector<float> fp32;          // FP32: row-major
  std::vector<std::string> bytes;   // BYTES: one encoded image per element
};

struct OipOutputRequest {
  std::string name;
  int classification = 0;  // > 0: top-K as "score:index:label" strings
  bool binary = false;     // binary tensor extension for this output
};

struct OipRequest {
  std::string id;
  std::vector<OipInput> inputs;
  std::vector<OipOutputRequest> outputs;  // empty: every output, JSON
  bool binary_outputs = false;            // parameters.binary_data_output
};

// `header_length`: the Inference-Header-Content-Length value, if present.
// InvalidArgument names the field; Unsupported an unsupported datatype. With
// `max_rows` > 0, an input whose shape's dimension 0 is larger is refused as
// soon as its shape is read, before its data is copied or base64-decoded.
Result<OipRequest> ParseInferRequest(std::string_view body, std::optional<size_t> header_length,
                                     int64_t max_rows = 0);

struct OipOutput {
  std::string name;
  std::string datatype;  // "FP32" | "BYTES"
  Shape shape;
  std::vector<float> fp32;
  std::vector<std::string> bytes;
  bool binary = false;
};

struct EncodedBody {
  std::string body;
  std::optional<size_t> header_length;  // set when any output is binary
};

EncodedBody EncodeInferResponse(const std::string& model, const std::string& id,
                                const std::vector<OipOutput>& outputs);

}  // namespace kamado::serving::http
