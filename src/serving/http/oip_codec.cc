#include "serving/http/oip_codec.h"

#include <cstring>
#include <nlohmann/json.hpp>

#include "serving/http/encoding.h"

namespace kamado::serving::http {
namespace {

using nlohmann::json;

// nlohmann's message without its "[json.exception.type_error.302] " prefix.
std::string JsonReason(const json::exception& e) {
  std::string_view m = e.what();
  if (!m.empty() && m.front() == '[') {
    const size_t close = m.find("] ");
    if (close != std::string_view::npos) m.remove_prefix(close + 2);
  }
  return std::string(m);
}

// OIP allows `data` flat or nested in row-major order.
Status FlattenFp32(const json& data, std::vector<float>& out, int depth = 0) {
  if (depth > 8) return InvalidArgument("'data' is nested too deeply");
  for (const json& v : data) {
    if (v.is_array()) {
      RETURN_IF_ERROR(FlattenFp32(v, out, depth + 1));
    } else if (v.is_number()) {
      out.push_back(v.get<float>());
    } else {
      return InvalidArgument("FP32 'data' holds a non-number");
    }
  }
  return Status::Ok();
}

Status FlattenBytes(const json& data, std::vector<std::string>& out, int depth = 0) {
  if (depth > 8) return InvalidArgument("'data' is nested too deeply");
  for (const json& v : data) {
    if (v.is_array()) {
      RETURN_IF_ERROR(FlattenBytes(v, out, depth + 1));
    } else if (v.is_string()) {
      // JSON BYTES elements carry images base64-encoded.
      ASSIGN_OR_RETURN(std::string raw, Base64Decode(v.get<std::string>()));
      out.push_back(std::move(raw));
    } else if (v.is_object() && v.contains("b64") && v["b64"].is_string()) {
      ASSIGN_OR_RETURN(std::string raw, Base64Decode(v["b64"].get<std::string>()));  // OVMS / TF Serving
      out.push_back(std::move(raw));
    } else {
      return InvalidArgument("BYTES 'data' elements must be base64 strings");
    }
  }
  return Status::Ok();
}

// Binary BYTES: each element is a 4-byte little-endian length, then the bytes.
Status SplitBinaryBytes(std::string_view raw, std::vector<std::string>& out) {
  while (!raw.empty()) {
    if (raw.size() < 4) return InvalidArgument("truncated BYTES element length");
    uint32_t n = 0;
    for (int i = 3; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(raw[static_cast<size_t>(i)]);
    raw.remove_prefix(4);
    if (n > raw.size()) return InvalidArgument("BYTES element longer than its binary data");
    out.emplace_back(raw.substr(0, n));
    raw.remove_prefix(n);
  }
  return Status::Ok();
}

Result<OipRequest> Parse(const json& header, std::string_view binary, int64_t max_rows) {
  if (!header.is_object()) return InvalidArgument("the request must be a JSON object");
  OipRequest req;
  if (header.contains("id") && header["id"].is_string()) req.id = header["id"].get<std::string>();
  if (header.contains("parameters") && header["parameters"].is_object()) {
    req.binary_outputs = header["parameters"].value("binary_data_output", false);
  }
  if (!header.contains("inputs") || !header["inputs"].is_array() || header["inputs"].empty()) {
    return InvalidArgument("field 'inputs' must be a non-empty array");
  }
  size_t offset = 0;
  for (const json& in : header["inputs"]) {
    OipInput input;
    if (!in.is_object() || !in.contains("name") || !in["name"].is_string()) {
      return InvalidArgument("every input needs a 'name'");
    }
    input.name = in["name"].get<std::string>();
    const std::string where = "input '" + input.name + "'";
    if (!in.contains("datatype") || !in["datatype"].is_string()) {
      return InvalidArgument(where + ": missing 'datatype'");
    }
    input.datatype = in["datatype"].get<std::string>();
    if (input.datatype != "FP32" && input.datatype != "BYTES") {
      return Unsupported(where + ": datatype '" + input.datatype + "' is not FP32 or BYTES");
    }
    if (!in.contains("shape") || !in["shape"].is_array()) {
      return InvalidArgument(where + ": missing 'shape'");
    }
    for (const json& d : in["shape"]) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0) {
        return InvalidArgument(where + ": 'shape' must hold non-negative integers");
      }
      input.shape.push_back(d.get<int64_t>());
    }
    if (max_rows > 0 && !input.shape.empty() && input.shape[0] > max_rows) {
      return InvalidArgument(where + ": 'shape' has " + std::to_string(input.shape[0]) +
                             " rows, over the limit of " + std::to_string(max_rows) +
                             " per request");
    }
    auto checked = CheckedNumElements(input.shape);
    if (!checked.ok()) return checked.status().WithPrefix(where + ": 'shape'");
    const int64_t elements = *checked;
    std::optional<size_t> binary_size;
    if (in.contains("parameters") && in["parameters"].contains("binary_data_size")) {
      const json& b = in["parameters"]["binary_data_size"];
      if (!b.is_number_unsigned()) return InvalidArgument(where + ": bad 'binary_data_size'");
      binary_size = b.get<size_t>();
    }
    if (binary_size) {
      if (offset + *binary_size > binary.size()) {
        return InvalidArgument(where + ": 'binary_data_size' runs past the end of the body");
      }
      const std::string_view raw = binary.substr(offset, *binary_size);
      offset += *binary_size;
      if (input.datatype == "FP32") {
        if (raw.size() % sizeof(float) != 0) {
          return InvalidArgument(where + ": binary FP32 data is not a multiple of 4 bytes");
        }
        input.fp32.resize(raw.size() / sizeof(float));
        std::memcpy(input.fp32.data(), raw.data(), raw.size());  // little-endian host
      } else {
        RETURN_IF_ERROR(SplitBinaryBytes(raw, input.bytes).WithPrefix(where));
      }
    } else {
      if (!in.contains("data") || !in["data"].is_array()) {
        return InvalidArgument(where + ": missing 'data' (or binary_data_size)");
      }
      if (input.datatype == "FP32") {
        RETURN_IF_ERROR(FlattenFp32(in["data"], input.fp32).WithPrefix(where));
      } else {
        RETURN_IF_ERROR(FlattenBytes(in["data"], input.bytes).WithPrefix(where));
      }
    }
    const int64_t count = input.datatype == "FP32" ? static_cast<int64_t>(input.fp32.size())
                                                   : static_cast<int64_t>(input.bytes.size());
    if (count != elements) {
      return InvalidArgument(where + ": 'shape' has " + std::to_string(elements) +
                             " elements but the data has " + std::to_string(count));
    }
    req.inputs.push_back(std::move(input));
  }
  if (offset != binary.size()) {
    return InvalidArgument("the body has " + std::to_string(binary.size() - offset) +
                           " binary bytes no input claims");
  }
  if (header.contains("outputs")) {
    if (!header["outputs"].is_array()) return InvalidArgument("field 'outputs' must be an array");
    for (const json& out : header["outputs"]) {
      if (!out.is_object() || !out.contains("name") || !out["name"].is_string()) {
        return InvalidArgument("every requested output needs a 'name'");
      }
      OipOutputRequest o;
      o.name = out["name"].get<std::string>();
      o.binary = req.binary_outputs;
      if (out.contains("parameters") && out["parameters"].is_object()) {
        const json& p = out["parameters"];
        if (p.contains("classification")) {
          // As int64 first: get<int>() would wrap 2^32 + 2 to 2.
          if (!p["classification"].is_number_integer() || p["classification"].get<int64_t>() < 1 ||
              p["classification"].get<int64_t>() > INT32_MAX) {
            return InvalidArgument("output '" + o.name + "': 'classification' must be a positive integer");
          }
          o.classification = p["classification"].get<int>();
        }
        o.binary = p.value("binary_data", o.binary);
      }
      req.outputs.push_back(std::move(o));
    }
  }
  return req;
}

}  // namespace

