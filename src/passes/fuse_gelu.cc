#include "passes/fuse_gelu.h"

#include <cmath>
#include <initializer_list>
#include <optional>
#include <utility>

#include "passes/pass_util.h"

namespace kamado::passes {
namespace {

using ir::BinaryKind;
using ir::Graph;
using ir::NodeId;
using ir::OpType;
using ir::ValueId;

// The end both GELU forms share: (1 + f) · x · ½ from f = erf(·) or tanh(·).
struct Tail {
  NodeId plus_one, times_x, half;
};

struct Match {
  ValueId x;
  NodeId scale, erf;
  Tail tail;
};

// A constant that is one scalar (any rank, one element) near `want`.
bool IsScalar(const Graph& g, ValueId v, double want) {
  const Tensor* t = ConstantOf(g, v);
  return t != nullptr && t->size() == 1 && std::abs(double{t->span()[0]} - want) <= 1e-6 * std::abs(want);
}

// The Binary `kind` node that is `v`'s sole live consumer and is not a graph
// output; its other operand in `other` (either order).
std::optional<NodeId> SoleBinaryConsumer(const Graph& g, ValueId v, BinaryKind kind, ValueId* other) {
  const NodeId c = SoleReader(g, v);
  if (c == ir::kNoNode) return std::nullopt;
  const ir::Node& n = g.node(c);
  if (!IsBinary(n, kind)) return std::nullopt;
  if (n.inputs[0] == v) {
    *other = n.inputs[1];
  } else if (n.inputs[1] == v) {
    *other = n.inputs[0];
  } else {
    return std::nullopt;
  }
  return c;
}

bool MatchTail(const Graph& g, ValueId f, ValueId x, Tail* t) {
  ValueId other = ir::kNoValue;
  const auto plus_one = SoleBinaryConsumer(g, f, BinaryKind::kAdd, &other);
  if (!plus_one || !IsScalar(g, other, 1.0)) return false;
  const auto times_x = SoleBinaryConsumer(g, g.node(*plus_one).outputs[0], BinaryKind::kMul, &other);
  if (!times_x || other != x) return false;
  const auto half = SoleBinaryConsumer(g, g.node(*times_x).outputs[0], BinaryKind::kMul, &other);
  if (!half || !IsScalar(g, other, 0.5)) return false;
  *t = {*plus_one, *times_x, *half};
  return true;
}

// The first node of the pattern becomes the GELU of x and takes over the
// last Mul's output; `dead` and the tail's first two nodes die.
void BecomeGelu(Graph& g, NodeId first, ValueId x, ir::ActivationKind kind, const Tail& t,
                std::initializer_list<NodeId> dead) {
  ir::Node& gelu = g.node(first);
  gelu.op = OpType::kActivation;
  gelu.inputs = {x};
  gelu.attrs = ir::ActivationAttrs{{kind}};
  TakeOverOutput(g, first, t.half);
  for (NodeId d : dead) g.RemoveNode(d);
  g.RemoveNode(t.plus_one);
  g.RemoveNode(t.times_x);
}

std::optional<Match> MatchAt(const Graph& g, NodeId id) {
  const ir::Node& erf = g.node(id);
  if (erf.dead || erf.op != OpType::kActivation || erf.inputs.size() != 1 ||
      erf.attr<ir::ActivationAttrs>().activation.kind != ir::ActivationKind::kErf) {
    return std::nullopt;
  }
  Match m{};
  m.erf = id;
  // x / √2 or x · (1/√2), x the first operand (a Binary's b is the broadcast one).
  m.scale = SoleProducer(g, erf.inputs[0], OpType::kBinary, id);
  if (m.scale == ir::kNoNode) return std::nullopt;
  const ir::Node& scale = g.node(m.scale);
  if (scale.inputs.size() != 2) return std::nullopt;
  const BinaryKind sk = scale.attr<ir::BinaryAttrs>().kind;
  if (!((sk == BinaryKind::kDiv && IsScalar(g, scale.inputs[1], std::sqrt(2.0))) ||
        (sk == BinaryKind::kMul && IsScalar(g, scale.inputs[1], 1.0 / std::sqrt(2.0))))) {
    return std::nullopt;
  }
  m.x = scale.inputs[0];
  if (ConstantOf(g, m.x) != nullptr) return std::nullopt;
  if (!MatchTail(g, erf.outputs[0], m.x, &m.tail)) return std::nullopt;
  return m;
}

// The scale node becomes the GELU of x; the Erf dies with the tail.
void Rewrite(Graph& g, const Match& m) {
  BecomeGelu(g, m.scale, m.x, ir::ActivationKind::kGeluErf, m.tail, {m.erf});
}

std::string Describe(const Graph& g, const Match& m) {
  return "GELU of " + g.value(m.x).name + " from " + ir::Describe(g.node(m.erf));
}

// ---- the tanh form ---------------------------------------------------------
// x · ½ · (1 + tanh(√(2/π) · (x + 0.044715 · x·x·x))), as torch.onnx writes
// nn.GELU(approximate='tanh') (x·x, then ·x, the constants on either side).

struct TanhMatch {
  ValueId x;
  NodeId square, cube, cubic, sum, scaled, tanh;
  Tail tail;
};

// The Binary `kind` producing `v`, read only by `reader`; its operands in
// `a`, `b` (a the non-constant one when one operand is constant).
NodeId SoleBinaryProducer(const Graph& g, ValueId v, BinaryKind kind, NodeId reader, ValueId* a, ValueId* b) {
  const NodeId p = SoleProducer(g, v, OpType::kBinary, reader);
  if (p == ir::kNoNode || !IsBinary(g.node(p), kind)) return ir::kNoNode;
  const ir::Node& n = g.node(p);
  *a = n.inputs[0];
  *b = n.inputs[1];
  if (ConstantOf(g, *a) != nullptr) std::swap(*a, *b);
  return p;
}

std::optional<TanhMatch> MatchTanhAt(const Graph& g, NodeId id) {
  const ir::Node& th = g.node(id);
  if (th.dead || th.op != OpType::kActivation || th.inputs.size() != 1 ||
      th.attr<ir::ActivationAttrs>().activation.kind != ir::ActivationKind::kTanh) {
    return std::nullopt;
  }
  TanhMatch m{};
  m.x = ir::kNoValue;
  m.tanh = id;
  ValueId a = ir::kNoValue, b = ir::kNoValue;
  m.scaled = SoleBinaryProducer(g, th.inputs[0], BinaryKind::kMul, id, &a, &b);
  if (m.scaled == ir::kNoNode || !IsScalar(g, b, 0.79788456080286536)) return std::nullopt;
  ValueId s1 = ir::kNoValue, s2 = ir::kNoValue;
  m.sum = SoleBinaryProducer(g, a, BinaryKind::kAdd, m.scaled, &s1, &s2);
  if (m.sum == ir::kNoNode) return std::nullopt;
  // x + cubic, either order: the cubic is the operand a Mul by 0.044715 makes.
  for (int swap = 0; swap < 2; ++swap) {
    const ValueId x = swap ? s2 : s1, cubic = swap ? s1 : s2;
    ValueId c1 = ir::kNoValue, c2 = ir::kNoValue;
    m.cubic = SoleBinaryProducer(g, cubic, BinaryKind::kMul, m.sum, &c1, &c2);
    if (m.cubic == ir::kNoNode || !IsScalar(g, c2, 0.044715)) continue;
    ValueId q1 = ir::kNoValue, q2 = ir::kNoValue;
    m.cube = SoleBinaryProducer(g, c1, BinaryKind::kMul, m.cubic, &q1, &q2);
    if (m.cube == ir::kNoNode) continue;
    const ValueId sq = q1 == x ? q2 : (q2 == x ? q1 : ir::kNoValue);
    if (sq == ir::kNoValue) continue;
    ValueId r1 = ir::kNoValue, r2 = ir::kNoValue;
    m.square = SoleBinaryProducer(g, sq, BinaryKind::kMul, m.cube, &r1, &r2);
    if (m.square == ir::kNoNode || r1 != x || r2 != x) continue;
    m.x = x;
    break;
  }
  if (m.x == ir::kNoValue || ConstantOf(g, m.x) != nullptr) return std::nullopt;
  if (!MatchTail(g, th.outputs[0], m.x, &m.tail)) return std::nullopt;
  return m;
}

void RewriteTanh(Graph& g, const TanhMatch& m) {
  BecomeGelu(g, m.square, m.x, ir::ActivationKind::kGeluTanh, m.tail, {m.cube, m.cubic, m.sum, m.scaled, m.tanh});
}

std::string DescribeTanh(const Graph& g, const TanhMatch& m) {
  return "GELU (tanh form) of " + g.value(m.x).name + " from " + ir::Describe(g.node(m.tanh));
}

}  // namespace

Result<bool> FuseGelu::Run(Graph& graph) const {
  const bool erf = SweepMatches(graph, name(), MatchAt, Describe, Rewrite);
  const bool tanh = SweepMatches(graph, name(), MatchTanhAt, DescribeTanh, RewriteTanh);
  return erf || tanh;
}

}  // namespace kamado::passes
