#include "serving/serve_config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>

#include "core/file_util.h"
#include "model/yaml_errors.h"
#include "runtime/precision.h"

namespace kamado::serving {
namespace {

constexpr int64_t kMaxInt = std::numeric_limits<int>::max();

enum class Kind { kInt, kBool, kString, kModels, kDouble };

// One setting: its key and, for numbers, its range and how to read and write
// it on a ServeConfig. One table serves the parser, the overrides and the checks.
struct Key {
  const char* name;
  Kind kind;
  int64_t min = 0;
  int64_t max = 0;
  int64_t (*get)(const ServeConfig&) = nullptr;
  void (*set)(ServeConfig&, int64_t) = nullptr;
  std::string& (*str)(ServeConfig&) = nullptr;  // kString: the field
  double& (*real)(ServeConfig&) = nullptr;      // kDouble: the field, in (min, max]
};

#define KAMADO_INT_KEY(name, field, lo, hi)                                                       \
  Key {                                                                                           \
    name, Kind::kInt, lo, hi, [](const ServeConfig& c) { return static_cast<int64_t>(c.field); }, \
        [](ServeConfig& c, int64_t v) { c.field = static_cast<decltype(c.field)>(v); }            \
  }

const std::vector<Key>& Keys() {
  static const std::vector<Key> keys = {
      Key{"host", Kind::kString, 0, 0, nullptr, nullptr, [](ServeConfig& c) -> std::string& { return c.host; }},
      KAMADO_INT_KEY("port", port, 0, 65535),
      Key{"models", Kind::kModels, 0, 0, nullptr, nullptr},
      KAMADO_INT_KEY("sessions", service.sessions, 0, 1024),
      KAMADO_INT_KEY("threads", service.threads, 0, 1024),
      KAMADO_INT_KEY("max_batch", service.max_batch, 1, 256),
      KAMADO_INT_KEY("batch_delay_us", service.batch_delay_us, -1, kMaxInt),
      KAMADO_INT_KEY("max_queue", service.max_queue, 1, 1000000),
      KAMADO_INT_KEY("timeout_ms", service.timeout_ms, 0, kMaxInt),
      KAMADO_INT_KEY("max_body_bytes", max_body_bytes, 1, int64_t{1} << 32),
      KAMADO_INT_KEY("io_threads", io_threads, 0, 1024),
      KAMADO_INT_KEY("decode_threads", service.decode_threads, 0, 1024),
      KAMADO_INT_KEY("header_timeout_ms", header_timeout_ms, 1, kMaxInt),
      KAMADO_INT_KEY("body_timeout_ms", body_timeout_ms, 1, kMaxInt),
      KAMADO_INT_KEY("drain_delay_s", drain_delay_s, 0, 3600),
      KAMADO_INT_KEY("drain_timeout_ms", drain_timeout_ms, 0, kMaxInt),
      KAMADO_INT_KEY("max_connections", max_connections, 0, 10'000'000),
      KAMADO_INT_KEY("max_buffered_bytes", max_buffered_bytes, 1, int64_t{1} << 40),
      KAMADO_INT_KEY("max_decode_bytes_per_request", service.max_decode_bytes_per_request, 1,
                     int64_t{1} << 40),
      KAMADO_INT_KEY("max_decode_bytes_in_flight", service.max_decode_bytes_in_flight, 1,
                     int64_t{1} << 40),
      Key{"allow_non_finite_inputs", Kind::kBool, 0, 1,
          [](const ServeConfig& c) { return static_cast<int64_t>(c.service.allow_non_finite_inputs); },
          [](ServeConfig& c, int64_t v) { c.service.allow_non_finite_inputs = v != 0; }},
      KAMADO_INT_KEY("workers", workers, 1, 256),
      Key{"oversubscribe", Kind::kBool, 0, 1,
          [](const ServeConfig& c) { return static_cast<int64_t>(c.oversubscribe); },
          [](ServeConfig& c, int64_t v) { c.oversubscribe = v != 0; }},
      Key{"pin", Kind::kBool, 0, 1,
          [](const ServeConfig& c) { return static_cast<int64_t>(c.service.pin); },
          [](ServeConfig& c, int64_t v) { c.service.pin = v != 0; }},
      Key{"compile_cache", Kind::kString, 0, 0, nullptr, nullptr,
          [](ServeConfig& c) -> std::string& { return c.service.compile_cache; }},
      Key{"trace", Kind::kString, 0, 0, nullptr, nullptr,
          [](ServeConfig& c) -> std::string& { return c.trace; }},
      Key{"precision", Kind::kString, 0, 0, nullptr, nullptr,
          [](ServeConfig& c) -> std::string& { return c.service.precision; }},
      Key{"allow_ungated", Kind::kBool, 0, 1,
          [](const ServeConfig& c) { return static_cast<int64_t>(c.service.allow_ungated); },
          [](ServeConfig& c, int64_t v) { c.service.allow_ungated = v != 0; }},
      Key{"mirror", Kind::kString, 0, 0, nullptr, nullptr,
          [](ServeConfig& c) -> std::string& { return c.mirror; }},
      Key{"mirror_share", Kind::kDouble, 0, 1, nullptr, nullptr, nullptr,
          [](ServeConfig& c) -> double& { return c.mirror_share; }},
      KAMADO_INT_KEY("mirror_queue", mirror_queue, 1, 1000000),
  };
  return keys;
}

#undef KAMADO_INT_KEY

const Key* FindKey(std::string_view name) {
  for (const Key& k : Keys()) {
    if (name == k.name) return &k;
  }
  return nullptr;
}

bool IsServiceKey(std::string_view name) {
  for (const char* k :
       {"sessions", "threads", "max_batch", "batch_delay_us", "max_queue", "timeout_ms",
        "max_decode_bytes_per_request", "max_decode_bytes_in_flight", "allow_non_finite_inputs",
        "decode_threads", "pin", "precision", "allow_ungated"}) {
    if (name == k) return true;
  }
  return false;
}

std::string FlagForKey(std::string_view key) {
  if (key == "models") return "--model";
  std::string flag = "--" + std::string(key);
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

Result<std::string> ParsePath(const YAML::Node& v, std::string_view file, const YAML::Mark& mark,
                              const std::string& what) {
  if (!v.IsScalar() || v.Scalar().empty()) {
    return model::YamlError(file, mark, what + " must be a model directory, got " + model::DescribeYaml(v));
  }
  return v.Scalar();
}

// models: [DIR, {path: DIR}, ...]
Status ParseModels(const YAML::Node& v, std::string_view file, const YAML::Mark& mark,
                   std::vector<std::string>& out) {
  if (!v.IsSequence() || v.size() == 0) {
    return model::YamlError(file, mark,
                   "key 'models' must be a non-empty list of model directories "
                   "(\"- models/mobilenet_v2\" or \"- path: models/mobilenet_v2\"), got " +
                       model::DescribeYaml(v));
  }
  std::vector<std::string> models;
  for (size_t i = 0; i < v.size(); ++i) {
    const YAML::Node e = v[i];
    const std::string what = "key 'models[" + std::to_string(i) + "]";
    if (!e.IsMap()) {
      ASSIGN_OR_RETURN(std::string path, ParsePath(e, file, model::ValueMark(e, v), what + "'"));
      models.push_back(std::move(path));
      continue;
    }
    std::string path;
    for (const auto& kv : e) {
      const std::string name = kv.first.Scalar();
      if (name == "path") {
        ASSIGN_OR_RETURN(path,
                         ParsePath(kv.second, file, model::ValueMark(kv.second, kv.first), what + ".path'"));
      } else if (IsServiceKey(name)) {
        return model::YamlError(file, kv.first.Mark(),
                       what + "." + name + "': '" + name +
                           "' is server-wide (one setting for every model); set it at the top "
                           "level, not per model");
      } else {
        return model::YamlError(
            file, kv.first.Mark(),
            "unknown key '" + name + "' in " + what + "' (a model entry has only 'path')");
      }
    }
    if (path.empty()) return model::YamlError(file, e.Mark(), what + "' has no 'path'");
    models.push_back(std::move(path));
  }
  out = std::move(models);
  return Status::Ok();
}

std::string UnknownKeyMessage(const std::string& name) {
  std::string message = "unknown key '" + name + "'";
  const std::string suggestion = ServeConfigKeyForFlag(name);
  if (suggestion != name && FindKey(suggestion)) {
    return message + " (did you mean '" + suggestion + "'?)";
  }
  std::string known;
  for (const Key& k : Keys()) known += (known.empty() ? "" : ", ") + std::string(k.name);
  return message + " (known keys: " + known + ")";
}

Status ParseEntry(const YAML::Node& key_node, const YAML::Node& v, std::string_view file,
                  ServeConfig& config) {
  const std::string name = key_node.Scalar();
  const Key* key = FindKey(name);
  if (!key) return model::YamlError(file, key_node.Mark(), UnknownKeyMessage(name));
  const YAML::Mark mark = model::ValueMark(v, key_node);
  switch (key->kind) {
    case Kind::kString:
      if (!v.IsScalar() || v.Scalar().empty()) {
        return model::YamlError(file, mark, "key '" + name + "' must be a string, got " + model::DescribeYaml(v));
      }
      key->str(config) = v.Scalar();
      return Status::Ok();
    case Kind::kModels:
      return ParseModels(v, file, mark, config.models);
    case Kind::kBool: {
      const std::optional<bool> b = model::ScalarAs<bool>(v);
      if (!b) {
        return model::YamlError(file, mark,
                                "key '" + name + "' must be true or false, got " + model::DescribeYaml(v));
      }
      key->set(config, *b ? 1 : 0);
      return Status::Ok();
    }
    case Kind::kDouble: {
      const std::optional<double> d = model::ScalarAs<double>(v);
      if (!d || !(*d > static_cast<double>(key->min) && *d <= static_cast<double>(key->max))) {
        return model::YamlError(file, mark,
                                "key '" + name + "' must be a number in (" + std::to_string(key->min) + ", " +
                                    std::to_string(key->max) + "], got " + model::DescribeYaml(v));
      }
      key->real(config) = *d;
      return Status::Ok();
    }
    case Kind::kInt:
      break;
  }
  const std::optional<int64_t> parsed = model::ScalarAs<int64_t>(v);
  if (!parsed) {
    return model::YamlError(file, mark,
                            "key '" + name + "' must be an integer, got " + model::DescribeYaml(v));
  }
  const int64_t value = *parsed;
  if (value < key->min || value > key->max) {
    return model::YamlError(file, mark,
                   "key '" + name + "' must be in " + std::to_string(key->min) + ".." +
                       std::to_string(key->max) + ", got " + std::to_string(value));
  }
  key->set(config, value);
  return Status::Ok();
}

}  // namespace

const std::vector<std::string>& ServeConfigKeys() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const Key& k : Keys()) out.emplace_back(k.name);
    return out;
  }();
  return names;
}

