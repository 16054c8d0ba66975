#include "passes/fold_flatten_into_dense.h"

#include <algorithm>
#include <optional>

#include "passes/pass_util.h"

namespace kamado::passes {
namespace {

using ir::Graph;
using ir::NodeId;
using ir::OpType;
using ir::ValueId;

struct Match {
  NodeId flatten;
  NodeId dense;
  ValueId x;  // the 4-D input of the Flatten
  const Tensor* weight;
  int64_t c, h, w;
  bool channels_last;
};

std::optional<Match> MatchAt(const Graph& g, NodeId id) {
  const ir::Node& dense = g.node(id);
  if (dense.dead || dense.op != OpType::kDense || dense.inputs.size() < 2) return std::nullopt;
  const ValueId f = dense.inputs[0];
  const NodeId p = LiveProducer(g, f);
  if (p == ir::kNoNode) return std::nullopt;
  const ir::Node& flatten = g.node(p);
  if (flatten.op != OpType::kFlatten || flatten.inputs.size() != 1) return std::nullopt;
  const ValueId x = flatten.inputs[0];
  if (x == ir::kNoValue) return std::nullopt;
  const Shape& xs = g.value(x).shape;
  if (xs.size() != 4 || xs[1] <= 0 || xs[2] <= 0 || xs[3] <= 0) return std::nullopt;
  if (!IsSoleConsumer(g, f, id)) return std::nullopt;
  if (std::count(dense.inputs.begin(), dense.inputs.end(), f) != 1) return std::nullopt;
  const Tensor* weight = ConstantOf(g, dense.inputs[1]);
  if (weight == nullptr || weight->shape().size() != 2) return std::nullopt;
  if (weight->shape()[1] != xs[1] * xs[2] * xs[3]) return std::nullopt;
  return Match{p,     id,    x,     weight,
               xs[1], xs[2], xs[3], flatten.attr<ir::FlattenAttrs>().channels_last};
}

void Rewrite(Graph& g, const Match& m) {
  const int64_t outs = m.weight->shape()[0];
  const int64_t k = m.c * m.h * m.w;
  Tensor w4(Shape{outs, m.c, m.h, m.w});
  for (int64_t o = 0; o < outs; ++o) {
    const float* src = m.weight->data() + o * k;
    float* dst = w4.data() + o * k;
    for (int64_t c = 0; c < m.c; ++c) {
      for (int64_t y = 0; y < m.h; ++y) {
        for (int64_t x = 0; x < m.w; ++x) {
          // Flatten order of element (c, y, x): (h, w, c) for channels_last, else (c, h, w).
          const int64_t from = m.channels_last ? (y * m.w + x) * m.c + c : (c * m.h + y) * m.w + x;
          dst[(c * m.h + y) * m.w + x] = src[from];
        }
      }
    }
  }
  // A new constant: the old weight may be shared. (AddConstant may move the
  // values, so m.weight is not used after it.)
  const ValueId w_id = g.AddConstant(g.node(m.dense).name + "/weight_4d", std::move(w4));
  ir::Node& dense = g.node(m.dense);
  dense.inputs[0] = m.x;
  dense.inputs[1] = w_id;
  g.RemoveNode(m.flatten);
}

}  // namespace

Result<bool> FoldFlattenIntoDense::Run(Graph& graph) const {
  return SweepMatches(
      graph, name(), MatchAt,
      [](const Graph& g, const Match& m) {
        return "folded " + ir::Describe(g.node(m.flatten)) + " into " +
               ir::Describe(g.node(m.dense));
      },
      Rewrite);
}

}  // namespace kamado::passes
