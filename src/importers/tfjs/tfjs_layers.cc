#include "importers/tfjs/tfjs_layers.h"

#include <array>
#include <functional>
#include <map>
#include <optional>

#include "ir/shape_inference.h"

namespace kamado::importers::tfjs {
namespace {

using ir::OpType;
using ir::ValueId;
using Pair = std::array<int64_t, 2>;

// A config value as shown in errors: strings quoted, the rest as JSON.
std::string ShowJson(const Json& v) {
  if (!v.is_string()) return v.dump();
  std::string s = "'";  // built piecewise: GCC 12 warns (-Wrestrict) on "'" + std::string&&
  s += v.get_ref<const std::string&>();
  s += '\'';
  return s;
}

class LayerConverter {
 public:
  LayerConverter(const KerasLayer& layer, const std::vector<ValueId>& inputs,
                 const WeightMap& weights, ir::Graph& graph)
      : layer_(layer),
        config_(*layer.config),
        inputs_(inputs),
        weights_(weights),
        graph_(graph),
        where_(DescribeLayer(layer)) {}

  Result<ValueId> Convert() {
    using Method = Result<ValueId> (LayerConverter::*)();
    static const std::map<std::string, Method, std::less<>> kConverters = {
        {"Conv2D", &LayerConverter::Conv2D},
        {"DepthwiseConv2D", &LayerConverter::DepthwiseConv2D},
        {"SeparableConv2D", &LayerConverter::SeparableConv2D},
        {"LayerNormalization", &LayerConverter::LayerNormalization},
        {"Multiply", &LayerConverter::Multiply},
        {"Reshape", &LayerConverter::Reshape},
        {"GlobalMaxPooling2D", &LayerConverter::GlobalMaxPooling2D},
        {"BatchNormalization", &LayerConverter::BatchNormalization},
        {"Activation", &LayerConverter::ActivationLayer},
        {"ReLU", &LayerConverter::ReLU},
        {"LeakyReLU", &LayerConverter::LeakyReLU},
        {"ZeroPadding2D", &LayerConverter::ZeroPadding2D},
        {"MaxPooling2D", &LayerConverter::MaxPooling2D},
        {"AveragePooling2D", &LayerConverter::AveragePooling2D},
        {"GlobalAveragePooling2D", &LayerConverter::GlobalAveragePooling2D},
        {"Concatenate", &LayerConverter::Concatenate},
        {"Add", &LayerConverter::Add},
        {"Flatten", &LayerConverter::Flatten},
        {"Dense", &LayerConverter::Dense},
        {"Dropout", &LayerConverter::Dropout},
        {"Softmax", &LayerConverter::Softmax},
    };
    const auto it = kConverters.find(layer_.class_name);
    if (it == kConverters.end()) {
      return Unsupported(where_ + ": layer class '" + layer_.class_name + "' is not supported");
    }
    return (this->*(it->second))();
  }

 private:
  // --- config access -------------------------------------------------------

  template <typename T>
  Result<T> Get(std::string_view key) const {
    return GetField<T>(config_, key, where_);
  }
  template <typename T>
  Result<T> GetOr(std::string_view key, T fallback) const {
    return GetFieldOr<T>(config_, key, std::move(fallback), where_);
  }
  bool Has(std::string_view key) const {
    const auto it = config_.find(key);
    return it != config_.end() && !it->is_null();
  }
  // kernel_size, strides, dilation_rate: an int (both axes) or [h, w].
  Result<Pair> GetPair(std::string_view key, std::optional<Pair> fallback = std::nullopt) const {
    if (!Has(key)) {
      if (fallback) return *fallback;
      return InvalidArgument(where_ + ": missing field '" + std::string(key) + "'");
    }
    const Json& v = config_.find(key).value();
    if (v.is_number_integer()) return Pair{v.get<int64_t>(), v.get<int64_t>()};
    if (v.is_array() && v.size() == 2 && v[0].is_number_integer() && v[1].is_number_integer()) {
      return Pair{v[0].get<int64_t>(), v[1].get<int64_t>()};
    }
    return InvalidArgument(where_ + ": field '" + std::string(key) + "' = " + v.dump() +
                           " must be an integer or a list of 2 integers");
  }
  Status NotSupported(std::string_view key, const std::string& shown,
                      std::string_view why = "") const {
    return Unsupported(where_ + ": attribute " + std::string(key) + "=" + shown +
                       " is not supported" + (why.empty() ? "" : " (" + std::string(why) + ")"));
  }
  Status NotSupported(std::string_view key) const {
    return NotSupported(key, ShowJson(config_.find(key).value()));
  }
  Status CheckDataFormat() const {
    ASSIGN_OR_RETURN(auto format, GetOr<std::string>("data_format", "channels_last"));
    if (format != "channels_last") return NotSupported("data_format", "'" + format + "'");
    return Status::Ok();
  }