Result<OipRequest> ParseInferRequest(std::string_view body, std::optional<size_t> header_length,
                                     int64_t max_rows) {
  const size_t n = header_length.value_or(body.size());
  if (n > body.size()) {
    return InvalidArgument("Inference-Header-Content-Length is larger than the body");
  }
  try {
    const json header = json::parse(body.substr(0, n));
    return Parse(header, body.substr(n), max_rows);
  } catch (const json::parse_error& e) {
    const bool utf8 = std::string_view(e.what()).find("UTF-8") != std::string_view::npos;
    return InvalidArgument("the request's JSON is malformed at byte " + std::to_string(e.byte) +
                           (utf8 ? ": a string is not valid UTF-8" : ""));
  } catch (const json::exception& e) {
    return InvalidArgument("a field of the request's JSON has the wrong type (" + JsonReason(e) + ")");
  }
}

EncodedBody EncodeInferResponse(const std::string& model, const std::string& id,
                                const std::vector<OipOutput>& outputs) {
  json j{{"model_name", model}, {"model_version", "1"}};
  if (!id.empty()) j["id"] = id;
  j["outputs"] = json::array();
  std::string binary;
  bool any_binary = false;
  for (const OipOutput& o : outputs) {
    json out{{"name", o.name}, {"datatype", o.datatype}, {"shape", o.shape}};
    if (o.binary) {
      any_binary = true;
      const size_t before = binary.size();
      if (o.datatype == "FP32") {
        binary.append(reinterpret_cast<const char*>(o.fp32.data()), o.fp32.size() * sizeof(float));
      } else {
        for (const std::string& s : o.bytes) {
          const auto n = static_cast<uint32_t>(s.size());
          for (int i = 0; i < 4; ++i) binary.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
          binary += s;
        }
      }
      out["parameters"] = {{"binary_data_size", binary.size() - before}};
    } else if (o.datatype == "FP32") {
      out["data"] = o.fp32;
    } else {
      out["data"] = o.bytes;
    }
    j["outputs"].push_back(std::move(out));
  }
  EncodedBody e;
  e.body = j.dump(-1, ' ', false, json::error_handler_t::replace);
  if (any_binary) {
    e.header_length = e.body.size();
    e.body += binary;
  }
  return e;
}

}  // namespace kamado::serving::http
