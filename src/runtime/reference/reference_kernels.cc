#include "runtime/reference/reference_kernels.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "ir/shape_inference.h"

namespace kamado::reference {
namespace {

using ir::PostOp;

Status Check(bool ok, std::string_view op, const std::string& what) {
  return ok ? Status::Ok() : InvalidArgument(std::string(op) + ": " + what);
}

Status Check4D(std::string_view op, const Tensor& src) {
  return Check(src.shape().size() == 4, op,
               "expects a 4-D input, got " + ShapeToString(src.shape()));
}

Status CheckParam(std::string_view op, std::string_view name, const Tensor& t, int64_t n) {
  return Check(
      t.shape() == Shape{n}, op,
      std::string(name) + " must be [" + std::to_string(n) + "], got " + ShapeToString(t.shape()));
}

Status CheckWindow(std::string_view op, std::array<int64_t, 2> kernel,
                   std::array<int64_t, 2> strides, std::array<int64_t, 2> dilations,
                   std::array<int64_t, 4> pads) {
  for (int i = 0; i < 2; ++i) {
    RETURN_IF_ERROR(Check(kernel[i] > 0 && strides[i] > 0 && dilations[i] > 0, op,
                          "kernel, strides and dilations must be positive"));
    RETURN_IF_ERROR(Check(pads[i] >= 0 && pads[i + 2] >= 0, op, "pads must be non-negative"));
  }
  return Status::Ok();
}

// Pooling windows must each hold at least one input cell; with floor-mode
// output sizes that holds exactly when every pad is smaller than the kernel.
Status CheckPoolPads(std::string_view op, const ir::PoolAttrs& a) {
  RETURN_IF_ERROR(CheckWindow(op, a.kernel, a.strides, {1, 1}, a.pads));
  const bool ok = a.pads[0] < a.kernel[0] && a.pads[2] < a.kernel[0] && a.pads[1] < a.kernel[1] &&
                  a.pads[3] < a.kernel[1];
  return Check(ok, op, "pads must be smaller than the kernel");
}

Result<std::array<int64_t, 2>> OutputHW(std::string_view op, const Shape& x,
                                        std::array<int64_t, 2> kernel,
                                        std::array<int64_t, 2> strides,
                                        std::array<int64_t, 2> dilations,
                                        std::array<int64_t, 4> pads) {
  const int64_t oh =
      ir::WindowOutputSize(x[2], kernel[0], strides[0], dilations[0], pads[0], pads[2]);
  const int64_t ow =
      ir::WindowOutputSize(x[3], kernel[1], strides[1], dilations[1], pads[1], pads[3]);
  RETURN_IF_ERROR(
      Check(oh > 0 && ow > 0, op, "window larger than the padded input " + ShapeToString(x)));
  return std::array<int64_t, 2>{oh, ow};
}

int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
int64_t CeilDiv(int64_t a, int64_t b) { return -FloorDiv(-a, b); }

// Applies activation post-ops (and the residual sum, when `residual` is set)
// in order to `count` floats.
void ApplyPostOps(std::span<const PostOp> post_ops, float* dst, const float* residual,
                  int64_t count) {
  for (const PostOp& p : post_ops) {
    if (p.kind == PostOp::Kind::kSum) {
      for (int64_t i = 0; i < count; ++i) dst[i] += residual[i];
    } else {
      for (int64_t i = 0; i < count; ++i) dst[i] = p.activation.Apply(dst[i]);
    }
  }
}

}  // namespace

Result<Tensor> Conv2D(const Tensor& src, const Tensor& weight, const Tensor* bias,
                      const ir::ConvAttrs& attrs, const Tensor* residual) {
  constexpr std::string_view kOp = "Conv";
  RETURN_IF_ERROR(Check4D(kOp, src));
  const Shape& ws = weight.shape();
  RETURN_IF_ERROR(Check(ws.size() == 4, kOp, "weight must be 4-D, got " + ShapeToString(ws)));
  const int64_t n_batch = src.shape()[0], c_in = src.shape()[1];
  const int64_t h_in = src.shape()[2], w_in = src.shape()[3];
  const int64_t c_out = ws[0], kh_size = ws[2], kw_size = ws[3];
  const int64_t group = attrs.group;
  RETURN_IF_ERROR(
      Check(group > 0 && c_in % group == 0 && c_out % group == 0 && ws[1] * group == c_in, kOp,
            "weight " + ShapeToString(ws) + " does not match input " + ShapeToString(src.shape()) +
                " with group " + std::to_string(group)));
  RETURN_IF_ERROR(Check(attrs.kernel[0] == kh_size && attrs.kernel[1] == kw_size, kOp,
                        "kernel attribute does not match the weight " + ShapeToString(ws)));
  RETURN_IF_ERROR(CheckWindow(kOp, attrs.kernel, attrs.strides, attrs.dilations, attrs.pads));
  if (bias != nullptr) RETURN_IF_ERROR(CheckParam(kOp, "bias", *bias, c_out));
  ASSIGN_OR_RETURN(auto out_hw, OutputHW(kOp, src.shape(), attrs.kernel, attrs.strides,
                                         attrs.dilations, attrs.pads));
  const int64_t h_out = out_hw[0], w_out = out_hw[1];
  const Shape dst_shape{n_batch, c_out, h_out, w_out};
  const auto sums = std::count_if(attrs.post_ops.begin(), attrs.post_ops.end(),
                                  [](const PostOp& p) { return p.kind == PostOp::Kind::kSum; });
  if (sums > 1) return Unsupported("Conv: more than one sum post-op");
  if (sums == 1) {
    RETURN_IF_ERROR(Check(residual != nullptr, kOp, "sum post-op without a residual input"));
    RETURN_IF_ERROR(Check(residual->shape() == dst_shape, kOp,
                          "residual " + ShapeToString(residual->shape()) +
                              " does not match the output " + ShapeToString(dst_shape)));
  }

  const int64_t sh = attrs.strides[0], sw = attrs.strides[1];
  const int64_t dh = attrs.dilations[0], dw = attrs.dilations[1];
  const int64_t pad_top = attrs.pads[0], pad_left = attrs.pads[1];
  const int64_t cin_per_group = c_in / group, cout_per_group = c_out / group;
  const int64_t plane_in = h_in * w_in, plane_out = h_out * w_out;

  Tensor dst(dst_shape);
  std::vector<double> acc(static_cast<size_t>(plane_out));
  for (int64_t n = 0; n < n_batch; ++n) {
    for (int64_t o = 0; o < c_out; ++o) {
      const int64_t g = o / cout_per_group;
      std::fill(acc.begin(), acc.end(), bias != nullptr ? double{(*bias)[o]} : 0.0);
      for (int64_t ic = 0; ic < cin_per_group; ++ic) {
        const float* plane = src.data() + (n * c_in + g * cin_per_group + ic) * plane_in;
        for (int64_t kh = 0; kh < kh_size; ++kh) {
          for (int64_t kw = 0; kw < kw_size; ++kw) {
            const double wv = weight[((o * cin_per_group + ic) * kh_size + kh) * kw_size + kw];
            // Input column iw = ow·sw + col_offset; keep ow where 0 <= iw < W.
            const int64_t col_offset = kw * dw - pad_left;
            const int64_t ow_begin = std::max<int64_t>(0, CeilDiv(-col_offset, sw));
            const int64_t ow_end =
                std::min<int64_t>(w_out, FloorDiv(w_in - 1 - col_offset, sw) + 1);
            for (int64_t oh = 0; oh < h_out; ++oh) {
              const int64_t ih = oh * sh - pad_top + kh * dh;
              if (ih < 0 || ih >= h_in) continue;
              const float* row = plane + ih * w_in + col_offset;
              double* out_row = acc.data() + oh * w_out;
              for (int64_t ow = ow_begin; ow < ow_end; ++ow) out_row[ow] += wv * row[ow * sw];
            }
          }
        }
      }
      float* out = dst.data() + (n * c_out + o) * plane_out;
      for (int64_t i = 0; i < plane_out; ++i) out[i] = static_cast<float>(acc[i]);
      const float* res = sums == 1 ? residual->data() + (n * c_out + o) * plane_out : nullptr;
      ApplyPostOps(attrs.post_ops, out, res, plane_out);
    }
  }
  return dst;
}

Result<Tensor> BatchNorm(const Tensor& src, const Tensor& gamma, const Tensor& beta,
                         const Tensor& mean, const Tensor& variance,
                         const ir::BatchNormAttrs& attrs) {
  constexpr std::string_view kOp = "BatchNorm";
  const Shape& s = src.shape();
  RETURN_IF_ERROR(Check(s.size() >= 2, kOp, "expects at least a 2-D input"));
  const int64_t channels = s[1];
  RETURN_IF_ERROR(CheckParam(kOp, "gamma", gamma, channels));
  RETURN_IF_ERROR(CheckParam(kOp, "beta", beta, channels));
  RETURN_IF_ERROR(CheckParam(kOp, "mean", mean, channels));
  RETURN_IF_ERROR(CheckParam(kOp, "variance", variance, channels));
  int64_t inner = 1;
  for (size_t d = 2; d < s.size(); ++d) inner *= s[d];
  Tensor dst(s);
  for (int64_t n = 0; n < s[0]; ++n) {
    for (int64_t c = 0; c < channels; ++c) {
      const double scale =
          double{gamma[c]} / std::sqrt(double{variance[c]} + double{attrs.epsilon});
      const int64_t base = (n * channels + c) * inner;
      for (int64_t i = 0; i < inner; ++i) {
        const float y = static_cast<float>((double{src[base + i]} - double{mean[c]}) * scale + beta[c]);
        dst[base + i] = attrs.relu && y < 0.0f ? 0.0f : y;
      }
    }
  }
  return dst;
}

Tensor Activation(const Tensor& src, const ir::Activation& activation) {
  Tensor dst(src.shape());
  for (int64_t i = 0; i < src.size(); ++i) dst[i] = activation.Apply(src[i]);
  return dst;
}

Result<Tensor> Pad(const Tensor& src, const ir::PadAttrs& attrs) {
  constexpr std::string_view kOp = "Pad";
  RETURN_IF_ERROR(Check4D(kOp, src));
  const auto& p = attrs.pads;
  for (int64_t v : p) RETURN_IF_ERROR(Check(v >= 0, kOp, "negative pads are unsupported"));
  const Shape& s = src.shape();
  const int64_t h_out = s[2] + p[0] + p[2], w_out = s[3] + p[1] + p[3];
  Tensor dst({s[0], s[1], h_out, w_out});
  std::fill(dst.span().begin(), dst.span().end(), attrs.value);
  for (int64_t nc = 0; nc < s[0] * s[1]; ++nc) {
    for (int64_t h = 0; h < s[2]; ++h) {
      for (int64_t w = 0; w < s[3]; ++w) {
        dst[(nc * h_out + h + p[0]) * w_out + w + p[1]] = src[(nc * s[2] + h) * s[3] + w];
      }
    }
  }
  return dst;
}

namespace {

enum class PoolKind { kMax, kAvg };

Result<Tensor> Pool(std::string_view op, PoolKind kind, const Tensor& src, const ir::PoolAttrs& a) {
  RETURN_IF_ERROR(Check4D(op, src));
  RETURN_IF_ERROR(CheckPoolPads(op, a));
  RETURN_IF_ERROR(Check(!ir::HasSumPostOp(a.post_ops), op, "a sum post-op needs a residual"));
  ASSIGN_OR_RETURN(auto out_hw, OutputHW(op, src.shape(), a.kernel, a.strides, {1, 1}, a.pads));
  const Shape& s = src.shape();
  const int64_t h_in = s[2], w_in = s[3], h_out = out_hw[0], w_out = out_hw[1];
  Tensor dst({s[0], s[1], h_out, w_out});
  for (int64_t nc = 0; nc < s[0] * s[1]; ++nc) {
    const float* plane = src.data() + nc * h_in * w_in;
    for (int64_t oh = 0; oh < h_out; ++oh) {
      for (int64_t ow = 0; ow < w_out; ++ow) {
        double sum = 0.0;
        float max = -std::numeric_limits<float>::infinity();
        int64_t inside = 0;
        for (int64_t kh = 0; kh < a.kernel[0]; ++kh) {
          const int64_t ih = oh * a.strides[0] - a.pads[0] + kh;
          if (ih < 0 || ih >= h_in) continue;
          for (int64_t kw = 0; kw < a.kernel[1]; ++kw) {
            const int64_t iw = ow * a.strides[1] - a.pads[1] + kw;
            if (iw < 0 || iw >= w_in) continue;
            const float v = plane[ih * w_in + iw];
            sum += v;
            max = std::max(max, v);
            ++inside;
          }
        }
        float& out = dst[(nc * h_out + oh) * w_out + ow];
        if (kind == PoolKind::kMax) {
          out = max;
        } else {
          const int64_t divisor = a.count_include_pad ? a.kernel[0] * a.kernel[1] : inside;
          out = static_cast<float>(sum / static_cast<double>(divisor));
        }
      }
    }
  }
  ApplyPostOps(a.post_ops, dst.data(), nullptr, dst.size());
  return dst;
}

}  // namespace

Result<Tensor> MaxPool(const Tensor& src, const ir::PoolAttrs& attrs) {
  return Pool("MaxPool", PoolKind::kMax, src, attrs);
}

Result<Tensor> AvgPool(const Tensor& src, const ir::PoolAttrs& attrs) {
  return Pool("AvgPool", PoolKind::kAvg, src, attrs);
}

Result<Tensor> GlobalAvgPool(const Tensor& src) {
  RETURN_IF_ERROR(Check4D("GlobalAvgPool", src));
  const Shape& s = src.shape();
  const int64_t plane = s[2] * s[3];
  Tensor dst({s[0], s[1], 1, 1});
  for (int64_t nc = 0; nc < s[0] * s[1]; ++nc) {
    double sum = 0.0;
    for (int64_t i = 0; i < plane; ++i) sum += src[nc * plane + i];
    dst[nc] = static_cast<float>(sum / static_cast<double>(plane));
  }
  return dst;
}

Result<Tensor> Concat(std::span<const Tensor> srcs, const ir::ConcatAttrs& attrs) {
  constexpr std::string_view kOp = "Concat";
  RETURN_IF_ERROR(Check(!srcs.empty(), kOp, "has no inputs"));
  Shape s = srcs[0].shape();
  const int64_t axis = attrs.axis;
  RETURN_IF_ERROR(Check(axis >= 1 && axis < static_cast<int64_t>(s.size()), kOp,
                        "axis " + std::to_string(axis) + " out of range for " + ShapeToString(s)));
  const auto ax = static_cast<size_t>(axis);
  for (size_t i = 1; i < srcs.size(); ++i) {
    const Shape& t = srcs[i].shape();
    bool match = t.size() == s.size();
    for (size_t d = 0; match && d < s.size(); ++d) match = d == ax || t[d] == s[d];
    RETURN_IF_ERROR(
        Check(match, kOp,
              "input " + ShapeToString(t) + " does not match " + ShapeToString(srcs[0].shape())));
    s[ax] += t[ax];
  }
  // View every tensor as [outer, axis·inner]; output rows are the inputs'
  // rows laid side by side.
  int64_t outer = 1, inner = 1;
  for (size_t d = 0; d < ax; ++d) outer *= s[d];
  for (size_t d = ax + 1; d < s.size(); ++d) inner *= s[d];
  Tensor dst(s);
  const int64_t dst_row = s[ax] * inner;
  int64_t offset = 0;
  for (const Tensor& src : srcs) {
    const int64_t src_row = src.shape()[ax] * inner;
    for (int64_t o = 0; o < outer; ++o) {
      std::copy_n(src.data() + o * src_row, src_row, dst.data() + o * dst_row + offset);
    }
    offset += src_row;
  }
  return dst;
}

Result<Tensor> Flatten(const Tensor& src, const ir::FlattenAttrs& attrs) {
  const Shape& s = src.shape();
  RETURN_IF_ERROR(
      Check(s.size() >= 2, "Flatten", "expects at least a 2-D input, got " + ShapeToString(s)));
  const int64_t k = src.size() / std::max<int64_t>(s[0], 1);
  if (!attrs.channels_last || s.size() != 4) return src.Clone().Reshaped({s[0], k});
  const int64_t channels = s[1], height = s[2], width = s[3];
  Tensor dst({s[0], k});
  for (int64_t n = 0; n < s[0]; ++n) {
    for (int64_t c = 0; c < channels; ++c) {
      for (int64_t h = 0; h < height; ++h) {
        for (int64_t w = 0; w < width; ++w) {
          dst[n * k + (h * width + w) * channels + c] =
              src[((n * channels + c) * height + h) * width + w];
        }
      }
    }
  }
  return dst;
}

Result<Tensor> Dense(const Tensor& src, const Tensor& weight, const Tensor* bias,
                     const ir::DenseAttrs& attrs) {
  constexpr std::string_view kOp = "Dense";
  const Shape& x = src.shape();
  const Shape& w = weight.shape();
  bool match = x.size() == w.size() && (x.size() == 2 || x.size() == 4);
  for (size_t d = 1; match && d < x.size(); ++d) match = x[d] == w[d];
  RETURN_IF_ERROR(Check(
      match, kOp, "input " + ShapeToString(x) + " does not match weight " + ShapeToString(w)));
  for (const PostOp& p : attrs.post_ops) {
    if (p.kind != PostOp::Kind::kActivation) {
      return Unsupported("Dense: only activation post-ops are supported");
    }
  }
  const int64_t n_batch = x[0], c_out = w[0];
  if (bias != nullptr) RETURN_IF_ERROR(CheckParam(kOp, "bias", *bias, c_out));
  // [O, C, H, W] weights and an NCHW input share the (c, h, w) order, so both
  // forms are a dot product over the K = C·H·W trailing elements.
  const int64_t k = NumElements(w) / std::max<int64_t>(c_out, 1);
  Tensor dst({n_batch, c_out});
  for (int64_t n = 0; n < n_batch; ++n) {
    const float* row = src.data() + n * k;
    for (int64_t o = 0; o < c_out; ++o) {
      const float* wrow = weight.data() + o * k;
      double acc = bias != nullptr ? double{(*bias)[o]} : 0.0;
      for (int64_t i = 0; i < k; ++i) acc += double{row[i]} * wrow[i];
      dst[n * c_out + o] = static_cast<float>(acc);
    }
    ApplyPostOps(attrs.post_ops, dst.data() + n * c_out, nullptr, c_out);
  }
  return dst;
}

Result<Tensor> Softmax(const Tensor& src, const ir::SoftmaxAttrs& attrs) {
  const Shape& s = src.shape();
  const int64_t axis = attrs.axis;
  RETURN_IF_ERROR(Check(axis >= 0 && axis < static_cast<int64_t>(s.size()), "Softmax",
                        "axis " + std::to_string(axis) + " out of range for " + ShapeToString(s)));
  const auto ax = static_cast<size_t>(axis);
  int64_t outer = 1, inner = 1;
  for (size_t d = 0; d < ax; ++d) outer *= s[d];
  for (size_t d = ax + 1; d < s.size(); ++d) inner *= s[d];
  const int64_t len = s[ax];
  Tensor dst(s);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = o * len * inner + i;  // element j at base + j·inner
      float max = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < len; ++j) max = std::max(max, src[base + j * inner]);
      double sum = 0.0;
      for (int64_t j = 0; j < len; ++j) sum += std::exp(double{src[base + j * inner]} - max);
      for (int64_t j = 0; j < len; ++j) {
        dst[base + j * inner] =
            static_cast<float>(std::exp(double{src[base + j * inner]} - max) / sum);
      }
    }
  }
  return dst;
}