  // --- inputs and weights --------------------------------------------------

  // The single input, which must have `rank` dimensions (0: any).
  Result<ValueId> OnlyInput(size_t rank = 0) const {
    if (inputs_.size() != 1) {
      return InvalidArgument(where_ + ": expects 1 input, got " + std::to_string(inputs_.size()));
    }
    const Shape& s = graph_.value(inputs_[0]).shape;
    if (rank != 0 && s.size() != rank) {
      return Unsupported(where_ + ": expects a " + std::to_string(rank) + "-D input, got " +
                         ShapeToString(s));
    }
    return inputs_[0];
  }
  const Shape& ShapeOf(ValueId v) const { return graph_.value(v).shape; }

  // The manifest weight "<layer>/<suffix>" (or one ending in "/<layer>/<suffix>",
  // for models saved inside a name scope); its shape must be `expected`.
  Result<std::pair<std::string, Tensor>> Weight(std::string_view suffix,
                                                const Shape& expected) const {
    const std::string key = layer_.name + "/" + std::string(suffix);
    auto it = weights_.find(key);
    if (it == weights_.end()) {
      const std::string scoped = "/" + key;
      for (auto i = weights_.begin(); i != weights_.end(); ++i) {
        if (i->first.ends_with(scoped)) it = i;
      }
    }
    if (it == weights_.end()) {
      return NotFound(where_ + ": weight '" + key + "' is not in the weightsManifest");
    }
    if (it->second.shape() != expected) {
      return InvalidArgument(where_ + ": weight '" + it->first + "' has shape " +
                             ShapeToString(it->second.shape()) + ", expected " +
                             ShapeToString(expected));
    }
    return std::pair{it->first, it->second};
  }
  Result<ValueId> WeightValue(std::string_view suffix, const Shape& expected) {
    ASSIGN_OR_RETURN(auto w, Weight(suffix, expected));
    return graph_.AddConstant(w.first, w.second);
  }
  ValueId Filled(std::string_view suffix, int64_t n, float fill) {
    Tensor t(Shape{n}, std::vector<float>(static_cast<size_t>(n), fill));
    return graph_.AddConstant(layer_.name + "/" + std::string(suffix), std::move(t));
  }
  Result<ValueId> OptionalBias(int64_t n) {
    ASSIGN_OR_RETURN(bool use_bias, GetOr<bool>("use_bias", true));
    if (!use_bias) return ir::kNoValue;
    return WeightValue("bias", {n});
  }

  // --- emitting nodes ------------------------------------------------------

  // Adds a node (named after the layer, or "<layer>/<role>" after the first),
  // infers its output shape and returns its output value.
  Result<ValueId> Emit(OpType op, std::vector<ValueId> in, ir::Attrs attrs, std::string_view role) {
    const int k = emitted_++;
    const std::string node_name = k == 0 ? layer_.name : layer_.name + "/" + std::string(role);
    const std::string value_name = k == 0 ? layer_.name : layer_.name + ":" + std::to_string(k);
    const ValueId out = graph_.AddValue(value_name);
    const ir::NodeId id = graph_.AddNode(node_name, op, std::move(in), {out}, std::move(attrs));
    RETURN_IF_ERROR(ir::InferNodeShapes(graph_, id).WithPrefix(where_));
    return out;
  }

  // Keras axis of an NHWC (rank 4) or [N, K] tensor -> the IR's logical axis.
  Result<int64_t> LogicalAxis(int64_t axis, size_t rank, std::string_view key) const {
    const auto r = static_cast<int64_t>(rank);
    const int64_t a = axis < 0 ? axis + r : axis;
    if (a <= 0 || a >= r) return NotSupported(key, std::to_string(axis), "not a non-batch axis");
    if (rank != 4) return a;
    return a == 3 ? 1 : a + 1;  // H (1) -> 2, W (2) -> 3, C (3) -> 1
  }

