#include "model/quantize.h"

#include <algorithm>
#include <optional>
#include <cmath>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "core/file_util.h"
#include "image/decode.h"
#include "image/preprocess.h"
#include "ir/shape_inference.h"
#include "model/image_options.h"
#include "model/model_loader.h"
#include "passes/pass_manager.h"
#include "runtime/compiled_model.h"
#include "runtime/session.h"

namespace kamado::model {
namespace fs = std::filesystem;

namespace {

constexpr int kBins = 2048;

struct Observed {
  std::string name;
  float max_abs = 0.0f;
  float min = 0.0f;
  std::vector<double> histogram;  // of |x| over [0, max_abs], kBins bins (second pass)
};

// The threshold at the given percentile of the histogram's mass.
float PercentileOf(const Observed& o, double percentile) {
  double total = 0;
  for (double c : o.histogram) total += c;
  if (total <= 0 || o.max_abs <= 0) return o.max_abs;
  const double want = total * percentile / 100.0;
  double seen = 0;
  const double width = o.max_abs / kBins;
  for (int i = 0; i < kBins; ++i) {
    seen += o.histogram[static_cast<size_t>(i)];
    if (seen >= want) return static_cast<float>((i + 1) * width);
  }
  return o.max_abs;
}

// TensorRT's entropy calibration: the threshold (a bin edge) whose
// histogram, clipped there and quantised to `levels` bins, diverges least
// (KL) from the clipped fp32 histogram.
float EntropyOf(const Observed& o, int levels) {
  const std::vector<double>& h = o.histogram;
  double total = 0;
  for (double c : h) total += c;
  if (total <= 0 || o.max_abs <= 0) return o.max_abs;
  double best_kl = INFINITY;
  int best = kBins;
  for (int i = levels; i <= kBins; i += 16) {
    std::vector<double> p(h.begin(), h.begin() + i);
    for (int k = i; k < kBins; ++k) p[static_cast<size_t>(i - 1)] += h[static_cast<size_t>(k)];
    // Q: the first i bins (without the outliers P folded into its last
    // bin) merged into `levels` groups, each group's mass spread evenly
    // over its non-empty bins.
    std::vector<double> q(static_cast<size_t>(i), 0.0);
    const double per = static_cast<double>(i) / levels;
    for (int l = 0; l < levels; ++l) {
      const int begin = static_cast<int>(std::floor(l * per));
      const int end = std::min(i, static_cast<int>(std::floor((l + 1) * per)));
      double mass = 0;
      int nonzero = 0;
      for (int k = begin; k < end; ++k) {
        mass += h[static_cast<size_t>(k)];
        nonzero += h[static_cast<size_t>(k)] > 0;
      }
      for (int k = begin; k < end; ++k) {
        if (h[static_cast<size_t>(k)] > 0) q[static_cast<size_t>(k)] = mass / nonzero;
      }
    }
    double ps = 0, qs = 0;
    for (int k = 0; k < i; ++k) {
      ps += p[static_cast<size_t>(k)];
      qs += q[static_cast<size_t>(k)];
    }
    double kl = 0;
    for (int k = 0; k < i; ++k) {
      const double pk = p[static_cast<size_t>(k)] / ps;
      if (pk <= 0) continue;
      const double qk = q[static_cast<size_t>(k)] / qs;
      kl += qk > 0 ? pk * std::log(pk / qk) : pk * 30.0;  // an empty Q bin: a large penalty
    }
    if (kl < best_kl) {
      best_kl = kl;
      best = i;
    }
  }
  return static_cast<float>((best + 0.5) * o.max_abs / kBins);
}

// Every value worth a range: the graph input and the rank-4 outputs of live
// nodes (convolutions, pools, concats and whatever sits between them).
std::vector<ir::ValueId> ObservedValues(const ir::Graph& g) {
  std::vector<ir::ValueId> out(g.inputs().begin(), g.inputs().end());
  std::unordered_set<ir::ValueId> seen(out.begin(), out.end());
  for (ir::NodeId id = 0; id < g.num_nodes(); ++id) {
    const ir::Node& n = g.node(id);
    if (n.dead) continue;
    for (ir::ValueId v : n.outputs) {
      if (v != ir::kNoValue && g.value(v).shape.size() == 4 && seen.insert(v).second) out.push_back(v);
    }
  }
  return out;
}

// Each convolution run alone at int8 (every other one fp32) over `inputs`:
// the mean |Δp| (summed over the outputs) against the fp32 model, most
// costly first.
Result<std::vector<std::pair<std::string, double>>> Sensitivity(const ir::Graph& graph,
                                                                const runtime::QuantTable& table,
                                                                std::span<const Tensor> inputs,
                                                                int threads) {
  runtime::CompileOptions co;
  co.run_passes = false;
  co.threads = threads;
  co.precision = runtime::Precision::kFp32;
  ASSIGN_OR_RETURN(auto fp32, runtime::CompiledModel::Compile(graph, co));
  std::vector<std::vector<Tensor>> want;
  {
    runtime::Session session(fp32, {.threads = threads});
    for (const Tensor& input : inputs) {
      ASSIGN_OR_RETURN(auto out, session.Run({input}));
      want.push_back(std::move(out));
    }
  }
  std::vector<std::string> convs;
  for (const auto& [name, m] : table.weight_max) {
    if (table.fp32_nodes.count(name) == 0) convs.push_back(name);
  }
  std::sort(convs.begin(), convs.end());
  std::vector<std::pair<std::string, double>> out;
  for (const std::string& conv : convs) {
    auto alone = std::make_shared<runtime::QuantTable>(table);
    for (const std::string& other : convs) {
      if (other != conv) alone->fp32_nodes.insert(other);
    }
    co.precision = runtime::Precision::kInt8;
    co.quantization = alone;
    ASSIGN_OR_RETURN(auto model, runtime::CompiledModel::Compile(graph, co));
    runtime::Session session(model, {.threads = threads});
    double cost = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
      ASSIGN_OR_RETURN(auto got, session.Run({inputs[i]}));
      for (size_t k = 0; k < got.size(); ++k) {
        const auto p = got[k].span(), q = want[i][k].span();
        for (size_t e = 0; e < p.size(); ++e) cost += std::fabs(double(p[e]) - q[e]);
      }
    }
    out.emplace_back(conv, cost / static_cast<double>(inputs.size()));
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

}  // namespace

Result<CalibrationMethod> ParseCalibrationMethod(std::string_view name) {
  for (auto m : {CalibrationMethod::kMinMax, CalibrationMethod::kPercentile, CalibrationMethod::kEntropy}) {
    if (name == CalibrationMethodName(m)) return m;
  }
  return InvalidArgument("calibration method '" + std::string(name) +
                         "' is not one of minmax, percentile, entropy");
}

std::string_view CalibrationMethodName(CalibrationMethod m) {
  switch (m) {
    case CalibrationMethod::kMinMax: return "minmax";
    case CalibrationMethod::kPercentile: return "percentile";
    case CalibrationMethod::kEntropy: return "entropy";
  }
  return "?";
}

Result<Calibration> CalibrateGraph(ir::Graph graph, std::span<const Tensor> inputs,
                                   const QuantizeOptions& options) {
  if (inputs.empty()) return InvalidArgument("no calibration input");
  Calibration cal;
  std::unordered_set<std::string> convs;
  for (ir::NodeId id = 0; id < graph.num_nodes(); ++id) {
    const ir::Node& n = graph.node(id);
    if (n.dead || n.op != ir::OpType::kConv) continue;
    ++cal.convolutions;
    convs.insert(n.name);
    const ir::Value& w = graph.value(n.inputs[1]);
    if (!w.is_constant()) continue;
    const int64_t oc = w.shape[0];
    const int64_t per = w.constant->size() / oc;
    std::vector<float> m(static_cast<size_t>(oc), 0.0f);
    const float* data = w.constant->data();
    for (int64_t o = 0; o < oc; ++o) {
      float& mo = m[static_cast<size_t>(o)];
      for (int64_t k = 0; k < per; ++k) mo = std::max(mo, std::fabs(data[o * per + k]));
    }
    cal.table.weight_max[n.name] = std::move(m);
  }
  for (const std::string& name : options.fp32_layers) {
    if (convs.count(name) == 0) {
      return InvalidArgument("fp32 layer '" + name + "' is not a convolution of model '" +
                             graph.name + "' (after the passes)");
    }
    cal.table.fp32_nodes.insert(name);
  }
  std::optional<ir::Graph> original;
  if (options.auto_fp32 > 0) original = graph;
  // The calibration model: every observed value made a graph output.
  const std::vector<ir::ValueId> observed_ids = ObservedValues(graph);
  const size_t first_extra = graph.outputs().size();
  for (ir::ValueId v : observed_ids) graph.AddOutput(v);
  std::vector<Observed> obs(observed_ids.size());
  for (size_t i = 0; i < observed_ids.size(); ++i) obs[i].name = graph.value(observed_ids[i]).name;
  runtime::CompileOptions co;
  co.run_passes = false;
  co.threads = options.threads;
  co.precision = runtime::Precision::kFp32;
  ASSIGN_OR_RETURN(auto compiled, runtime::CompiledModel::Compile(std::move(graph), co));
  runtime::Session session(compiled, {.threads = options.threads});
  cal.photos = static_cast<int>(inputs.size());
  const bool histograms = options.method != CalibrationMethod::kMinMax;
  for (int pass = 0; pass < (histograms ? 2 : 1); ++pass) {
    if (pass == 1) {
      for (Observed& o : obs) o.histogram.assign(kBins, 0.0);
    }
    for (const Tensor& input : inputs) {
      ASSIGN_OR_RETURN(std::vector<Tensor> outs, session.Run({input}));
      for (size_t i = 0; i < obs.size(); ++i) {
        Observed& o = obs[i];
        const std::span<const float> x = outs[first_extra + i].span();
        if (pass == 0) {
          for (float f : x) {
            o.max_abs = std::max(o.max_abs, std::fabs(f));
            o.min = std::min(o.min, f);
          }
        } else if (o.max_abs > 0) {
          const float to_bin = kBins / o.max_abs;
          for (float f : x) {
            const int b = std::min(kBins - 1, static_cast<int>(std::fabs(f) * to_bin));
            o.histogram[static_cast<size_t>(b)] += 1.0;
          }
        }
      }
    }
  }
  for (const Observed& o : obs) {
    runtime::QuantTable::Range r;
    r.is_unsigned = o.min >= 0.0f;
    switch (options.method) {
      case CalibrationMethod::kMinMax: r.max = o.max_abs; break;
      case CalibrationMethod::kPercentile: r.max = PercentileOf(o, options.percentile); break;
      case CalibrationMethod::kEntropy: r.max = EntropyOf(o, r.is_unsigned ? 255 : 127); break;
    }
    if (!(r.max > 0.0f)) r.max = o.max_abs;
    cal.table.activations[o.name] = r;
  }
  if (original) {
    const size_t n = std::min(inputs.size(), static_cast<size_t>(std::max(1, options.sensitivity_photos)));
    ASSIGN_OR_RETURN(cal.sensitivity, Sensitivity(*original, cal.table, inputs.first(n), options.threads));
    int kept = 0;
    for (const auto& [name, cost] : cal.sensitivity) {
      if (kept == options.auto_fp32) break;
      if (cal.table.fp32_nodes.insert(name).second) ++kept;
    }
  }
  return cal;
}

Result<Calibration> Calibrate(const ModelConfig& config, std::span<const fs::path> photos,
                              const QuantizeOptions& options) {
  ASSIGN_OR_RETURN(ir::Graph graph, ImportModel(config));
  graph.name = config.name;
  RETURN_IF_ERROR(ir::InferShapes(graph));
  RETURN_IF_ERROR(passes::RunDefaultPasses(graph, passes::PassOptions{}));
  const image::DecodeOptions decode = DecodeOptionsFor(config);
  const image::PreprocessOptions pre = PreprocessOptionsFor(config);
  std::vector<Tensor> inputs;
  std::vector<std::string> skipped;
  for (const fs::path& path : photos) {
    auto decoded = image::DecodeImageFile(path, decode);
    auto tensor = decoded.ok() ? image::Preprocess(*decoded, pre) : Result<Tensor>(decoded.status());
    if (!tensor.ok()) {
      skipped.push_back(path.string() + ": " + tensor.status().message());
      continue;
    }
    inputs.push_back(std::move(tensor).value());
  }
  if (inputs.empty()) {
    return InvalidArgument("none of the " + std::to_string(photos.size()) +
                           " calibration photos could be read");
  }
  ASSIGN_OR_RETURN(Calibration cal, CalibrateGraph(std::move(graph), inputs, options));
  cal.skipped = std::move(skipped);
  return cal;
}

Status WriteQuantizedModel(const ModelConfig& config, const fs::path& out,
                           const Calibration& calibration, const QuantizeOptions& options) {
  std::error_code ec;
  if (fs::exists(out, ec) && fs::equivalent(out, config.dir, ec)) {
    return InvalidArgument("the output directory " + out.string() + " is the model's own directory; write the int8 model elsewhere");
  }
  fs::create_directories(out, ec);
  if (ec) return InvalidArgument("cannot create " + out.string() + ": " + ec.message());
  for (auto it = fs::recursive_directory_iterator(config.dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.empty() && name[0] == '.') {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    const fs::path rel = fs::relative(it->path(), config.dir);
    if (it->is_directory(ec)) {
      fs::create_directories(out / rel, ec);
      continue;
    }
    if (!it->is_regular_file(ec) || rel == "kamado.yaml" || it->path().extension() == ".kmc") continue;
    if (config.quantization && rel == config.quantization->table) continue;
    fs::copy_file(it->path(), out / rel, fs::copy_options::overwrite_existing, ec);
    if (ec) return InvalidArgument("cannot copy " + it->path().string() + " to " + out.string() + ": " + ec.message());
  }
  if (ec) return InvalidArgument("cannot list " + config.dir.string() + ": " + ec.message());
  ModelConfig q = config;
  q.dir = out;
  q.precision = runtime::Precision::kInt8;
  QuantizationConfig qc;
  qc.table = "quantization.json";
  qc.method = std::string(CalibrationMethodName(options.method));
  qc.calibration = calibration.photos;
  qc.fp32_layers.assign(calibration.table.fp32_nodes.begin(), calibration.table.fp32_nodes.end());
  q.quantization = qc;
  RETURN_IF_ERROR(WriteFileAtomically(out / qc.table, QuantTableToJson(calibration.table).dump(1) + "\n"));
  return WriteFileAtomically(out / "kamado.yaml", FormatModelConfig(q));
}

Result<std::shared_ptr<const runtime::QuantTable>> ReadQuantTable(const ModelConfig& config) {
  if (!config.quantization) {
    return InvalidArgument("model '" + config.dir.string() + "' has no quantization table: run kamado quantize on it");
  }
  const fs::path path = config.dir / config.quantization->table;
  std::ifstream in(path);
  if (!in) return InvalidArgument("cannot read the quantization table " + path.string());
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument(path.string() + ": not valid JSON");
  auto table = QuantTableFromJson(j);
  if (!table.ok()) return table.status().WithPrefix(path.string());
  for (const std::string& name : config.quantization->fp32_layers) table->fp32_nodes.insert(name);
  return std::make_shared<const runtime::QuantTable>(std::move(table).value());
}

}  // namespace kamado::model
