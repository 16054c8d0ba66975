#include "cost/yaml_fields.h"

#include <cmath>

#include <fmt/format.h>

#include "core/file_util.h"
#include "model/yaml_errors.h"

namespace kamado::cost::internal {
namespace {

std::string Known(const std::vector<std::string_view>& known) {
  std::string out;
  for (std::string_view k : known) out += (out.empty() ? "" : ", ") + std::string(k);
  return out;
}

std::string FormatBound(double v) { return fmt::format("{:g}", v); }

}  // namespace

Result<Fields> Fields::Open(const YAML::Node& node, const YAML::Mark& where, std::string_view file,
                            std::string what, const std::vector<std::string_view>& known) {
  Fields f;
  f.file_ = std::string(file);
  f.what_ = std::move(what);
  f.mark_ = node.IsDefined() && !node.IsNull() ? node.Mark() : where;
  if (!node.IsMap()) {
    return model::YamlError(file, f.mark_, f.what_ + " must be a mapping (key: value), got " +
                                               model::DescribeYaml(node));
  }
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) {
      return model::YamlError(file, kv.first.Mark(),
                              "a key in " + f.what_ + " must be a name, got " + model::DescribeYaml(kv.first));
    }
    const std::string& name = kv.first.Scalar();
    bool ok = false;
    for (std::string_view k : known) ok = ok || k == name;
    if (!ok) {
      return model::YamlError(file, kv.first.Mark(),
                              "unknown key '" + name + "' in " + f.what_ + " (known keys: " + Known(known) + ")");
    }
    if (auto it = f.values_.find(name); it != f.values_.end()) {
      return model::YamlError(file, kv.first.Mark(),
                              "key '" + name + "' in " + f.what_ + " is repeated (first on line " +
                                  std::to_string(it->second.key.Mark().line + 1) + ")");
    }
    f.values_.emplace(name, Entry{kv.first, kv.second});
  }
  return f;
}

YAML::Node Fields::Node(std::string_view key) const {
  auto it = values_.find(key);
  return it == values_.end() ? YAML::Node() : it->second.value;
}

YAML::Mark Fields::MarkOf(std::string_view key) const {
  auto it = values_.find(key);
  if (it == values_.end()) return mark_;
  return model::ValueMark(it->second.value, it->second.key);
}

Status Fields::Missing(std::string_view key) const {
  return model::YamlError(file_, mark_, what_ + " has no '" + std::string(key) + "'");
}

Status Fields::Error(std::string_view key, const std::string& message) const {
  return model::YamlError(file_, MarkOf(key), Name(key) + " " + message);
}

Result<std::string> Fields::String(std::string_view key, std::optional<std::string> fallback) const {
  if (!Has(key)) {
    if (fallback) return *fallback;
    return Missing(key);
  }
  const YAML::Node v = Node(key);
  std::optional<std::string> s = model::ScalarAs<std::string>(v);
  if (!s || s->empty()) return Error(key, "must be a non-empty string, got " + model::DescribeYaml(v));
  return *s;
}

Result<double> Fields::Number(std::string_view key, double min, double max,
                              std::optional<double> fallback) const {
  if (!Has(key)) {
    if (fallback) return *fallback;
    return Missing(key);
  }
  const YAML::Node v = Node(key);
  std::optional<double> d = model::ScalarAs<double>(v);
  if (!d || !std::isfinite(*d)) return Error(key, "must be a number, got " + model::DescribeYaml(v));
  if (*d < min || *d > max) {
    return Error(key, "must be in " + FormatBound(min) + ".." + FormatBound(max) + ", got " + FormatBound(*d));
  }
  return *d;
}

Result<int> Fields::Integer(std::string_view key, int min, int max, std::optional<int> fallback) const {
  if (!Has(key)) {
    if (fallback) return *fallback;
    return Missing(key);
  }
  const YAML::Node v = Node(key);
  std::optional<int64_t> i = model::ScalarAs<int64_t>(v);
  if (!i) return Error(key, "must be an integer, got " + model::DescribeYaml(v));
  if (*i < min || *i > max) {
    return Error(key, "must be in " + std::to_string(min) + ".." + std::to_string(max) + ", got " +
                          std::to_string(*i));
  }
  return static_cast<int>(*i);
}

Result<bool> Fields::Bool(std::string_view key, std::optional<bool> fallback) const {
  if (!Has(key)) {
    if (fallback) return *fallback;
    return Missing(key);
  }
  const YAML::Node v = Node(key);
  std::optional<bool> b = model::ScalarAs<bool>(v);
  if (!b) return Error(key, "must be true or false, got " + model::DescribeYaml(v));
  return *b;
}

Result<std::vector<std::string>> Fields::Strings(std::string_view key) const {
  std::vector<std::string> out;
  if (!Has(key)) return out;
  const YAML::Node v = Node(key);
  if (!v.IsSequence()) return Error(key, "must be a list of names, got " + model::DescribeYaml(v));
  for (size_t i = 0; i < v.size(); ++i) {
    std::optional<std::string> s = model::ScalarAs<std::string>(v[i]);
    if (!s || s->empty()) {
      return model::YamlError(file_, v[i].Mark(),
                              Name(key) + "[" + std::to_string(i) + "] must be a name, got " +
                                  model::DescribeYaml(v[i]));
    }
    out.push_back(*s);
  }
  return out;
}

Result<std::vector<double>> Fields::Numbers(std::string_view key, size_t count, double min, double max) const {
  if (!Has(key)) return Missing(key);
  const YAML::Node v = Node(key);
  if (!v.IsSequence() || v.size() != count) {
    return Error(key, "must be a list of " + std::to_string(count) + " numbers, got " +
                          (v.IsSequence() ? std::to_string(v.size()) + " items" : model::DescribeYaml(v)));
  }
  std::vector<double> out;
  for (size_t i = 0; i < v.size(); ++i) {
    std::optional<double> d = model::ScalarAs<double>(v[i]);
    const std::string item = Name(key) + "[" + std::to_string(i) + "]";
    if (!d || !std::isfinite(*d)) {
      return model::YamlError(file_, v[i].Mark(), item + " must be a number, got " + model::DescribeYaml(v[i]));
    }
    if (*d < min || *d > max) {
      return model::YamlError(file_, v[i].Mark(),
                              item + " must be in " + FormatBound(min) + ".." + FormatBound(max) + ", got " +
                                  FormatBound(*d));
    }
    out.push_back(*d);
  }
  return out;
}

Result<std::string> ReadInputFile(const std::filesystem::path& path, size_t limit, std::string_view what) {
  auto text = ReadFile(path, limit);
  if (!text.ok()) return NotFound("cannot read the " + std::string(what) + " " + path.string() + ": " + text.status().message());
  return text;
}

Result<YAML::Node> LoadYamlDocument(std::string_view yaml, std::string_view file) {
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    if (!root.IsMap()) {
      return model::YamlError(file, root.Mark(), "the document must be a mapping, got " + model::DescribeYaml(root));
    }
    return root;
  } catch (const YAML::ParserException& e) {
    return model::YamlError(file, e.mark, "not valid YAML: " + e.msg);
  } catch (const YAML::Exception& e) {
    return model::YamlError(file, e.mark, e.msg);
  }
}

}  // namespace kamado::cost::internal