  // A Keras activation by name. `linear` yields `x` itself, or an Identity
  // node when the activation is the whole layer.
  Result<ValueId> ApplyActivation(const std::string& name, ValueId x, bool identity_for_linear) {
    using K = ir::ActivationKind;
    auto act = [&](K kind, float alpha = 0.0f, float beta = 0.0f) {
      return Emit(OpType::kActivation, {x}, ir::ActivationAttrs{{kind, alpha, beta}}, name);
    };
    if (name == "linear") {
      return identity_for_linear ? Emit(OpType::kIdentity, {x}, {}, name) : Result<ValueId>(x);
    }
    if (name == "relu") return act(K::kRelu);
    if (name == "relu6") return act(K::kClip, 0.0f, 6.0f);
    if (name == "sigmoid") return act(K::kSigmoid);
    if (name == "tanh") return act(K::kTanh);
    if (name == "elu") return act(K::kElu, 1.0f);
    if (name == "hard_sigmoid") return act(K::kHardSigmoid, 0.2f, 0.5f);  // Keras 2 constants
    if (name == "swish") return act(K::kSwish, 1.0f);
    if (name == "gelu") return act(K::kGeluErf);      // TF.js: x · ½ · (1 + erf(x/√2))
    if (name == "gelu_new") return act(K::kGeluTanh);  // TF.js: the tanh approximation
    if (name == "softmax") {
      ASSIGN_OR_RETURN(int64_t axis, LogicalAxis(-1, ShapeOf(x).size(), "activation"));
      return Emit(OpType::kSoftmax, {x}, ir::SoftmaxAttrs{axis}, name);
    }
    return NotSupported("activation", "'" + name + "'");
  }
  Result<ValueId> TrailingActivation(ValueId x) {
    ASSIGN_OR_RETURN(auto name, GetOr<std::string>("activation", "linear"));
    return ApplyActivation(name, x, /*identity_for_linear=*/false);
  }

  // pads {top, left, bottom, right} for padding 'valid' or 'same'.
  Result<std::array<int64_t, 4>> WindowPads(const Shape& x, Pair kernel, Pair strides,
                                            Pair dilations) const {
    ASSIGN_OR_RETURN(auto padding, GetOr<std::string>("padding", "valid"));
    if (padding == "valid") return std::array<int64_t, 4>{0, 0, 0, 0};
    if (padding != "same") return NotSupported("padding", "'" + padding + "'");
    const auto h = ir::SamePadding(x[2], kernel[0], strides[0], dilations[0]);
    const auto w = ir::SamePadding(x[3], kernel[1], strides[1], dilations[1]);
    return std::array<int64_t, 4>{h[0], w[0], h[1], w[1]};
  }

  Status CheckPositive(std::string_view key, Pair p) const {
    if (p[0] <= 0 || p[1] <= 0) {
      return InvalidArgument(where_ + ": field '" + std::string(key) + "' must be positive");
    }
    return Status::Ok();
  }

  // Shared by Conv2D and DepthwiseConv2D once the weight is in IR order.
  Result<ValueId> EmitConv(ValueId x, ValueId weight, ValueId bias, Pair kernel, int64_t group) {
    ASSIGN_OR_RETURN(Pair strides, GetPair("strides", Pair{1, 1}));
    ASSIGN_OR_RETURN(Pair dilations, GetPair("dilation_rate", Pair{1, 1}));
    RETURN_IF_ERROR(CheckPositive("strides", strides));
    RETURN_IF_ERROR(CheckPositive("dilation_rate", dilations));
    ir::ConvAttrs attrs;
    attrs.kernel = kernel;
    attrs.strides = strides;
    attrs.dilations = dilations;
    attrs.group = group;
    ASSIGN_OR_RETURN(attrs.pads, WindowPads(ShapeOf(x), kernel, strides, dilations));
    ASSIGN_OR_RETURN(ValueId y, Emit(OpType::kConv, {x, weight, bias}, std::move(attrs), ""));
    return TrailingActivation(y);
  }

  // --- layers --------------------------------------------------------------

  Result<ValueId> Conv2D() {
    RETURN_IF_ERROR(CheckDataFormat());
    ASSIGN_OR_RETURN(ValueId x, OnlyInput(4));
    ASSIGN_OR_RETURN(int64_t filters, Get<int64_t>("filters"));
    ASSIGN_OR_RETURN(Pair k, GetPair("kernel_size"));
    RETURN_IF_ERROR(CheckPositive("kernel_size", k));
    ASSIGN_OR_RETURN(int64_t groups, GetOr<int64_t>("groups", 1));
    if (groups != 1) return NotSupported("groups");
    const int64_t in = ShapeOf(x)[1];
    ASSIGN_OR_RETURN(auto w, Weight("kernel", {k[0], k[1], in, filters}));
    // [kH, kW, I, O] -> [O, I, kH, kW]
    Tensor t(Shape{filters, in, k[0], k[1]});
    const Tensor& src = w.second;
    for (int64_t y = 0; y < k[0]; ++y)
      for (int64_t xx = 0; xx < k[1]; ++xx)
        for (int64_t i = 0; i < in; ++i)
          for (int64_t o = 0; o < filters; ++o)
            t[((o * in + i) * k[0] + y) * k[1] + xx] =
                src[((y * k[1] + xx) * in + i) * filters + o];
    const ValueId weight = graph_.AddConstant(w.first, std::move(t));
    ASSIGN_OR_RETURN(ValueId bias, OptionalBias(filters));
    return EmitConv(x, weight, bias, k, 1);
  }

