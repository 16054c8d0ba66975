// Parsing the http:// URLs the client tools take (`kamado load --url`,
// `kamado shadow --a`): plain HTTP/1.1 only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace kamado::serving::http {

struct HttpUrl {
  std::string host;  // without the brackets of an IPv6 literal
  uint16_t port = 80;
  std::string target = "/";  // path and query, "/" when the URL has none
};

// http://host[:port][/path[?query]]. InvalidArgument naming `flag` and the
// URL: another scheme (https is not supported), a bad port or host, a
// fragment or user info.
Result<HttpUrl> ParseHttpUrl(std::string_view url, std::string_view flag);

}  // namespace kamado::serving::http
