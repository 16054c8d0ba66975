#include "serving/http/conformance.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "core/utf8.h"
#include "serving/http/encoding.h"

namespace kamado::serving::http {
namespace {

namespace bhttp = boost::beast::http;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// The codings of every Transfer-Encoding field, in order, lowercase.
std::vector<std::string> TransferCodings(const bhttp::request_header<>& head) {
  std::vector<std::string> codings;
  for (auto it = head.find(bhttp::field::transfer_encoding);
       it != head.end() && it->name() == bhttp::field::transfer_encoding; ++it) {
    std::string_view v(it->value().data(), it->value().size());
    size_t pos = 0;
    while (pos <= v.size()) {
      size_t next = v.find(',', pos);
      if (next == std::string_view::npos) next = v.size();
      std::string_view c = Trim(v.substr(pos, next - pos));
      c = Trim(c.substr(0, c.find(';')));  // parameters do not change the coding's name
      if (!c.empty()) codings.push_back(Lower(c));
      pos = next + 1;
    }
  }
  return codings;
}

}  // namespace

std::optional<Refusal> CheckRequestHead(const bhttp::request_header<>& head) {
  const std::string_view target(head.target().data(), head.target().size());
  if (!IsValidUtf8(target)) return Refusal{400, "the request target is not valid UTF-8"};
  for (const auto& f : head) {
    if (!IsValidUtf8(std::string_view(f.value().data(), f.value().size()))) {
      std::string name(f.name_string());
      if (!IsValidUtf8(name)) name = "?";
      return Refusal{400, "the value of header '" + name + "' is not valid UTF-8"};
    }
  }
  if (head.version() >= 11) {
    const size_t hosts = head.count(bhttp::field::host);
    if (hosts != 1) {
      return Refusal{400, hosts == 0 ? "an HTTP/1.1 request needs a Host header (RFC 9112 section 3.2)"
                                     : "the request has more than one Host header"};
    }
  }
  const std::vector<std::string> codings = TransferCodings(head);
  if (head.count(bhttp::field::transfer_encoding) > 0) {
    if (head.count(bhttp::field::content_length) > 0) {
      return Refusal{400, "the request has both Transfer-Encoding and Content-Length (RFC 9112 section 6.1)"};
    }
    if (codings.empty() || codings.back() != "chunked") {
      return Refusal{400, "Transfer-Encoding must end with 'chunked' (RFC 9112 section 6.1)"};
    }
    if (codings.size() > 1) {  // another coding before the final chunked
      if (codings.front() == "chunked") return Refusal{400, "Transfer-Encoding applies 'chunked' twice"};
      return Refusal{501, "transfer coding '" + codings.front() +
                              "' is not supported (kamado reads only 'chunked')"};
    }
  }
  return std::nullopt;
}

}  // namespace kamado::serving::http
