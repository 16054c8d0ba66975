#include "model/model_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <map>
#include <optional>
#include <span>
#include <type_traits>

#include "core/file_util.h"
#include "model/yaml_errors.h"

namespace kamado::model {
namespace {

template <typename E>
struct EnumName {
  std::string_view name;
  E value;
};

constexpr EnumName<ModelFormat> kFormats[] = {{"tfjs", ModelFormat::kTfjs},
                                              {"onnx", ModelFormat::kOnnx}};
constexpr EnumName<Layout> kLayouts[] = {{"NHWC", Layout::kNHWC}, {"NCHW", Layout::kNCHW}};
constexpr EnumName<runtime::Precision> kPrecisions[] = {{"fp32", runtime::Precision::kFp32},
                                                        {"bf16", runtime::Precision::kBf16},
                                                        {"int8", runtime::Precision::kInt8}};
constexpr EnumName<image::Resize> kResizes[] = {
    {"bilinear_align_corners", image::Resize::kBilinearAlignCorners},
    {"bilinear", image::Resize::kBilinearHalfPixel}};
constexpr EnumName<Fit> kFits[] = {{"stretch", Fit::kStretch}};
constexpr EnumName<image::AlphaMode> kAlphas[] = {{"drop", image::AlphaMode::kDrop},
                                                  {"composite", image::AlphaMode::kComposite}};

template <typename E>
std::string_view NameOf(std::span<const EnumName<E>> names, E value) {
  for (const auto& n : names) {
    if (n.value == value) return n.name;
  }
  return "?";
}

template <typename T>
constexpr const char* TypeName() {
  if constexpr (std::is_same_v<T, bool>) return "true or false";
  if constexpr (std::is_integral_v<T>) return "a whole number";
  if constexpr (std::is_floating_point_v<T>) return "a number";
  return "a string (printable UTF-8)";
}

// Reads one document, keeping the file name for every message. The paths in
// messages are dotted ("preprocess.mean").
class Parser {
 public:
  explicit Parser(std::string_view file) : file_(file) {}

  Status Error(const YAML::Mark& at, const std::string& message,
               StatusCode code = StatusCode::kInvalidArgument) const {
    return YamlError(file_, at, message, code);
  }

  // Every key of `map` is a name, appears once and is one of `known`.
  Status CheckKeys(const YAML::Node& map, std::string_view prefix,
                   std::initializer_list<std::string_view> known) const {
    std::map<std::string, int> seen;
    for (const auto& kv : map) {
      if (!kv.first.IsScalar()) {
        return Error(kv.first.Mark(), "a key must be a name, got " + DescribeYaml(kv.first));
      }
      const std::string name = kv.first.Scalar();
      const std::string path = Join(prefix, name);
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        std::string list;
        for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
        return Error(kv.first.Mark(), "unknown key '" + path + "' (known here: " + list + ")");
      }
      if (auto [it, inserted] = seen.emplace(name, kv.first.Mark().line + 1); !inserted) {
        return Error(kv.first.Mark(), "key '" + path + "' is repeated (first on line " +
                                          std::to_string(it->second) + ")");
      }
    }
    return Status::Ok();
  }

  // map[key] as T; absent keeps `out` unless `required`.
  template <typename T>
  Status Scalar(const YAML::Node& map, std::string_view prefix, std::string_view key, T& out,
                bool required = false) const {
    YAML::Node k, v;
    if (!Find(map, key, k, v)) return Missing(map, prefix, key, required);
    const std::string path = Join(prefix, key);
    const auto bad = [&] {
      return Error(ValueMark(v, k),
                   "key '" + path + "' must be " + TypeName<T>() + ", got " + DescribeYaml(v));
    };
    if constexpr (std::is_unsigned_v<T> && !std::is_same_v<T, bool>) {
      if (v.IsScalar() && v.Scalar().find('-') != std::string::npos) return bad();
    }
    std::optional<T> value = ScalarAs<T>(v);
    if (!value) return bad();
    out = std::move(*value);
    if constexpr (std::is_same_v<T, std::string>) {
      if (out.empty()) return Error(ValueMark(v, k), "key '" + path + "' must not be empty");
    }
    return Status::Ok();
  }

