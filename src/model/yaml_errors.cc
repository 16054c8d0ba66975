#include "model/yaml_errors.h"

namespace kamado::model {

Status YamlError(std::string_view file, const YAML::Mark& mark, const std::string& message,
                 StatusCode code) {
  std::string where(file);
  if (!mark.is_null()) {
    where.append(":").append(std::to_string(mark.line + 1));
    where.append(":").append(std::to_string(mark.column + 1));
  }
  return Status(code, where + ": " + message);
}

YAML::Mark ValueMark(const YAML::Node& value, const YAML::Node& key) {
  const YAML::Mark m = value.Mark();
  return m.is_null() || value.IsNull() ? key.Mark() : m;
}

std::string DescribeYaml(const YAML::Node& value) {
  switch (value.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return "nothing";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar:
      return "'" + value.Scalar() + "'";
  }
  return "?";
}

}  // namespace kamado::model
