#include "passes/fuse_layer_norm.h"

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

// mean(x) over one axis, as the ONNX importer writes ReduceMean(keepdims=1).
struct Mean {
  ValueId x = ir::kNoValue;
  int64_t axis = -1;
  std::vector<NodeId> nodes;  // the pattern's nodes, to remove
};

// `v` = Reshape(AvgPool_{1×C}(Reshape_{[N,1,K,C]}(x'))), x' = x or x with
// axis a moved last by a Transpose; `reader` is v's only reader.
std::optional<Mean> MatchMean(const Graph& g, ValueId v, NodeId reader) {
  Mean m;
  const NodeId back = SoleProducer(g, v, OpType::kReshape, reader);
  if (back == ir::kNoNode) return std::nullopt;
  const NodeId pool = SoleProducer(g, g.node(back).inputs[0], OpType::kAvgPool, back);
  if (pool == ir::kNoNode) return std::nullopt;
  const auto& pa = g.node(pool).attr<ir::PoolAttrs>();
  if (pa.kernel[0] != 1 || pa.pads != std::array<int64_t, 4>{0, 0, 0, 0} || !pa.post_ops.empty()) {
    return std::nullopt;
  }
  const NodeId rows = SoleProducer(g, g.node(pool).inputs[0], OpType::kReshape, pool);
  if (rows == ir::kNoNode) return std::nullopt;
  const int64_t count = pa.kernel[1];
  const auto& rs = g.node(rows).attr<ir::ReshapeAttrs>().shape;
  if (rs.size() != 4 || rs[1] != 1 || rs[3] != count) return std::nullopt;
  m.nodes = {back, pool, rows};
  ValueId src = g.node(rows).inputs[0];
  const Shape& ss = g.value(src).shape;
  m.x = src;
  m.axis = static_cast<int64_t>(ss.size()) - 1;
  const NodeId t = SoleProducer(g, src, OpType::kTranspose, rows);
  if (t != ir::kNoNode) {
    // perm = [0 .. a−1, a+1 .. r−1, a]: axis a moved last.
    const auto& perm = g.node(t).attr<ir::TransposeAttrs>().perm;
    const int64_t a = perm.back();
    bool moves_one = a >= 1;
    for (size_t i = 0, want = 0; moves_one && i + 1 < perm.size(); ++i, ++want) {
      if (static_cast<int64_t>(want) == a) ++want;
      moves_one = perm[i] == static_cast<int64_t>(want);
    }
    if (!moves_one) return std::nullopt;
    m.x = g.node(t).inputs[0];
    m.axis = a;
    m.nodes.push_back(t);
  }
  const Shape& xs = g.value(m.x).shape;
  if (m.axis < 1 || xs[static_cast<size_t>(m.axis)] != count) return std::nullopt;
  Shape keep = xs;
  keep[static_cast<size_t>(m.axis)] = 1;
  Shape vs = g.value(v).shape;
  if (vs.size() != keep.size()) return std::nullopt;
  for (size_t d = 1; d < vs.size(); ++d) {
    if (vs[d] != keep[d]) return std::nullopt;
  }
  return m;
}

struct Match {
  ValueId x = ir::kNoValue;
  int64_t axis = -1;
  float epsilon = 0.0f;
  NodeId div = ir::kNoNode;
  std::vector<NodeId> dead;  // every other node of the pattern
};

std::optional<Match> MatchAt(const Graph& g, NodeId id) {
  const ir::Node& div = g.node(id);
  if (!IsBinary(div, BinaryKind::kDiv)) return std::nullopt;
  Match m;
  m.div = id;
  const ValueId d = div.inputs[0];
  // s = √(v + ε)
  const NodeId sqrt = SoleProducer(g, div.inputs[1], OpType::kActivation, id);
  if (sqrt == ir::kNoNode ||
      g.node(sqrt).attr<ir::ActivationAttrs>().activation.kind != ir::ActivationKind::kSqrt) {
    return std::nullopt;
  }
  const NodeId add = SoleProducer(g, g.node(sqrt).inputs[0], OpType::kBinary, sqrt);
  if (add == ir::kNoNode || !IsBinary(g.node(add), BinaryKind::kAdd)) return std::nullopt;
  const Tensor* eps = ConstantOf(g, g.node(add).inputs[1]);
  if (eps == nullptr || eps->size() != 1 || !(eps->span()[0] >= 0.0f)) return std::nullopt;
  m.epsilon = eps->span()[0];
  const auto var = MatchMean(g, g.node(add).inputs[0], add);
  if (!var) return std::nullopt;
  // the variance's input: d · d, read only by that mean
  const NodeId first_var_node = var->nodes.back();
  const NodeId square = SoleProducer(g, var->x, OpType::kBinary, first_var_node);
  if (square == ir::kNoNode || !IsBinary(g.node(square), BinaryKind::kMul) ||
      g.node(square).inputs[0] != d || g.node(square).inputs[1] != d) {
    return std::nullopt;
  }
  // d = x − mean(x), read by the square and the Div only
  const NodeId sub = LiveProducer(g, d);
  if (sub == ir::kNoNode || !IsBinary(g.node(sub), BinaryKind::kSub) || g.IsGraphOutput(d)) {
    return std::nullopt;
  }
  for (NodeId c : g.Consumers(d)) {
    if (c != square && c != id) return std::nullopt;
  }
  const auto mean = MatchMean(g, g.node(sub).inputs[1], sub);
  if (!mean || mean->x != g.node(sub).inputs[0] || mean->axis != var->axis) return std::nullopt;
  m.x = mean->x;
  m.axis = mean->axis;
  if (ConstantOf(g, m.x) != nullptr) return std::nullopt;
  m.dead = {sqrt, add, square, sub};
  m.dead.insert(m.dead.end(), var->nodes.begin(), var->nodes.end());
  m.dead.insert(m.dead.end(), mean->nodes.begin(), mean->nodes.end());
  return m;
}

