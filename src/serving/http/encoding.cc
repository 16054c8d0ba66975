#include "serving/http/encoding.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace kamado::serving::http {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<std::string> Base64Decode(std::string_view in) {
  static const std::array<int8_t, 256> table = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
    t['-'] = 62;  // URL-safe alphabet too
    t['_'] = 63;
    return t;
  }();
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  bool padding = false;
  for (char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isspace(c)) continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    const int v = table[c];
    if (v < 0 || padding) return InvalidArgument("invalid base64 data");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

std::string Base64Encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8) |
                       static_cast<uint8_t>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  if (i < in.size()) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<uint8_t>(in[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::string MediaType(std::string_view content_type) {
  return Lower(Trim(content_type.substr(0, content_type.find(';'))));
}

std::string MediaTypeParameter(std::string_view content_type, std::string_view name) {
  size_t pos = content_type.find(';');
  while (pos != std::string_view::npos) {
    const size_t next = content_type.find(';', pos + 1);
    std::string_view param = Trim(content_type.substr(pos + 1, next - pos - 1));
    const size_t eq = param.find('=');
    if (eq != std::string_view::npos && Lower(Trim(param.substr(0, eq))) == Lower(name)) {
      std::string_view value = Trim(param.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      return std::string(value);
    }
    pos = next;
  }
  return "";
}

Result<std::string_view> MultipartField(std::string_view body, std::string_view content_type,
                                        std::string_view field) {
  const std::string boundary = MediaTypeParameter(content_type, "boundary");
  if (boundary.empty()) return InvalidArgument("multipart/form-data without a boundary");
  const std::string delimiter = "--" + boundary;
  size_t pos = body.find(delimiter);
  if (pos == std::string_view::npos) return InvalidArgument("multipart body without its boundary");
  for (;;) {
    pos += delimiter.size();
    if (body.substr(pos, 2) == "--") break;  // the closing delimiter
    if (body.substr(pos, 2) != "\r\n") return InvalidArgument("malformed multipart body");
    pos += 2;
    const size_t headers_end = body.find("\r\n\r\n", pos);
    if (headers_end == std::string_view::npos) return InvalidArgument("malformed multipart part");
    const std::string headers = Lower(body.substr(pos, headers_end - pos));
    const size_t content = headers_end + 4;
    const size_t end = body.find("\r\n" + delimiter, content);
    if (end == std::string_view::npos) return InvalidArgument("unterminated multipart part");
    const std::string wanted = "name=\"" + Lower(field) + "\"";
    for (size_t line = 0; line < headers.size();) {
      size_t eol = headers.find("\r\n", line);
      if (eol == std::string::npos) eol = headers.size();
      const std::string_view h = std::string_view(headers).substr(line, eol - line);
      // `name="f"`, not `filename="f"`.
      const size_t at = h.find(wanted);
      if (h.starts_with("content-disposition:") && at != std::string_view::npos &&
          (h[at - 1] == ' ' || h[at - 1] == ';')) {
        return body.substr(content, end - content);
      }
      line = eol + 2;
    }
    pos = end + 2;
  }
  return InvalidArgument("multipart body has no field '" + std::string(field) + "'");
}

}  // namespace kamado::serving::http
