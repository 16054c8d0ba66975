// Error messages for the YAML files kamado reads (kamado.yaml here, and
// serve.yaml in serving): every one starts "FILE:LINE:COLUMN: " so an
// operator can jump to the mistake. Pure functions; never throw.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <type_traits>
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/utf8.h"

namespace kamado::model {

// "FILE:LINE:COLUMN: message" (yaml-cpp counts from 0, this from 1); just
// "FILE: message" when the mark is null.
Status YamlError(std::string_view file, const YAML::Mark& mark, const std::string& message,
                 StatusCode code = StatusCode::kInvalidArgument);

// Where to point for a value: its own mark, or its key's when the value is
// empty (yaml-cpp marks an empty value where the next token starts, often on
// a later line).
YAML::Mark ValueMark(const YAML::Node& value, const YAML::Node& key);

// The value as a message shows it: "'abc'", "a list", "a mapping", "nothing".
std::string DescribeYaml(const YAML::Node& value);

// A scalar as T, or nullopt when it is not a scalar or does not convert (the
// caller then reports it with DescribeYaml). A string must be printable
// UTF-8 (core/utf8.h): YAML is UTF-8, and what kamado writes back
// (FormatModelConfig) must read back the same. Never throws.
template <typename T>
std::optional<T> ScalarAs(const YAML::Node& value) {
  if (!value.IsScalar()) return std::nullopt;
  try {
    if constexpr (std::is_same_v<T, std::string>) {
      if (!IsPrintableUtf8(value.Scalar())) return std::nullopt;
    }
    return value.as<T>();
  } catch (const YAML::Exception&) {
    return std::nullopt;
  }
}

}  // namespace kamado::model