  // map[key] as one of `names`; an unknown value is `code`.
  template <typename E>
  Status Enum(const YAML::Node& map, std::string_view prefix, std::string_view key,
              std::span<const EnumName<E>> names, E& out, StatusCode code,
              bool required = false) const {
    std::string text;
    YAML::Node k, v;
    if (!Find(map, key, k, v)) return Missing(map, prefix, key, required);
    RETURN_IF_ERROR(Scalar(map, prefix, key, text));
    std::string list;
    for (const auto& n : names) {
      if (n.name == text) {
        out = n.value;
        return Status::Ok();
      }
      list += (list.empty() ? "" : ", ") + std::string(n.name);
    }
    return Error(v.Mark(), "key '" + Join(prefix, key) + "': '" + text + "' is not one of " + list,
                 code);
  }

  // map[key] as a list of T (of exactly `size` items when size > 0).
  template <typename T>
  Status List(const YAML::Node& map, std::string_view prefix, std::string_view key,
              std::vector<T>& out, size_t size = 0, bool required = false) const {
    YAML::Node k, v;
    if (!Find(map, key, k, v)) return Missing(map, prefix, key, required);
    const std::string path = Join(prefix, key);
    std::string want = size ? std::to_string(size) + " values" : "a list";
    if (!v.IsSequence() || (size > 0 && v.size() != size)) {
      return Error(ValueMark(v, k), "key '" + path + "' must be " + want + " (each " +
                                        TypeName<T>() + "), got " + DescribeYaml(v) +
                                        (v.IsSequence() ? " of " + std::to_string(v.size()) : ""));
    }
    std::vector<T> values;
    for (size_t i = 0; i < v.size(); ++i) {
      const YAML::Node e = v[i];
      std::optional<T> value = ScalarAs<T>(e);
      if (!value) {
        return Error(ValueMark(e, v), "key '" + path + "[" + std::to_string(i) + "]' must be " +
                                          TypeName<T>() + ", got " + DescribeYaml(e));
      }
      values.push_back(std::move(*value));
    }
    out = std::move(values);
    return Status::Ok();
  }

  // The mapping under `key` (nullopt when absent and not required).
  Result<std::optional<YAML::Node>> Map(const YAML::Node& map, std::string_view prefix,
                                        std::string_view key, bool required) const {
    YAML::Node k, v;
    if (!Find(map, key, k, v)) {
      RETURN_IF_ERROR(Missing(map, prefix, key, required));
      return std::optional<YAML::Node>();
    }
    if (!v.IsMap()) {
      return Error(ValueMark(v, k), "key '" + Join(prefix, key) + "' must be a mapping, got " +
                                        DescribeYaml(v));
    }
    return std::optional<YAML::Node>(v);
  }

  // The mark of map[key]'s value (the map's when absent), for range errors.
  YAML::Mark MarkOf(const YAML::Node& map, std::string_view key) const {
    YAML::Node k, v;
    return Find(map, key, k, v) ? ValueMark(v, k) : map.Mark();
  }

  static std::string Join(std::string_view prefix, std::string_view key) {
    return prefix.empty() ? std::string(key) : std::string(prefix) + "." + std::string(key);
  }

 private:
  static bool Find(const YAML::Node& map, std::string_view key, YAML::Node& k, YAML::Node& v) {
    for (const auto& kv : map) {
      if (kv.first.IsScalar() && kv.first.Scalar() == key) {
        k = kv.first;
        v = kv.second;
        return true;
      }
    }
    return false;
  }

  Status Missing(const YAML::Node& map, std::string_view prefix, std::string_view key,
                 bool required) const {
    if (!required) return Status::Ok();
    return Error(map.Mark(), "missing key '" + Join(prefix, key) + "'");
  }