  // The depthwise kernel [kH, kW, C, M] as the IR's [C·M, 1, kH, kW]:
  // output channel c·M + m reads input channel c.
  Result<ValueId> DepthwiseWeight(int64_t c, int64_t mult, Pair k) {
    ASSIGN_OR_RETURN(auto w, Weight("depthwise_kernel", {k[0], k[1], c, mult}));
    Tensor t(Shape{c * mult, 1, k[0], k[1]});
    const Tensor& src = w.second;
    for (int64_t y = 0; y < k[0]; ++y)
      for (int64_t xx = 0; xx < k[1]; ++xx)
        for (int64_t ci = 0; ci < c; ++ci)
          for (int64_t m = 0; m < mult; ++m)
            t[((ci * mult + m) * k[0] + y) * k[1] + xx] =
                src[((y * k[1] + xx) * c + ci) * mult + m];
    return graph_.AddConstant(w.first, std::move(t));
  }

  // TF.js 4.22 leaves depth_multiplier out of a SeparableConv2D's config;
  // then the depthwise kernel's shape [kH, kW, C, M] says it.
  Result<int64_t> DepthMultiplier() const {
    int64_t fallback = 1;
    if (!Has("depth_multiplier")) {
      auto it = weights_.find(layer_.name + "/depthwise_kernel");
      if (it != weights_.end() && it->second.shape().size() == 4) fallback = it->second.shape()[3];
    }
    ASSIGN_OR_RETURN(int64_t mult, GetOr<int64_t>("depth_multiplier", fallback));
    if (mult <= 0) return InvalidArgument(where_ + ": field 'depth_multiplier' must be positive");
    return mult;
  }

  Result<ValueId> DepthwiseConv2D() {
    RETURN_IF_ERROR(CheckDataFormat());
    ASSIGN_OR_RETURN(ValueId x, OnlyInput(4));
    ASSIGN_OR_RETURN(int64_t mult, DepthMultiplier());
    ASSIGN_OR_RETURN(Pair k, GetPair("kernel_size"));
    RETURN_IF_ERROR(CheckPositive("kernel_size", k));
    const int64_t c = ShapeOf(x)[1];
    ASSIGN_OR_RETURN(ValueId weight, DepthwiseWeight(c, mult, k));
    ASSIGN_OR_RETURN(ValueId bias, OptionalBias(c * mult));
    return EmitConv(x, weight, bias, k, c);
  }

  // A depthwise conv (no bias) then a 1×1 conv [1, 1, C·M, F] with the bias
  // and the activation (Keras' Xception, NASNet).
  Result<ValueId> SeparableConv2D() {
    RETURN_IF_ERROR(CheckDataFormat());
    ASSIGN_OR_RETURN(ValueId x, OnlyInput(4));
    ASSIGN_OR_RETURN(int64_t mult, DepthMultiplier());
    ASSIGN_OR_RETURN(int64_t filters, Get<int64_t>("filters"));
    ASSIGN_OR_RETURN(Pair k, GetPair("kernel_size"));
    RETURN_IF_ERROR(CheckPositive("kernel_size", k));
    ASSIGN_OR_RETURN(Pair strides, GetPair("strides", Pair{1, 1}));
    ASSIGN_OR_RETURN(Pair dilations, GetPair("dilation_rate", Pair{1, 1}));
    RETURN_IF_ERROR(CheckPositive("strides", strides));
    RETURN_IF_ERROR(CheckPositive("dilation_rate", dilations));
    const int64_t c = ShapeOf(x)[1];
    ASSIGN_OR_RETURN(ValueId dw_weight, DepthwiseWeight(c, mult, k));
    ir::ConvAttrs dw;
    dw.kernel = k;
    dw.strides = strides;
    dw.dilations = dilations;
    dw.group = c;
    ASSIGN_OR_RETURN(dw.pads, WindowPads(ShapeOf(x), k, strides, dilations));
    ASSIGN_OR_RETURN(ValueId depthwise, Emit(OpType::kConv, {x, dw_weight, ir::kNoValue}, std::move(dw), ""));
    ASSIGN_OR_RETURN(auto pw, Weight("pointwise_kernel", {1, 1, c * mult, filters}));
    Tensor t(Shape{filters, c * mult, 1, 1});  // [1, 1, I, O] -> [O, I, 1, 1]
    for (int64_t i = 0; i < c * mult; ++i)
      for (int64_t o = 0; o < filters; ++o) t[o * c * mult + i] = pw.second[i * filters + o];
    const ValueId pw_weight = graph_.AddConstant(pw.first, std::move(t));
    ASSIGN_OR_RETURN(ValueId bias, OptionalBias(filters));
    ASSIGN_OR_RETURN(ValueId y, Emit(OpType::kConv, {depthwise, pw_weight, bias}, ir::ConvAttrs{}, "pointwise"));
    return TrailingActivation(y);
  }

