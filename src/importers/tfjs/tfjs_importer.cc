#include "importers/tfjs/tfjs_importer.h"

#include <unordered_map>

#include "core/file_util.h"
#include "importers/tfjs/tfjs_json.h"
#include "importers/tfjs/tfjs_layers.h"
#include "importers/tfjs/tfjs_weights.h"

namespace kamado::importers {
namespace {

using namespace tfjs;  // NOLINT(google-build-using-namespace): the module's own internals
using ir::ValueId;

Result<KerasLayer> ParseLayer(const Json& spec, const std::string& where) {
  KerasLayer layer;
  ASSIGN_OR_RETURN(layer.class_name, GetField<std::string>(spec, "class_name", where));
  ASSIGN_OR_RETURN(layer.config, GetNode(spec, "config", where));
  // Functional models name the layer at the top; Keras 2.2 Sequential only in its config.
  if (spec.contains("name")) {
    ASSIGN_OR_RETURN(layer.name, GetField<std::string>(spec, "name", where));
  } else {
    ASSIGN_OR_RETURN(layer.name, GetField<std::string>(*layer.config, "name", where + ".config"));
  }
  return layer;
}

// An InputLayer (or a Sequential's first layer carrying batch_input_shape)
// becomes a graph input value: NHWC [N, H, W, C] -> logical [N, C, H, W].
Result<ValueId> AddInputValue(const KerasLayer& layer, const std::string& value_name,
                              ir::Graph& graph) {
  const std::string where = DescribeLayer(layer);
  const Json& config = *layer.config;
  const char* key = config.contains("batch_input_shape") ? "batch_input_shape" : "batch_shape";
  ASSIGN_OR_RETURN(const Json* dims, GetNode(config, key, where));
  ASSIGN_OR_RETURN(auto dtype, GetFieldOr<std::string>(config, "dtype", "float32", where));
  if (dtype != "float32") {
    return Unsupported(where + ": attribute dtype='" + dtype + "' is not supported");
  }
  if (!dims->is_array() || (dims->size() != 4 && dims->size() != 2)) {
    return Unsupported(where + ": attribute " + key + "=" + dims->dump() +
                       " is not supported (rank 4 [N, H, W, C] or rank 2 [N, K])");
  }
  Shape nhwc;
  for (size_t i = 0; i < dims->size(); ++i) {
    const Json& d = (*dims)[i];
    if (i == 0 && d.is_null()) {
      nhwc.push_back(-1);
    } else if (d.is_number_integer() && d.get<int64_t>() > 0) {
      nhwc.push_back(d.get<int64_t>());
    } else {
      return Unsupported(where + ": attribute " + key + "=" + dims->dump() +
                         " is not supported (only the batch dimension may be null)");
    }
  }
  Shape shape = nhwc;
  if (nhwc.size() == 4) {
    shape = {nhwc[0], nhwc[3], nhwc[1], nhwc[2]};
    graph.input_layout = Layout::kNHWC;
  }
  return graph.AddValue(value_name, std::move(shape));
}

// [["name", node_index, tensor_index, ...], ...] -> the layers' output values.
Result<std::vector<ValueId>> ResolveRefs(const Json& refs, const std::string& where,
                                         const std::unordered_map<std::string, ValueId>& outputs) {
  if (!refs.is_array()) return InvalidArgument(where + ": expected a list of layer references");
  std::vector<ValueId> values;
  for (const Json& ref : refs) {
    if (!ref.is_array() || ref.size() < 3 || !ref[0].is_string() || !ref[1].is_number_integer() ||
        !ref[2].is_number_integer()) {
      return InvalidArgument(where + ": layer reference " + ref.dump() +
                             " must be [\"name\", node_index, tensor_index, ...]");
    }
    const auto name = ref[0].get<std::string>();
    if (ref[1].get<int64_t>() != 0 || ref[2].get<int64_t>() != 0) {
      return Unsupported(where + ": reference " + ref.dump() + " to layer '" + name +
                         "' is not supported (shared layers and multi-output layers)");
    }
    const auto it = outputs.find(name);
    if (it == outputs.end()) {
      return InvalidArgument(where + ": refers to layer '" + name +
                             "', which is not defined before it");
    }
    values.push_back(it->second);
  }
  return values;
}

Status BuildFunctional(const Json& config, const WeightMap& weights, ir::Graph& graph) {
  const std::string where = "modelTopology.config";
  ASSIGN_OR_RETURN(const Json* layers, GetNode(config, "layers", where));
  if (!layers->is_array()) return InvalidArgument(where + ": field 'layers' must be a list");
  std::unordered_map<std::string, ValueId> outputs;
  for (size_t i = 0; i < layers->size(); ++i) {
    ASSIGN_OR_RETURN(auto layer,
                     ParseLayer((*layers)[i], where + ".layers[" + std::to_string(i) + "]"));
    const std::string at = DescribeLayer(layer);
    if (outputs.contains(layer.name)) return InvalidArgument(at + ": duplicate layer name");
    ValueId out;
    if (layer.class_name == "InputLayer") {
      ASSIGN_OR_RETURN(out, AddInputValue(layer, layer.name, graph));
    } else {
      ASSIGN_OR_RETURN(const Json* inbound, GetNode((*layers)[i], "inbound_nodes", at));
      if (!inbound->is_array() || inbound->empty()) {
        return InvalidArgument(at + ": field 'inbound_nodes' must be a non-empty list");
      }
      if (inbound->size() > 1) {
        return Unsupported(at + ": the layer is shared (called " + std::to_string(inbound->size()) +
                           " times), which is not supported");
      }
      ASSIGN_OR_RETURN(auto inputs, ResolveRefs((*inbound)[0], at + ": inbound_nodes", outputs));
      ASSIGN_OR_RETURN(out, ConvertLayer(layer, inputs, weights, graph));
    }
    outputs.emplace(layer.name, out);
  }

  ASSIGN_OR_RETURN(const Json* input_refs, GetNode(config, "input_layers", where));
  ASSIGN_OR_RETURN(auto inputs, ResolveRefs(*input_refs, where + ".input_layers", outputs));
  for (ValueId v : inputs) {
    if (graph.value(v).producer != ir::kNoNode) {
      return InvalidArgument(where + ".input_layers: '" + graph.value(v).name +
                             "' is not an InputLayer");
    }
    graph.AddInput(v);
  }
  ASSIGN_OR_RETURN(const Json* output_refs, GetNode(config, "output_layers", where));
  ASSIGN_OR_RETURN(auto outs, ResolveRefs(*output_refs, where + ".output_layers", outputs));
  if (outs.empty()) return InvalidArgument(where + ": field 'output_layers' is empty");
  for (ValueId v : outs) graph.AddOutput(v);
  return Status::Ok();
}

// Keras 2.2 writes a Sequential's config as the list of layers; later
// versions as {name, layers}. Each layer reads the previous one's output.
Status BuildSequential(const Json& config, const WeightMap& weights, ir::Graph& graph) {
  const std::string where = "modelTopology.config";
  const Json* layers = &config;
  if (config.is_object()) {
    ASSIGN_OR_RETURN(layers, GetNode(config, "layers", where));
  }
  if (!layers->is_array() || layers->empty()) {
    return InvalidArgument(where + ": the Sequential model's layers must be a non-empty list");
  }
  ValueId prev = ir::kNoValue;
  for (size_t i = 0; i < layers->size(); ++i) {
    ASSIGN_OR_RETURN(auto layer, ParseLayer((*layers)[i], where + "[" + std::to_string(i) + "]"));
    if (layer.class_name == "InputLayer") {
      if (prev != ir::kNoValue) {
        return Unsupported(DescribeLayer(layer) + ": an InputLayer after the first layer");
      }
      ASSIGN_OR_RETURN(prev, AddInputValue(layer, layer.name, graph));
      graph.AddInput(prev);
      continue;
    }
    if (prev == ir::kNoValue) {
      // Keras names the implicit input "<first layer>_input".
      ASSIGN_OR_RETURN(prev, AddInputValue(layer, layer.name + "_input", graph));
      graph.AddInput(prev);
    }
    ASSIGN_OR_RETURN(prev, ConvertLayer(layer, {prev}, weights, graph));
  }
  graph.AddOutput(prev);
  return Status::Ok();
}

Result<ir::Graph> Import(const std::filesystem::path& model_json) {
  ASSIGN_OR_RETURN(auto text, ReadFile(model_json, size_t{256} << 20));
  Json root;
  try {
    root = Json::parse(text);
  } catch (const Json::parse_error& e) {
    return InvalidArgument(std::string("malformed JSON: ") + e.what());
  }
  const std::string where = "model.json";
  if (!root.is_object()) return InvalidArgument(where + ": the top level must be an object");
  ASSIGN_OR_RETURN(auto format, GetFieldOr<std::string>(root, "format", "layers-model", where));
  if (format != "layers-model") {
    return Unsupported(where + ": field 'format' = '" + format +
                       "' is not supported (only TF.js layers models)");
  }
  ASSIGN_OR_RETURN(const Json* topology, GetNode(root, "modelTopology", where));
  const Json* model = topology;
  if (topology->is_object() && topology->contains("model_config")) {
    ASSIGN_OR_RETURN(model, GetNode(*topology, "model_config", "modelTopology"));
  }
  ASSIGN_OR_RETURN(auto class_name, GetField<std::string>(*model, "class_name", "modelTopology"));
  ASSIGN_OR_RETURN(const Json* config, GetNode(*model, "config", "modelTopology"));

  ASSIGN_OR_RETURN(const Json* manifest, GetNode(root, "weightsManifest", where));
  ASSIGN_OR_RETURN(auto weights, LoadWeights(*manifest, model_json.parent_path()));

  ir::Graph graph;
  graph.name = config->is_object() ? config->value("name", "") : "";
  if (graph.name.empty()) graph.name = model_json.parent_path().filename().string();
  if (class_name == "Model" || class_name == "Functional") {
    RETURN_IF_ERROR(BuildFunctional(*config, weights, graph));
  } else if (class_name == "Sequential") {
    RETURN_IF_ERROR(BuildSequential(*config, weights, graph));
  } else {
    return Unsupported("modelTopology: field 'class_name' = '" + class_name +
                       "' is not supported (Model, Functional, Sequential)");
  }
  RETURN_IF_ERROR(graph.Verify());
  return graph;
}

}  // namespace

Result<ir::Graph> ImportTfjsModel(const std::filesystem::path& model_json) {
  Result<ir::Graph> graph = [&]() -> Result<ir::Graph> {
    // The field accessors do not throw; this catches whatever JSON access slips past them.
    try {
      return Import(model_json);
    } catch (const Json::exception& e) {
      return InvalidArgument(std::string("unexpected JSON content: ") + e.what());
    }
  }();
  if (!graph.ok()) return graph.status().WithPrefix("TF.js model '" + model_json.string() + "'");
  return graph;
}

}  // namespace kamado::importers
