#include "runtime/model_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>

namespace kamado::runtime {
namespace {

template <typename T>
Result<T> Get(const YAML::Node& parent, const std::string& key, const std::string& path) {
  const YAML::Node node = parent[key];
  if (!node) return InvalidArgument("missing field '" + path + "'");
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {
    return InvalidArgument("field '" + path + "' has the wrong type");
  }
}

Status ParseTriple(const YAML::Node& parent, const std::string& key, const std::string& path,
                   std::array<float, 3>& out) {
  if (!parent[key]) return Status::Ok();  // optional; keep the default
  ASSIGN_OR_RETURN(auto values, Get<std::vector<float>>(parent, key, path));
  if (values.size() != 3) return InvalidArgument("field '" + path + "' must have 3 values");
  std::copy(values.begin(), values.end(), out.begin());
  return Status::Ok();
}

// decision: {name, positive: [labels], threshold}; needs `labels` parsed first.
Status ParseDecision(const YAML::Node& d, ModelConfig& c) {
  if (!d.IsMap()) return InvalidArgument("field 'decision' must be a mapping");
  DecisionConfig decision;
  ASSIGN_OR_RETURN(decision.name, Get<std::string>(d, "name", "decision.name"));
  if (decision.name.empty()) return InvalidArgument("field 'decision.name' must not be empty");
  ASSIGN_OR_RETURN(decision.positive,
                   Get<std::vector<std::string>>(d, "positive", "decision.positive"));
  if (decision.positive.empty()) {
    return InvalidArgument("field 'decision.positive' must name at least one label");
  }
  for (const std::string& label : decision.positive) {
    auto it = std::find(c.labels.begin(), c.labels.end(), label);
    if (it == c.labels.end()) {
      return InvalidArgument("field 'decision.positive': '" + label + "' is not one of 'labels'");
    }
    decision.positive_indices.push_back(static_cast<int>(it - c.labels.begin()));
  }
  if (d["threshold"]) {
    ASSIGN_OR_RETURN(decision.threshold, Get<double>(d, "threshold", "decision.threshold"));
  }
  if (!(decision.threshold >= 0.0 && decision.threshold <= 1.0)) {
    return InvalidArgument("field 'decision.threshold' must be in 0..1");
  }
  c.decision = std::move(decision);
  return Status::Ok();
}

Status Parse(const YAML::Node& root, ModelConfig& c) {
  if (!root.IsMap()) return InvalidArgument("the document must be a mapping");
  ASSIGN_OR_RETURN(c.name, Get<std::string>(root, "name", "name"));
  ASSIGN_OR_RETURN(c.format, Get<std::string>(root, "format", "format"));
  if (c.format != "tfjs" && c.format != "onnx") {
    return Unsupported("field 'format': '" + c.format + "' is not one of tfjs, onnx");
  }
  ASSIGN_OR_RETURN(c.file, Get<std::string>(root, "file", "file"));

  const YAML::Node input = root["input"];
  if (!input || !input.IsMap()) return InvalidArgument("missing field 'input'");
  ASSIGN_OR_RETURN(std::string layout, Get<std::string>(input, "layout", "input.layout"));
  if (layout == "NHWC") {
    c.layout = ir::Layout::kNHWC;
  } else if (layout == "NCHW") {
    c.layout = ir::Layout::kNCHW;
  } else {
    return InvalidArgument("field 'input.layout': '" + layout + "' is not NHWC or NCHW");
  }
  ASSIGN_OR_RETURN(c.height, Get<int>(input, "height", "input.height"));
  ASSIGN_OR_RETURN(c.width, Get<int>(input, "width", "input.width"));
  if (c.height <= 0 || c.width <= 0 || c.height > 16384 || c.width > 16384) {
    return InvalidArgument("fields 'input.height'/'input.width' must be in 1..16384");
  }

  if (const YAML::Node p = root["preprocess"]) {
    if (p["scale"]) {
      ASSIGN_OR_RETURN(c.preprocess.scale, Get<double>(p, "scale", "preprocess.scale"));
    }
    RETURN_IF_ERROR(ParseTriple(p, "mean", "preprocess.mean", c.preprocess.mean));
    RETURN_IF_ERROR(ParseTriple(p, "std", "preprocess.std", c.preprocess.std));
    for (float s : c.preprocess.std) {
      if (s == 0.0f) return InvalidArgument("field 'preprocess.std' must not contain 0");
    }
    if (p["resize"]) {
      ASSIGN_OR_RETURN(c.preprocess.resize, Get<std::string>(p, "resize", "preprocess.resize"));
    }
    if (c.preprocess.resize != "bilinear_align_corners" && c.preprocess.resize != "bilinear") {
      return Unsupported("field 'preprocess.resize': '" + c.preprocess.resize +
                         "' is not one of bilinear_align_corners, bilinear");
    }
    if (p["fit"]) {
      ASSIGN_OR_RETURN(c.preprocess.fit, Get<std::string>(p, "fit", "preprocess.fit"));
    }
    if (c.preprocess.fit != "stretch") {
      return Unsupported("field 'preprocess.fit': '" + c.preprocess.fit + "' is not 'stretch'");
    }
    if (p["exact_resize"]) {
      ASSIGN_OR_RETURN(c.preprocess.exact_resize,
                       Get<bool>(p, "exact_resize", "preprocess.exact_resize"));
    }
    if (p["alpha"]) {
      ASSIGN_OR_RETURN(c.preprocess.alpha, Get<std::string>(p, "alpha", "preprocess.alpha"));
    }
    if (c.preprocess.alpha != "drop" && c.preprocess.alpha != "composite") {
      return Unsupported("field 'preprocess.alpha': '" + c.preprocess.alpha +
                         "' is not one of drop, composite");
    }
    if (p["background"]) {
      ASSIGN_OR_RETURN(auto bg, Get<std::vector<int>>(p, "background", "preprocess.background"));
      if (bg.size() != 3) return InvalidArgument("field 'preprocess.background' must have 3 values");
      for (int i = 0; i < 3; ++i) {
        if (bg[i] < 0 || bg[i] > 255) {
          return InvalidArgument("field 'preprocess.background' values must be in 0..255");
        }
        c.preprocess.background[i] = bg[i];
      }
    }
  }
  if (const YAML::Node d = root["decode"]) {
    if (d["max_input_bytes"]) {
      ASSIGN_OR_RETURN(c.decode.max_input_bytes,
                       Get<uint64_t>(d, "max_input_bytes", "decode.max_input_bytes"));
    }
    if (d["max_pixels"]) {
      ASSIGN_OR_RETURN(c.decode.max_pixels, Get<uint64_t>(d, "max_pixels", "decode.max_pixels"));
    }
    if (d["max_side"]) {
      ASSIGN_OR_RETURN(c.decode.max_side, Get<uint32_t>(d, "max_side", "decode.max_side"));
    }
  }
  if (root["labels"]) {
    ASSIGN_OR_RETURN(c.labels, Get<std::vector<std::string>>(root, "labels", "labels"));
  }
  if (const YAML::Node d = root["decision"]) RETURN_IF_ERROR(ParseDecision(d, c));
  return Status::Ok();
}

}  // namespace

Result<ModelConfig> LoadModelConfig(const std::filesystem::path& dir) {
  const auto path = dir / "kamado.yaml";
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return NotFound("model directory '" + dir.string() + "' has no kamado.yaml");
  }
  ModelConfig config;
  config.dir = dir;
  try {
    const YAML::Node root = YAML::LoadFile(path.string());
    RETURN_IF_ERROR(Parse(root, config).WithPrefix(path.string()));
  } catch (const YAML::Exception& e) {
    return InvalidArgument(path.string() + ": " + e.what());
  }
  return config;
}

}  // namespace kamado::runtime