  // A normalisation's gamma and beta ([c]); 1 and 0 when the layer has
  // `scale` or `center` off.
  Result<std::pair<ValueId, ValueId>> GammaBeta(int64_t c) {
    ASSIGN_OR_RETURN(bool center, GetOr<bool>("center", true));
    ASSIGN_OR_RETURN(bool scale, GetOr<bool>("scale", true));
    ValueId gamma = ir::kNoValue, beta = ir::kNoValue;
    if (scale) {
      ASSIGN_OR_RETURN(gamma, WeightValue("gamma", {c}));
    } else {
      gamma = Filled("gamma", c, 1.0f);
    }
    if (center) {
      ASSIGN_OR_RETURN(beta, WeightValue("beta", {c}));
    } else {
      beta = Filled("beta", c, 0.0f);
    }
    return std::pair{gamma, beta};
  }

  // Keras writes a normalisation's axis as an int, or (tf.keras) as a
  // one-element list.
  Result<int64_t> OneAxis() const {
    ASSIGN_OR_RETURN(const Json* axis_json, GetNode(config_, "axis", where_));
    const Json& a = axis_json->is_array() && axis_json->size() == 1 ? (*axis_json)[0] : *axis_json;
    if (!a.is_number_integer()) return NotSupported("axis", axis_json->dump(), "one axis only");
    return a.get<int64_t>();
  }

  Result<ValueId> BatchNormalization() {
    ASSIGN_OR_RETURN(ValueId x, OnlyInput());
    const size_t rank = ShapeOf(x).size();
    if (rank != 2 && rank != 4) {
      return Unsupported(where_ + ": expects a 2-D or 4-D input, got " + ShapeToString(ShapeOf(x)));
    }
    ASSIGN_OR_RETURN(const int64_t axis, OneAxis());
    if (axis != -1 && axis != static_cast<int64_t>(rank) - 1) {
      return NotSupported("axis", config_.find("axis")->dump(), "only the channel axis -1/3");
    }
    ASSIGN_OR_RETURN(double epsilon, GetOr<double>("epsilon", 1e-3));
    const int64_t c = ShapeOf(x)[1];
    ASSIGN_OR_RETURN(auto gamma_beta, GammaBeta(c));
    const auto [gamma, beta] = gamma_beta;
    ASSIGN_OR_RETURN(ValueId mean, WeightValue("moving_mean", {c}));
    ASSIGN_OR_RETURN(ValueId var, WeightValue("moving_variance", {c}));
    return Emit(OpType::kBatchNorm, {x, gamma, beta, mean, var},
                ir::BatchNormAttrs{static_cast<float>(epsilon)}, "");
  }

  // Over one axis (Keras' default -1: the channels), epsilon 1e-3.
  Result<ValueId> LayerNormalization() {
    ASSIGN_OR_RETURN(ValueId x, OnlyInput());
    const size_t rank = ShapeOf(x).size();
    ASSIGN_OR_RETURN(const int64_t keras_axis, OneAxis());
    ASSIGN_OR_RETURN(int64_t axis, LogicalAxis(keras_axis, rank, "axis"));
    ASSIGN_OR_RETURN(double epsilon, GetOr<double>("epsilon", 1e-3));
    const int64_t c = ShapeOf(x)[static_cast<size_t>(axis)];
    ASSIGN_OR_RETURN(auto gamma_beta, GammaBeta(c));
    const auto [gamma, beta] = gamma_beta;
    return Emit(OpType::kLayerNorm, {x, gamma, beta},
                ir::LayerNormAttrs{axis, static_cast<float>(epsilon)}, "");
  }

  Result<ValueId> ActivationLayer() {
    ASSIGN_OR_RETURN(ValueId x, OnlyInput());
    ASSIGN_OR_RETURN(auto name, Get<std::string>("activation"));
    return ApplyActivation(name, x, /*identity_for_linear=*/true);
  }

