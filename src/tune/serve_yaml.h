// The serve.yaml of a tuned configuration: what `kamado serve --config`
// takes (serving/serve_config.h), with a comment saying where it came from.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "tune/search_space.h"

namespace kamado::tune {

struct ServeYamlOptions {
  std::vector<std::string> models;
  std::string host = "127.0.0.1";
  int port = 8080;
  std::vector<std::string> comment;  // lines, written as "# ..." at the top
  // More string settings ("compile_cache", "/tmp/c"), double-quoted.
  std::vector<std::pair<std::string, std::string>> extra;
};

std::string ServeYaml(const Candidate& c, const ServeYamlOptions& options);

}  // namespace kamado::tune
