// Reference kernels for the ops the ONNX importer added: broadcasting binary
// ops, global max pooling, reshape and transpose (see reference_kernels.h).
#include <algorithm>
#include <cmath>
#include <string>

#include "runtime/reference/reference_kernels.h"

namespace kamado::reference {
namespace {

Status Check(bool ok, std::string_view op, const std::string& what) {
  return ok ? Status::Ok() : InvalidArgument(std::string(op) + ": " + what);
}


}  // namespace

Result<Tensor> Binary(const Tensor& a, const Tensor& b, const ir::BinaryAttrs& attrs) {
  const Shape& as = a.shape();
  const Shape& bs = b.shape();
  bool ok = as.size() == bs.size();
  for (size_t d = 0; ok && d < as.size(); ++d) ok = bs[d] == 1 || bs[d] == as[d];
  RETURN_IF_ERROR(Check(ok, "Binary", ShapeToString(bs) + " does not broadcast to " +
                                          ShapeToString(as)));
  const std::vector<int64_t> ast = RowMajorStrides(as);
  std::vector<int64_t> bst = RowMajorStrides(bs);
  for (size_t d = 0; d < bs.size(); ++d) {
    if (bs[d] == 1) bst[d] = 0;  // broadcast: the same element along this axis
  }
  Tensor dst(as);
  for (int64_t i = 0; i < a.size(); ++i) {
    int64_t rest = i, j = 0;
    for (size_t d = 0; d < as.size(); ++d) {
      j += rest / ast[d] * bst[d];
      rest %= ast[d];
    }
    dst[i] = attrs.Apply(a[i], b[j]);
  }
  return dst;
}

Result<Tensor> GlobalMaxPool(const Tensor& src) {
  const Shape& s = src.shape();
  RETURN_IF_ERROR(Check(s.size() == 4, "GlobalMaxPool", "expects a 4-D input, got " +
                                                            ShapeToString(s)));
  const int64_t plane = s[2] * s[3];
  Tensor dst({s[0], s[1], 1, 1});
  for (int64_t nc = 0; nc < s[0] * s[1]; ++nc) {
    float m = src[nc * plane];
    for (int64_t i = 1; i < plane; ++i) m = std::max(m, src[nc * plane + i]);
    dst[nc] = m;
  }
  return dst;
}

Result<Tensor> Reshape(const Tensor& src, const ir::ReshapeAttrs& attrs) {
  Shape s = attrs.shape;
  RETURN_IF_ERROR(Check(!s.empty() && !src.shape().empty(), "Reshape", "scalar"));
  if (s[0] < 0) s[0] = src.shape()[0];
  RETURN_IF_ERROR(Check(NumElements(s) == src.size(), "Reshape",
                        "cannot reshape " + ShapeToString(src.shape()) + " to " +
                            ShapeToString(s)));
  return src.Clone().Reshaped(s);
}

// dst of shape ys, row-major, with dst[y] = src[Σ_d offset(d, y_d)]: the walk
// Transpose and Slice share (offset(d, at) is axis d's element offset in src).
namespace {
template <typename Offset>
Tensor Remap(const Tensor& src, const Shape& ys, Offset offset) {
  const std::vector<int64_t> yst = RowMajorStrides(ys);
  Tensor dst(ys);
  for (int64_t i = 0; i < dst.size(); ++i) {
    int64_t rest = i, j = 0;
    for (size_t d = 0; d < ys.size(); ++d) {
      j += offset(d, rest / yst[d]);
      rest %= yst[d];
    }
    dst[i] = src[j];
  }
  return dst;
}
}  // namespace

Result<Tensor> Transpose(const Tensor& src, const ir::TransposeAttrs& attrs) {
  const Shape& xs = src.shape();
  const auto& perm = attrs.perm;
  RETURN_IF_ERROR(Check(perm.size() == xs.size(), "Transpose",
                        "perm has " + std::to_string(perm.size()) + " axes, input is " +
                            ShapeToString(xs)));
  Shape ys(xs.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    RETURN_IF_ERROR(Check(perm[i] >= 0 && perm[i] < static_cast<int64_t>(xs.size()),
                          "Transpose", "perm out of range"));
    ys[i] = xs[static_cast<size_t>(perm[i])];
  }
  const std::vector<int64_t> xst = RowMajorStrides(xs);
  return Remap(src, ys, [&](size_t d, int64_t at) { return at * xst[static_cast<size_t>(perm[d])]; });
}

Result<Tensor> Slice(const Tensor& src, const ir::SliceAttrs& attrs) {
  const Shape& xs = src.shape();
  RETURN_IF_ERROR(Check(attrs.starts.size() == xs.size() && attrs.sizes.size() == xs.size(),
                        "Slice", "starts and sizes need one entry per axis of " +
                                     ShapeToString(xs)));
  Shape ys(xs.size());
  for (size_t d = 0; d < xs.size(); ++d) {
    ys[d] = attrs.sizes[d] < 0 ? xs[d] - attrs.starts[d] : attrs.sizes[d];
    RETURN_IF_ERROR(Check(attrs.starts[d] >= 0 && ys[d] > 0 && attrs.starts[d] + ys[d] <= xs[d],
                          "Slice", "the box leaves " + ShapeToString(xs)));
  }
  const std::vector<int64_t> xst = RowMajorStrides(xs);
  return Remap(src, ys, [&](size_t d, int64_t at) { return (at + attrs.starts[d]) * xst[d]; });
}

Result<Tensor> LayerNorm(const Tensor& src, const Tensor& gamma, const Tensor& beta,
                         const ir::LayerNormAttrs& attrs) {
  const Shape& xs = src.shape();
  RETURN_IF_ERROR(Check(attrs.axis >= 1 && attrs.axis < static_cast<int64_t>(xs.size()), "LayerNorm",
                        "axis " + std::to_string(attrs.axis) + " is not a non-batch axis of " +
                            ShapeToString(xs)));
  const int64_t c = xs[static_cast<size_t>(attrs.axis)];
  RETURN_IF_ERROR(Check(gamma.size() == c && beta.size() == c, "LayerNorm",
                        "gamma and beta must have " + std::to_string(c) + " elements"));
  // [outer, c, inner] around the axis.
  int64_t outer = 1, inner = 1;
  for (size_t d = 0; d < xs.size(); ++d) {
    if (static_cast<int64_t>(d) < attrs.axis) outer *= xs[d];
    if (static_cast<int64_t>(d) > attrs.axis) inner *= xs[d];
  }
  Tensor dst(xs);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = o * c * inner + i;
      double sum = 0.0;
      for (int64_t k = 0; k < c; ++k) sum += src[base + k * inner];
      const double mean = sum / static_cast<double>(c);
      double squares = 0.0;
      for (int64_t k = 0; k < c; ++k) {
        const double d = src[base + k * inner] - mean;
        squares += d * d;
      }
      const double inv = 1.0 / std::sqrt(squares / static_cast<double>(c) + double{attrs.epsilon});
      for (int64_t k = 0; k < c; ++k) {
        dst[base + k * inner] =
            static_cast<float>((src[base + k * inner] - mean) * inv * gamma[k] + beta[k]);
      }
    }
  }
  return dst;
}

}  // namespace kamado::reference