  Result<ValueId> ReLU() {
    ASSIGN_OR_RETURN(ValueId x, OnlyInput());
    ASSIGN_OR_RETURN(double threshold, GetOr<double>("threshold", 0.0));
    ASSIGN_OR_RETURN(double slope, GetOr<double>("negative_slope", 0.0));
    if (threshold != 0.0) return NotSupported("threshold");
    ir::Activation act{ir::ActivationKind::kRelu};
    if (Has("max_value")) {
      ASSIGN_OR_RETURN(double max_value, Get<double>("max_value"));
      if (slope != 0.0)
        return NotSupported("negative_slope", config_.find("negative_slope")->dump(),
                            "together with max_value");
      act = {ir::ActivationKind::kClip, 0.0f, static_cast<float>(max_value)};
    } else if (slope != 0.0) {
      act = {ir::ActivationKind::kLeakyRelu, static_cast<float>(slope)};
    }
    return Emit(OpType::kActivation, {x}, ir::ActivationAttrs{act}, "");
  }

  Result<ValueId> LeakyReLU() {
    ASSIGN_OR_RETURN(ValueId x, OnlyInput());
    ASSIGN_OR_RETURN(double alpha, GetOr<double>("alpha", 0.3));
    return Emit(OpType::kActivation, {x},
                ir::ActivationAttrs{{ir::ActivationKind::kLeakyRelu, static_cast<float>(alpha)}},
                "");
  }

  Result<ValueId> ZeroPadding2D() {
    RETURN_IF_ERROR(CheckDataFormat());
    ASSIGN_OR_RETURN(ValueId x, OnlyInput(4));
    ASSIGN_OR_RETURN(const Json* p, GetNode(config_, "padding", where_));
    auto is_int = [](const Json& j) { return j.is_number_integer(); };
    auto is_pair = [&](const Json& j) {
      return j.is_array() && j.size() == 2 && is_int(j[0]) && is_int(j[1]);
    };
    ir::PadAttrs attrs;  // {top, left, bottom, right}
    if (is_int(*p)) {
      const auto v = p->get<int64_t>();
      attrs.pads = {v, v, v, v};
    } else if (is_pair(*p)) {  // [symmetric H, symmetric W]
      const auto h = (*p)[0].get<int64_t>(), w = (*p)[1].get<int64_t>();
      attrs.pads = {h, w, h, w};
    } else if (p->is_array() && p->size() == 2 && is_pair((*p)[0]) && is_pair((*p)[1])) {
      const Json& h = (*p)[0];
      const Json& w = (*p)[1];
      attrs.pads = {h[0].get<int64_t>(), w[0].get<int64_t>(), h[1].get<int64_t>(),
                    w[1].get<int64_t>()};
    } else {
      return InvalidArgument(where_ + ": field 'padding' = " + p->dump() +
                             " must be an int, [h, w] or [[top, bottom], [left, right]]");
    }
    return Emit(OpType::kPad, {x}, attrs, "");
  }

  Result<ValueId> Pool(OpType op) {
    RETURN_IF_ERROR(CheckDataFormat());
    ASSIGN_OR_RETURN(ValueId x, OnlyInput(4));
    ir::PoolAttrs attrs;
    ASSIGN_OR_RETURN(attrs.kernel, GetPair("pool_size", Pair{2, 2}));
    RETURN_IF_ERROR(CheckPositive("pool_size", attrs.kernel));
    ASSIGN_OR_RETURN(attrs.strides, GetPair("strides", attrs.kernel));  // null -> pool_size
    RETURN_IF_ERROR(CheckPositive("strides", attrs.strides));
    ASSIGN_OR_RETURN(attrs.pads, WindowPads(ShapeOf(x), attrs.kernel, attrs.strides, {1, 1}));
    attrs.count_include_pad = false;  // TF leaves 'same' padding out of the average
    return Emit(op, {x}, attrs, "");
  }
  Result<ValueId> MaxPooling2D() { return Pool(OpType::kMaxPool); }
  Result<ValueId> AveragePooling2D() { return Pool(OpType::kAvgPool); }

  Result<ValueId> GlobalAveragePooling2D() {
    RETURN_IF_ERROR(CheckDataFormat());
    ASSIGN_OR_RETURN(ValueId x, OnlyInput(4));
    ASSIGN_OR_RETURN(bool keepdims, GetOr<bool>("keepdims", false));
    ASSIGN_OR_RETURN(ValueId y, Emit(OpType::kGlobalAvgPool, {x}, {}, ""));
    if (keepdims) return y;
    // Keras returns [N, C]; the IR's GlobalAvgPool keeps [N, C, 1, 1].
    return Emit(OpType::kFlatten, {y}, ir::FlattenAttrs{true}, "flatten");
  }