  std::string file_;
};

Status ParsePreprocess(const Parser& p, const YAML::Node& m, PreprocessConfig& c) {
  RETURN_IF_ERROR(p.CheckKeys(m, "preprocess",
                              {"scale", "mean", "std", "resize", "fit", "exact_resize", "alpha",
                               "background"}));
  RETURN_IF_ERROR(p.Scalar(m, "preprocess", "scale", c.scale));
  if (!(c.scale > 0) || !std::isfinite(c.scale)) {
    return p.Error(p.MarkOf(m, "scale"), "key 'preprocess.scale' must be a positive number");
  }
  for (auto [key, out] : {std::pair{"mean", &c.mean}, {"std", &c.std}}) {
    std::vector<float> values(out->begin(), out->end());
    RETURN_IF_ERROR(p.List(m, "preprocess", key, values, 3));
    std::copy(values.begin(), values.end(), out->begin());
  }
  for (float s : c.std) {
    if (s == 0.0f || !std::isfinite(s)) {
      return p.Error(p.MarkOf(m, "std"), "key 'preprocess.std' must not contain 0");
    }
  }
  RETURN_IF_ERROR(p.Enum<image::Resize>(m, "preprocess", "resize", kResizes, c.resize,
                                        StatusCode::kUnsupported));
  RETURN_IF_ERROR(p.Enum<Fit>(m, "preprocess", "fit", kFits, c.fit, StatusCode::kUnsupported));
  RETURN_IF_ERROR(p.Scalar(m, "preprocess", "exact_resize", c.exact_resize));
  RETURN_IF_ERROR(p.Enum<image::AlphaMode>(m, "preprocess", "alpha", kAlphas, c.alpha,
                                           StatusCode::kUnsupported));
  std::vector<int> bg(c.background.begin(), c.background.end());
  RETURN_IF_ERROR(p.List(m, "preprocess", "background", bg, 3));
  for (size_t i = 0; i < 3; ++i) {
    if (bg[i] < 0 || bg[i] > 255) {
      return p.Error(p.MarkOf(m, "background"),
                     "key 'preprocess.background' values must be in 0..255");
    }
    c.background[i] = static_cast<uint8_t>(bg[i]);
  }
  return Status::Ok();
}

// decision: {name, positive: [labels], threshold}; needs `labels` parsed first.
Status ParseDecision(const Parser& p, const YAML::Node& m, ModelConfig& c) {
  RETURN_IF_ERROR(p.CheckKeys(m, "decision", {"name", "positive", "threshold"}));
  DecisionConfig d;
  RETURN_IF_ERROR(p.Scalar(m, "decision", "name", d.name, /*required=*/true));
  RETURN_IF_ERROR(p.List(m, "decision", "positive", d.positive, 0, /*required=*/true));
  if (d.positive.empty()) {
    return p.Error(p.MarkOf(m, "positive"), "key 'decision.positive' must name at least one label");
  }
  for (const std::string& label : d.positive) {
    auto it = std::find(c.labels.begin(), c.labels.end(), label);
    if (it == c.labels.end()) {
      return p.Error(p.MarkOf(m, "positive"),
                     "key 'decision.positive': '" + label + "' is not one of 'labels'");
    }
    d.positive_indices.push_back(static_cast<int>(it - c.labels.begin()));
  }
  RETURN_IF_ERROR(p.Scalar(m, "decision", "threshold", d.threshold));
  if (!(d.threshold >= 0.0 && d.threshold <= 1.0)) {
    return p.Error(p.MarkOf(m, "threshold"), "key 'decision.threshold' must be in 0..1");
  }
  c.decision = std::move(d);
  return Status::Ok();
}

Status Parse(const Parser& p, const YAML::Node& root, ModelConfig& c) {
  if (!root.IsMap()) {
    return p.Error(root.Mark(), "the document must be a mapping (key: value), got " +
                                    DescribeYaml(root));
  }
  RETURN_IF_ERROR(p.CheckKeys(root, "",
                              {"name", "format", "file", "input", "preprocess", "decode",
                               "labels", "labels_file", "decision", "source", "converted_from",
                               "precision",
                               "quantization"}));
  RETURN_IF_ERROR(p.Scalar(root, "", "name", c.name, /*required=*/true));
  RETURN_IF_ERROR(p.Enum<ModelFormat>(root, "", "format", kFormats, c.format,
                                      StatusCode::kUnsupported, /*required=*/true));
  RETURN_IF_ERROR(p.Scalar(root, "", "file", c.file, /*required=*/true));

  ASSIGN_OR_RETURN(const auto input_map, p.Map(root, "", "input", /*required=*/true));
  const YAML::Node& input = *input_map;
  RETURN_IF_ERROR(p.CheckKeys(input, "input", {"layout", "height", "width"}));
  RETURN_IF_ERROR(p.Enum<Layout>(input, "input", "layout", kLayouts, c.layout,
                                 StatusCode::kInvalidArgument, /*required=*/true));
  RETURN_IF_ERROR(p.Scalar(input, "input", "height", c.height, /*required=*/true));
  RETURN_IF_ERROR(p.Scalar(input, "input", "width", c.width, /*required=*/true));
  for (auto [key, v] : {std::pair{"height", c.height}, {"width", c.width}}) {
    if (v <= 0 || v > 16384) {
      return p.Error(p.MarkOf(input, key),
                     "key 'input." + std::string(key) + "' must be in 1..16384, got " +
                         std::to_string(v));
    }
  }

  ASSIGN_OR_RETURN(const auto pre, p.Map(root, "", "preprocess", false));
  if (pre) RETURN_IF_ERROR(ParsePreprocess(p, *pre, c.preprocess));

  ASSIGN_OR_RETURN(const auto decode, p.Map(root, "", "decode", false));
  if (decode) {
    const YAML::Node& d = *decode;
    RETURN_IF_ERROR(p.CheckKeys(d, "decode", {"max_input_bytes", "max_pixels", "max_side"}));
    RETURN_IF_ERROR(p.Scalar(d, "decode", "max_input_bytes", c.decode.max_input_bytes));
    RETURN_IF_ERROR(p.Scalar(d, "decode", "max_pixels", c.decode.max_pixels));
    RETURN_IF_ERROR(p.Scalar(d, "decode", "max_side", c.decode.max_side));
  }
  RETURN_IF_ERROR(p.List(root, "", "labels", c.labels));
  std::string labels_file;
  RETURN_IF_ERROR(p.Scalar(root, "", "labels_file", labels_file));
  if (!labels_file.empty()) {
    const YAML::Mark at = p.MarkOf(root, "labels_file");
    if (!c.labels.empty()) return p.Error(at, "give 'labels' or 'labels_file', not both");
    if (labels_file.find("..") != std::string::npos || labels_file[0] == '/') {
      return p.Error(at, "key 'labels_file' must be a file name inside the model directory");
    }
    // One label per line (a PyTorch imagenet_classes.txt): blank lines end
    // nothing and are errors, a trailing newline is not a label.
    const std::filesystem::path path = c.dir / labels_file;
    auto text = ReadFile(path, size_t{4} << 20);
    if (!text.ok()) return p.Error(at, "key 'labels_file': " + text.status().message());
    std::string_view rest = *text;
    for (int line = 1; !rest.empty(); ++line) {
      const size_t end = rest.find('\n');
      std::string_view label = rest.substr(0, end);
      rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
      if (!label.empty() && label.back() == '\r') label.remove_suffix(1);
      if (label.empty()) {
        return p.Error(at, "key 'labels_file': " + path.string() + " line " +
                               std::to_string(line) + " is empty (one label per line)");
      }
      c.labels.emplace_back(label);
    }
    if (c.labels.empty()) return p.Error(at, "key 'labels_file': " + path.string() + " is empty");
  }
  ASSIGN_OR_RETURN(const auto decision, p.Map(root, "", "decision", false));
  if (decision) RETURN_IF_ERROR(ParseDecision(p, *decision, c));
  RETURN_IF_ERROR(p.Scalar(root, "", "source", c.source));
  RETURN_IF_ERROR(p.Scalar(root, "", "converted_from", c.converted_from));
  RETURN_IF_ERROR(p.Enum<runtime::Precision>(root, "", "precision", kPrecisions, c.precision,
                                             StatusCode::kInvalidArgument));
  ASSIGN_OR_RETURN(const auto quant, p.Map(root, "", "quantization", false));
  if (quant) {
    const YAML::Node& q = *quant;
    RETURN_IF_ERROR(p.CheckKeys(q, "quantization", {"table", "method", "calibration", "fp32_layers"}));
    QuantizationConfig qc;
    RETURN_IF_ERROR(p.Scalar(q, "quantization", "table", qc.table, /*required=*/true));
    RETURN_IF_ERROR(p.Scalar(q, "quantization", "method", qc.method));
    RETURN_IF_ERROR(p.Scalar(q, "quantization", "calibration", qc.calibration));
    RETURN_IF_ERROR(p.List(q, "quantization", "fp32_layers", qc.fp32_layers));
    if (qc.table.empty() || qc.table.find("..") != std::string::npos || qc.table[0] == '/') {
      return p.Error(p.MarkOf(q, "table"),
                     "key 'quantization.table' must be a file name inside the model directory");
    }
    c.quantization = std::move(qc);
  }
  if (c.precision == runtime::Precision::kInt8 && !c.quantization) {
    return p.Error(p.MarkOf(root, "precision"),
                   "key 'precision' is int8 but there is no 'quantization' (written by kamado "
                   "quantize, which measures the ranges int8 needs)");
  }
  return Status::Ok();
}

}  // namespace