std::string ServeConfigKeyForFlag(std::string_view long_flag) {
  if (long_flag == "config") return "";
  if (long_flag == "model") return "models";
  std::string key(long_flag);
  std::replace(key.begin(), key.end(), '-', '_');
  return key;
}

Status ParseServeConfig(std::string_view yaml, std::string_view file, ServeConfig& config) {
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    if (root.IsNull()) return Status::Ok();  // empty, or only comments
    if (!root.IsMap()) {
      return model::YamlError(
          file, root.Mark(),
          "the document must be a mapping of settings (key: value), got " + model::DescribeYaml(root));
    }
    std::map<std::string, int> seen;  // key → line
    for (const auto& kv : root) {
      if (!kv.first.IsScalar()) {
        return model::YamlError(file, kv.first.Mark(), "a key must be a name, got " + model::DescribeYaml(kv.first));
      }
      const std::string name = kv.first.Scalar();
      const int line = kv.first.Mark().line + 1;
      if (auto [it, inserted] = seen.emplace(name, line); !inserted) {
        return model::YamlError(
            file, kv.first.Mark(),
            "key '" + name + "' is repeated (first on line " + std::to_string(it->second) + ")");
      }
      RETURN_IF_ERROR(ParseEntry(kv.first, kv.second, file, config));
    }
  } catch (const YAML::ParserException& e) {
    return model::YamlError(file, e.mark, "not valid YAML: " + e.msg);
  } catch (const YAML::Exception& e) {
    return model::YamlError(file, e.mark, e.msg);
  }
  return Status::Ok();
}

