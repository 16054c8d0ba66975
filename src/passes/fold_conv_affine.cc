#include "passes/fold_conv_affine.h"

#include <optional>
#include <vector>

#include "passes/pass_util.h"

namespace kamado::passes {
namespace {

using ir::BinaryKind;
using ir::Graph;
using ir::NodeId;
using ir::OpType;
using ir::ValueId;

struct Match {
  NodeId conv, binary;
  BinaryKind kind;
  std::vector<float> c;  // one per output channel
};

std::optional<Match> MatchAt(const Graph& g, NodeId id) {
  const ir::Node& bin = g.node(id);
  if (bin.dead || bin.op != OpType::kBinary || bin.inputs.size() != 2) return std::nullopt;
  const ValueId y = bin.inputs[0];
  const NodeId p = SoleProducer(g, y, OpType::kConv, id);
  if (p == ir::kNoNode) return std::nullopt;
  const ir::Node& conv = g.node(p);
  if (!conv.attr<ir::ConvAttrs>().post_ops.empty() || conv.inputs.size() > 3) return std::nullopt;
  const Tensor* w = ConstantOf(g, conv.inputs[1]);
  const ValueId b = OptionalInput(conv, 2);
  if (w == nullptr || (b != ir::kNoValue && ConstantOf(g, b) == nullptr)) return std::nullopt;
  const Tensor* c = ConstantOf(g, bin.inputs[1]);
  if (c == nullptr) return std::nullopt;
  const int64_t o = w->shape()[0];
  Match m{p, id, bin.attr<ir::BinaryAttrs>().kind, {}};
  if (c->size() == 1) {
    m.c.assign(static_cast<size_t>(o), c->span()[0]);
  } else if (c->shape() == Shape{1, o, 1, 1}) {
    m.c.assign(c->span().begin(), c->span().end());
  } else {
    return std::nullopt;
  }
  if (m.kind == BinaryKind::kDiv) {
    for (float v : m.c) {
      if (v == 0.0f) return std::nullopt;
    }
  }
  return m;
}

void Rewrite(Graph& g, const Match& m) {
  ir::Node& conv = g.node(m.conv);  // AddConstant below grows the values, not the nodes
  const Tensor w = *ConstantOf(g, conv.inputs[1]);  // a copy shares the storage
  const int64_t o = w.shape()[0];
  const int64_t per = w.size() / o;
  const ValueId b = OptionalInput(conv, 2);
  std::vector<float> bias(static_cast<size_t>(o), 0.0f);
  if (b != ir::kNoValue) {
    const auto src = ConstantOf(g, b)->span();
    bias.assign(src.begin(), src.end());
  }
  const std::string base = conv.name;
  ValueId new_w = conv.inputs[1];
  for (int64_t k = 0; k < o; ++k) {
    const float c = m.c[static_cast<size_t>(k)];
    float& bk = bias[static_cast<size_t>(k)];
    switch (m.kind) {
      case BinaryKind::kAdd: bk += c; break;
      case BinaryKind::kSub: bk -= c; break;
      case BinaryKind::kMul: bk *= c; break;
      case BinaryKind::kDiv: bk /= c; break;
    }
  }
  if (m.kind == BinaryKind::kMul || m.kind == BinaryKind::kDiv) {
    Tensor scaled(w.shape());
    for (int64_t k = 0; k < o; ++k) {
      const float c = m.c[static_cast<size_t>(k)];
      for (int64_t i = 0; i < per; ++i) {
        scaled[k * per + i] = m.kind == BinaryKind::kMul ? w[k * per + i] * c : w[k * per + i] / c;
      }
    }
    new_w = g.AddConstant(base + "/scaled_weight", std::move(scaled));
  }
  const ValueId new_b = g.AddConstant(base + "/folded_bias", Tensor(Shape{o}, std::move(bias)));
  conv.inputs.resize(3);
  conv.inputs[1] = new_w;
  conv.inputs[2] = new_b;
  TakeOverOutput(g, m.conv, m.binary);
}

std::string Describe(const Graph& g, const Match& m) {
  return ir::Describe(g.node(m.binary)) + " into " + ir::Describe(g.node(m.conv));
}

}  // namespace

Result<bool> FoldConvAffine::Run(Graph& graph) const {
  // A Conv may absorb several in a row (bias, then layer scale): sweep until none is left.
  bool changed = false;
  while (SweepMatches(graph, name(), MatchAt, Describe, Rewrite)) changed = true;
  return changed;
}

}  // namespace kamado::passes