std::string_view ModelFormatName(ModelFormat format) {
  return NameOf<ModelFormat>(kFormats, format);
}

Shape ModelConfig::InputShape(int64_t batch) const {
  return layout == Layout::kNHWC ? Shape{batch, height, width, 3} : Shape{batch, 3, height, width};
}

Result<ModelConfig> ParseModelConfig(std::string_view yaml, std::string_view file,
                                     const std::filesystem::path& dir) {
  const Parser parser(file);
  ModelConfig config;
  config.dir = dir;
  try {
    RETURN_IF_ERROR(Parse(parser, YAML::Load(std::string(yaml)), config));
  } catch (const YAML::ParserException& e) {
    return parser.Error(e.mark, "not valid YAML: " + e.msg);
  } catch (const YAML::Exception& e) {
    return parser.Error(e.mark, e.msg);
  }
  return config;
}

Result<ModelConfig> LoadModelConfig(const std::filesystem::path& dir) {
  const auto path = dir / "kamado.yaml";
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return NotFound("model directory '" + dir.string() + "' has no kamado.yaml");
  }
  ASSIGN_OR_RETURN(const std::string text, ReadFile(path, size_t{1} << 20));
  return ParseModelConfig(text, path.string(), dir);
}

std::string FormatModelConfig(const ModelConfig& c) {
  YAML::Emitter out;
  auto flow = [&](const auto& values) {
    out << YAML::Flow << YAML::BeginSeq;
    for (const auto& v : values) out << v;
    out << YAML::EndSeq;
  };
  out << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << c.name;
  out << YAML::Key << "format" << YAML::Value << std::string(ModelFormatName(c.format));
  out << YAML::Key << "file" << YAML::Value << c.file;
  out << YAML::Key << "input" << YAML::Value << YAML::Flow << YAML::BeginMap;
  out << YAML::Key << "layout" << YAML::Value << std::string(NameOf<Layout>(kLayouts, c.layout));
  out << YAML::Key << "height" << YAML::Value << c.height;
  out << YAML::Key << "width" << YAML::Value << c.width << YAML::EndMap;
  const PreprocessConfig& p = c.preprocess;
  out << YAML::Key << "preprocess" << YAML::Value << YAML::Flow << YAML::BeginMap;
  out << YAML::Key << "scale" << YAML::Value << YAML::Precision(17) << p.scale;
  out << YAML::Key << "mean" << YAML::Value << YAML::Precision(9);
  flow(p.mean);
  out << YAML::Key << "std" << YAML::Value;
  flow(p.std);
  out << YAML::Key << "resize" << YAML::Value
      << std::string(NameOf<image::Resize>(kResizes, p.resize));
  out << YAML::Key << "fit" << YAML::Value << std::string(NameOf<Fit>(kFits, p.fit));
  out << YAML::Key << "exact_resize" << YAML::Value << p.exact_resize;
  out << YAML::Key << "alpha" << YAML::Value
      << std::string(NameOf<image::AlphaMode>(kAlphas, p.alpha));
  out << YAML::Key << "background" << YAML::Value;
  flow(std::vector<int>(p.background.begin(), p.background.end()));
  out << YAML::EndMap;
  if (c.decode != DecodeLimitsConfig{}) {
    out << YAML::Key << "decode" << YAML::Value << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "max_input_bytes" << YAML::Value << c.decode.max_input_bytes;
    out << YAML::Key << "max_pixels" << YAML::Value << c.decode.max_pixels;
    out << YAML::Key << "max_side" << YAML::Value << c.decode.max_side << YAML::EndMap;
  }
  if (!c.labels.empty()) {
    out << YAML::Key << "labels" << YAML::Value;
    flow(c.labels);
  }
  if (c.decision) {
    out << YAML::Key << "decision" << YAML::Value << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << c.decision->name;
    out << YAML::Key << "positive" << YAML::Value;
    flow(c.decision->positive);
    out << YAML::Key << "threshold" << YAML::Value << YAML::Precision(17) << c.decision->threshold
        << YAML::EndMap;
  }
  if (!c.source.empty()) out << YAML::Key << "source" << YAML::Value << c.source;
  if (!c.converted_from.empty()) {
    out << YAML::Key << "converted_from" << YAML::Value << c.converted_from;
  }
  if (c.precision != runtime::Precision::kFp32) {
    out << YAML::Key << "precision" << YAML::Value << std::string(runtime::PrecisionName(c.precision));
  }
  if (c.quantization) {
    const QuantizationConfig& q = *c.quantization;
    out << YAML::Key << "quantization" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "table" << YAML::Value << q.table;
    if (!q.method.empty()) out << YAML::Key << "method" << YAML::Value << q.method;
    if (q.calibration > 0) out << YAML::Key << "calibration" << YAML::Value << q.calibration;
    out << YAML::Key << "fp32_layers" << YAML::Value;
    flow(q.fp32_layers);
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace kamado::model