Status LoadServeConfig(const std::filesystem::path& path, ServeConfig& config) {
  auto text = ReadFile(path, size_t{1} << 20);
  if (!text.ok()) {
    return NotFound("cannot read the config file " + path.string() + ": " +
                    text.status().message());
  }
  return ParseServeConfig(*text, path.string(), config);
}

Status OverrideServeConfig(const ServeConfig& flags, const std::vector<std::string>& keys,
                           ServeConfig& config) {
  for (const std::string& name : keys) {
    const Key* key = FindKey(name);
    if (!key) return InvalidArgument("'" + name + "' is not a setting of kamado serve");
    switch (key->kind) {
      case Kind::kString:
        key->str(config) = key->str(const_cast<ServeConfig&>(flags));
        break;
      case Kind::kModels:
        config.models = flags.models;
        break;
      case Kind::kInt:
      case Kind::kBool:
        key->set(config, key->get(flags));
        break;
      case Kind::kDouble:
        key->real(config) = key->real(const_cast<ServeConfig&>(flags));
        break;
    }
  }
  return Status::Ok();
}

Status ValidateServeConfig(const ServeConfig& config) {
  if (config.models.empty()) {
    return InvalidArgument("no model to serve: give --model DIR or 'models' in the config file");
  }
  for (const std::string& m : config.models) {
    if (m.empty()) return InvalidArgument("'models' (--model): a model directory is empty");
  }
  if (config.host.empty()) return InvalidArgument("'host' (--host) is empty");
  if (config.service.precision == "auto") {
    // Each worker would time the candidates itself and could choose
    // differently from the others.
    if (config.workers > 1) {
      return InvalidArgument(
          "'precision' (--precision) auto needs one process: with 'workers' (--workers) " +
          std::to_string(config.workers) +
          " each worker would choose by its own timing; choose once with --workers 1 (the log "
          "says what auto picked) and give that precision");
    }
  } else if (!config.service.precision.empty()) {
    if (auto p = runtime::ParsePrecision(config.service.precision); !p.ok()) {
      return InvalidArgument("'precision' (--precision): " + p.status().message() + " or auto");
    }
  }
  for (const Key& k : Keys()) {
    if (k.kind == Kind::kDouble) {
      const double v = k.real(const_cast<ServeConfig&>(config));
      if (!(v > static_cast<double>(k.min) && v <= static_cast<double>(k.max))) {
        return InvalidArgument(fmt::format("'{}' ({}) must be in ({}, {}], got {}", k.name, FlagForKey(k.name),
                                           k.min, k.max, v));
      }
      continue;
    }
    if (k.kind != Kind::kInt && k.kind != Kind::kBool) continue;
    const int64_t v = k.get(config);
    if (v < k.min || v > k.max) {
      return InvalidArgument("'" + std::string(k.name) + "' (" + FlagForKey(k.name) +
                             ") must be in " + std::to_string(k.min) + ".." +
                             std::to_string(k.max) + ", got " + std::to_string(v));
    }
  }
  if (config.workers > 1) {
    const std::pair<const char*, uint64_t> split[] = {
        {"max_connections", static_cast<uint64_t>(config.max_connections)},
        {"max_buffered_bytes", config.max_buffered_bytes},
        {"max_queue", config.service.max_queue},
        {"max_decode_bytes_in_flight", config.service.max_decode_bytes_in_flight}};
    for (const auto& [key, value] : split) {
      if (value == 0 && std::string_view(key) == "max_connections") continue;  // each process's own limit
      if (value < static_cast<uint64_t>(config.workers)) {
        return InvalidArgument("'" + std::string(key) + "' (" + FlagForKey(key) + ") " + std::to_string(value) +
                               " is the whole server's and cannot be split across " +
                               std::to_string(config.workers) + " workers (each gets " + key + " / workers)");
      }
    }
  }
  return Status::Ok();
}

ServeConfig WorkerShare(const ServeConfig& config) {
  ServeConfig w = config;
  if (config.workers <= 1) return w;
  const auto p = static_cast<uint64_t>(config.workers);
  w.max_connections = static_cast<int>(static_cast<uint64_t>(config.max_connections) / p);
  w.max_buffered_bytes = config.max_buffered_bytes / p;
  w.service.max_queue = config.service.max_queue / p;
  w.service.max_decode_bytes_in_flight = config.service.max_decode_bytes_in_flight / p;
  return w;
}

}  // namespace kamado::serving
