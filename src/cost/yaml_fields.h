// Reading one YAML mapping of typed fields, for the catalog and the traffic
// profile: unknown and repeated keys are refused, each value is checked for
// its type and range, and every error is "FILE:LINE:COLUMN: <what>.<field>
// ...". Internal to the cost layer.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/status.h"

namespace kamado::cost::internal {

class Fields {
 public:
  // `what` names the mapping in messages ("instances[3]"). Checks that
  // `node` is a mapping of scalar keys, each once and each in `known`.
  static Result<Fields> Open(const YAML::Node& node, const YAML::Mark& where, std::string_view file,
                             std::string what, const std::vector<std::string_view>& known);

  bool Has(std::string_view key) const { return values_.count(std::string(key)) != 0; }
  // Required when `fallback` is nullopt; otherwise absent gives `fallback`.
  Result<std::string> String(std::string_view key, std::optional<std::string> fallback = std::nullopt) const;
  Result<double> Number(std::string_view key, double min, double max,
                        std::optional<double> fallback = std::nullopt) const;
  Result<int> Integer(std::string_view key, int min, int max, std::optional<int> fallback = std::nullopt) const;
  Result<bool> Bool(std::string_view key, std::optional<bool> fallback = std::nullopt) const;
  Result<std::vector<std::string>> Strings(std::string_view key) const;  // absent: empty
  // A list of exactly `count` numbers in [min, max].
  Result<std::vector<double>> Numbers(std::string_view key, size_t count, double min, double max) const;
  // The node of a key (null when absent) and where to point at it.
  YAML::Node Node(std::string_view key) const;
  YAML::Mark MarkOf(std::string_view key) const;
  Status Error(std::string_view key, const std::string& message) const;
  // "FILE:LINE:COLUMN: what has no 'key'", pointing at the mapping.
  Status Missing(std::string_view key) const;
  // "what.key"
  std::string Name(std::string_view key) const { return what_ + "." + std::string(key); }
  const YAML::Mark& mark() const { return mark_; }
  const std::string& what() const { return what_; }
  const std::string& file() const { return file_; }

 private:
  struct Entry {
    YAML::Node key, value;
  };
  std::string file_, what_;
  YAML::Mark mark_;
  std::map<std::string, Entry, std::less<>> values_;
};

// The file's text (at most `limit` bytes), or NotFound "cannot read the
// <what> PATH: why".
Result<std::string> ReadInputFile(const std::filesystem::path& path, size_t limit, std::string_view what);

// Parses `yaml` as a document whose root is a mapping; YAML syntax errors are
// reported as FILE:LINE:COLUMN too.
Result<YAML::Node> LoadYamlDocument(std::string_view yaml, std::string_view file);

}  // namespace kamado::cost::internal