// A constant that varies along `axis` of a rank-`rank` value only (or is one
// scalar), as a [C] vector; nullopt otherwise.
std::optional<std::vector<float>> AlongAxis(const Graph& g, ValueId v, size_t rank, int64_t axis,
                                            int64_t c) {
  const Tensor* t = ConstantOf(g, v);
  if (t == nullptr) return std::nullopt;
  if (t->size() == 1) return std::vector<float>(static_cast<size_t>(c), t->span()[0]);
  const Shape& s = t->shape();
  if (s.size() != rank) return std::nullopt;
  for (size_t d = 0; d < rank; ++d) {
    if (s[d] != (static_cast<int64_t>(d) == axis ? c : 1)) return std::nullopt;
  }
  return std::vector<float>(t->span().begin(), t->span().end());
}

// The Binary `kind` node that alone reads `v` as its first operand, with a
// second operand that is a constant along the axis.
std::optional<std::pair<NodeId, std::vector<float>>> AffineConsumer(const Graph& g, ValueId v,
                                                                    BinaryKind kind, int64_t axis) {
  const NodeId reader = SoleReader(g, v);
  if (reader == ir::kNoNode) return std::nullopt;
  const ir::Node& n = g.node(reader);
  if (!IsBinary(n, kind) || n.inputs[0] != v) return std::nullopt;
  const Shape& vs = g.value(v).shape;
  auto c = AlongAxis(g, n.inputs[1], vs.size(), axis, vs[static_cast<size_t>(axis)]);
  if (!c) return std::nullopt;
  return std::make_pair(reader, std::move(*c));
}

void Rewrite(Graph& g, const Match& m) {
  const int64_t c = g.value(m.x).shape[static_cast<size_t>(m.axis)];
  const std::string base = g.node(m.div).name;
  std::vector<float> gamma(static_cast<size_t>(c), 1.0f), beta(static_cast<size_t>(c), 0.0f);
  for (NodeId dead : m.dead) g.RemoveNode(dead);
  ir::Node& ln = g.node(m.div);
  ln.op = OpType::kLayerNorm;
  ln.attrs = ir::LayerNormAttrs{m.axis, m.epsilon};
  // · a then + b along the axis fold into gamma and beta.
  if (auto mul = AffineConsumer(g, ln.outputs[0], BinaryKind::kMul, m.axis)) {
    gamma = mul->second;
    TakeOverOutput(g, m.div, mul->first);
  }
  if (auto add = AffineConsumer(g, g.node(m.div).outputs[0], BinaryKind::kAdd, m.axis)) {
    beta = add->second;
    TakeOverOutput(g, m.div, add->first);
  }
  const ValueId gv = g.AddConstant(base + "/gamma", Tensor(Shape{c}, std::move(gamma)));
  const ValueId bv = g.AddConstant(base + "/beta", Tensor(Shape{c}, std::move(beta)));
  g.node(m.div).inputs = {m.x, gv, bv};
}

std::string Describe(const Graph& g, const Match& m) {
  return "LayerNorm of " + g.value(m.x).name + " over axis " + std::to_string(m.axis) + " at " +
         ir::Describe(g.node(m.div));
}

}  // namespace

Result<bool> FuseLayerNorm::Run(Graph& graph) const {
  return SweepMatches(graph, name(), MatchAt, Describe, Rewrite);
}

}  // namespace kamado::passes