Result<Tensor> NhwcToNchw(const Tensor& src) {
  RETURN_IF_ERROR(Check4D("NhwcToNchw", src));
  const Shape& s = src.shape();  // [N, H, W, C]
  const int64_t n_batch = s[0], height = s[1], width = s[2], channels = s[3];
  Tensor dst({n_batch, channels, height, width});
  for (int64_t n = 0; n < n_batch; ++n) {
    for (int64_t h = 0; h < height; ++h) {
      for (int64_t w = 0; w < width; ++w) {
        for (int64_t c = 0; c < channels; ++c) {
          dst[((n * channels + c) * height + h) * width + w] =
              src[((n * height + h) * width + w) * channels + c];
        }
      }
    }
  }
  return dst;
}

Result<Tensor> NchwToNhwc(const Tensor& src) {
  RETURN_IF_ERROR(Check4D("NchwToNhwc", src));
  const Shape& s = src.shape();  // [N, C, H, W]
  const int64_t n_batch = s[0], channels = s[1], height = s[2], width = s[3];
  Tensor dst({n_batch, height, width, channels});
  for (int64_t n = 0; n < n_batch; ++n) {
    for (int64_t c = 0; c < channels; ++c) {
      for (int64_t h = 0; h < height; ++h) {
        for (int64_t w = 0; w < width; ++w) {
          dst[((n * height + h) * width + w) * channels + c] =
              src[((n * channels + c) * height + h) * width + w];
        }
      }
    }
  }
  return dst;
}

}  // namespace kamado::reference