  Result<ValueId> GlobalMaxPooling2D() {
    RETURN_IF_ERROR(CheckDataFormat());
    ASSIGN_OR_RETURN(ValueId x, OnlyInput(4));
    ASSIGN_OR_RETURN(bool keepdims, GetOr<bool>("keepdims", false));
    ASSIGN_OR_RETURN(ValueId y, Emit(OpType::kGlobalMaxPool, {x}, {}, ""));
    if (keepdims) return y;
    return Emit(OpType::kFlatten, {y}, ir::FlattenAttrs{true}, "flatten");
  }

  Result<ValueId> Concatenate() {
    if (inputs_.size() < 2) {
      return InvalidArgument(where_ + ": expects at least 2 inputs, got " +
                             std::to_string(inputs_.size()));
    }
    ASSIGN_OR_RETURN(int64_t keras_axis, GetOr<int64_t>("axis", -1));
    ASSIGN_OR_RETURN(int64_t axis, LogicalAxis(keras_axis, ShapeOf(inputs_[0]).size(), "axis"));
    return Emit(OpType::kConcat, inputs_, ir::ConcatAttrs{axis}, "");
  }

  Result<ValueId> Add() {
    if (inputs_.size() < 2) {
      return InvalidArgument(where_ + ": expects at least 2 inputs, got " +
                             std::to_string(inputs_.size()));
    }
    // a + b + c + ... as a chain of binary Adds.
    ValueId sum = inputs_[0];
    for (size_t i = 1; i < inputs_.size(); ++i) {
      ASSIGN_OR_RETURN(sum, Emit(OpType::kBinary, {sum, inputs_[i]},
                                 ir::BinaryAttrs{ir::BinaryKind::kAdd}, "add" + std::to_string(i)));
    }
    return sum;
  }

  // The element-wise product of the inputs; one of two may broadcast to the
  // other (a squeeze-and-excitation gate [N, C, 1, 1] times [N, C, H, W]).
  Result<ValueId> Multiply() {
    if (inputs_.size() < 2) {
      return InvalidArgument(where_ + ": expects at least 2 inputs, got " +
                             std::to_string(inputs_.size()));
    }
    auto broadcasts_to = [&](ValueId b, ValueId a) {
      const Shape& bs = ShapeOf(b);
      const Shape& as = ShapeOf(a);
      if (bs.size() != as.size()) return false;
      for (size_t d = 1; d < as.size(); ++d) {
        if (bs[d] != 1 && bs[d] != as[d]) return false;
      }
      return true;
    };
    ValueId product = inputs_[0];
    for (size_t i = 1; i < inputs_.size(); ++i) {
      ValueId a = product, b = inputs_[i];
      if (!broadcasts_to(b, a)) std::swap(a, b);
      if (!broadcasts_to(b, a)) {
        return Unsupported(where_ + ": inputs of shapes " + ShapeToString(ShapeOf(product)) + " and " +
                           ShapeToString(ShapeOf(inputs_[i])) + " do not broadcast");
      }
      ASSIGN_OR_RETURN(product, Emit(OpType::kBinary, {a, b}, ir::BinaryAttrs{ir::BinaryKind::kMul},
                                     "mul" + std::to_string(i)));
    }
    return product;
  }

