#include "serving/http/url.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace kamado::serving::http {

Result<HttpUrl> ParseHttpUrl(std::string_view url, std::string_view flag) {
  const std::string_view scheme = "http://";
  if (url.substr(0, scheme.size()) != scheme) {
    return InvalidArgument(
        fmt::format("{} '{}' must start with http:// (https is not supported)", flag, url));
  }
  std::string_view rest = url.substr(scheme.size());
  HttpUrl u;
  const size_t slash = rest.find('/');
  if (slash != std::string_view::npos) {
    u.target = std::string(rest.substr(slash));
    rest = rest.substr(0, slash);
  }
  if (u.target.find_first_of("#") != std::string::npos ||
      rest.find_first_of("?#@") != std::string_view::npos) {
    return InvalidArgument(fmt::format(
        "{} '{}': no user info or fragment (expected http://host:port/path)", flag, url));
  }
  if (rest.empty()) return InvalidArgument(fmt::format("{} '{}': no host", flag, url));
  const size_t colon = rest.rfind(':');
  const bool has_port = colon != std::string_view::npos && rest.back() != ']';
  u.host = std::string(has_port ? rest.substr(0, colon) : rest);
  if (has_port) {
    const std::string_view port = rest.substr(colon + 1);
    const bool digits =
        !port.empty() && port.size() <= 5 &&
        std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); });
    const int value = digits ? std::stoi(std::string(port)) : 0;
    if (value < 1 || value > 65535) {
      return InvalidArgument(
          fmt::format("{} '{}': bad port (expected http://host:port)", flag, url));
    }
    u.port = static_cast<uint16_t>(value);
  }
  if (u.host.size() > 2 && u.host.front() == '[' && u.host.back() == ']') {  // [::1]
    u.host = u.host.substr(1, u.host.size() - 2);
  }
  if (u.host.empty() || u.host.find_first_of("[]") != std::string::npos) {
    return InvalidArgument(fmt::format("{} '{}': bad host (expected http://host:port)", flag, url));
  }
  return u;
}

}  // namespace kamado::serving::http