  // Keras reshapes the channels-last tensor in its row-major order. Where
  // the IR's NCHW order holds the same elements in the same order (a [N, C]
  // or [N, C, 1, 1] value to [1, 1, C] or [C]: the SE gate) it is one
  // Reshape; otherwise a permute to channels-last, the Reshape and, for a
  // 3-D target, the permute back.
  Result<ValueId> Reshape() {
    ASSIGN_OR_RETURN(ValueId x, OnlyInput());
    ASSIGN_OR_RETURN(const Json* target_json, GetNode(config_, "target_shape", where_));
    if (!target_json->is_array() || target_json->empty()) {
      return InvalidArgument(where_ + ": field 'target_shape' must be a list of integers");
    }
    std::vector<int64_t> target;
    int64_t known = 1, unknown = -1;
    for (size_t i = 0; i < target_json->size(); ++i) {
      const Json& d = (*target_json)[i];
      if (!d.is_number_integer() || d.get<int64_t>() == 0 || d.get<int64_t>() < -1) {
        return InvalidArgument(where_ + ": field 'target_shape' = " + target_json->dump() +
                               " must hold positive integers (one may be -1)");
      }
      target.push_back(d.get<int64_t>());
      if (target.back() == -1) {
        if (unknown >= 0) return InvalidArgument(where_ + ": field 'target_shape' has two -1s");
        unknown = static_cast<int64_t>(i);
      } else {
        known *= target.back();
      }
    }
    const Shape& xs = ShapeOf(x);
    int64_t count = 1;
    for (size_t d = 1; d < xs.size(); ++d) count *= xs[d];
    if (unknown >= 0 && known > 0 && count % known == 0) target[static_cast<size_t>(unknown)] = count / known;
    if ((unknown < 0 && known != count) || (unknown >= 0 && count % known != 0)) {
      return InvalidArgument(where_ + ": cannot reshape " + ShapeToString(xs) + " to target_shape " +
                             target_json->dump());
    }
    if (target.size() != 1 && target.size() != 3) {
      return NotSupported("target_shape", target_json->dump(), "1-D or 3-D (H, W, C) targets only");
    }
    // The target in the IR's logical order: [h, w, c] -> [N, c, h, w].
    Shape logical{-1};
    if (target.size() == 3) {
      logical.insert(logical.end(), {target[2], target[0], target[1]});
    } else {
      logical.push_back(target[0]);
    }
    const bool x_plain = xs.size() == 2 || (xs.size() == 4 && xs[2] == 1 && xs[3] == 1);
    const bool y_plain = target.size() == 1 || (target[0] == 1 && target[1] == 1);
    if (x_plain && y_plain) return Emit(OpType::kReshape, {x}, ir::ReshapeAttrs{logical}, "");
    ValueId v = x;
    if (xs.size() == 4) {
      ASSIGN_OR_RETURN(v, Emit(OpType::kTranspose, {v}, ir::TransposeAttrs{{0, 2, 3, 1}}, "to_channels_last"));
    }
    Shape keras{-1};
    keras.insert(keras.end(), target.begin(), target.end());
    ASSIGN_OR_RETURN(v, Emit(OpType::kReshape, {v}, ir::ReshapeAttrs{keras}, "reshape"));
    if (target.size() == 3) {
      ASSIGN_OR_RETURN(v, Emit(OpType::kTranspose, {v}, ir::TransposeAttrs{{0, 3, 1, 2}}, "to_channels_first"));
    }
    return v;
  }

  Result<ValueId> Flatten() {
    RETURN_IF_ERROR(CheckDataFormat());
    ASSIGN_OR_RETURN(ValueId x, OnlyInput());
    return Emit(OpType::kFlatten, {x}, ir::FlattenAttrs{true}, "");
  }

  Result<ValueId> Dense() {
    ASSIGN_OR_RETURN(ValueId x, OnlyInput(2));
    ASSIGN_OR_RETURN(int64_t units, Get<int64_t>("units"));
    const int64_t k = ShapeOf(x)[1];
    ASSIGN_OR_RETURN(auto w, Weight("kernel", {k, units}));
    // [K, O] -> [O, K]
    Tensor t(Shape{units, k});
    for (int64_t i = 0; i < k; ++i)
      for (int64_t o = 0; o < units; ++o) t[o * k + i] = w.second[i * units + o];
    const ValueId weight = graph_.AddConstant(w.first, std::move(t));
    ASSIGN_OR_RETURN(ValueId bias, OptionalBias(units));
    ASSIGN_OR_RETURN(ValueId y, Emit(OpType::kDense, {x, weight, bias}, ir::DenseAttrs{}, ""));
    return TrailingActivation(y);
  }

  Result<ValueId> Dropout() {
    ASSIGN_OR_RETURN(ValueId x, OnlyInput());
    return Emit(OpType::kIdentity, {x}, {}, "");
  }

  Result<ValueId> Softmax() {
    ASSIGN_OR_RETURN(ValueId x, OnlyInput());
    ASSIGN_OR_RETURN(int64_t keras_axis, GetOr<int64_t>("axis", -1));
    ASSIGN_OR_RETURN(int64_t axis, LogicalAxis(keras_axis, ShapeOf(x).size(), "axis"));
    return Emit(OpType::kSoftmax, {x}, ir::SoftmaxAttrs{axis}, "");
  }

  const KerasLayer& layer_;
  const Json& config_;
  const std::vector<ValueId>& inputs_;
  const WeightMap& weights_;
  ir::Graph& graph_;
  const std::string where_;
  int emitted_ = 0;
};

}  // namespace

std::string DescribeLayer(const KerasLayer& layer) {
  return "layer '" + layer.name + "' (" + layer.class_name + ")";
}

Result<ir::ValueId> ConvertLayer(const KerasLayer& layer, const std::vector<ir::ValueId>& inputs,
                                 const WeightMap& weights, ir::Graph& graph) {
  if (layer.config == nullptr || !layer.config->is_object()) {
    return InvalidArgument(DescribeLayer(layer) + ": field 'config' must be an object");
  }
  return LayerConverter(layer, inputs, weights, graph).Convert();
}

}  // namespace kamado::importers::tfjs
