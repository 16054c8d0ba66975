#include "passes/sink_avg_pool.h"

#include <array>
#include <optional>
#include <utility>

#include "passes/pass_util.h"

namespace kamado::passes {
namespace {

using ir::Graph;
using ir::NodeId;
using ir::OpType;
using ir::ValueId;

struct Match {
  NodeId pool;
  NodeId conv;
};

bool IsPointwise(const ir::ConvAttrs& a) {
  const auto ones = std::array<int64_t, 2>{1, 1};
  return a.kernel == ones && a.strides == ones && a.dilations == ones &&
         a.pads == std::array<int64_t, 4>{0, 0, 0, 0} && a.group == 1 && !a.HasSum();
}

std::optional<Match> MatchAt(const Graph& g, NodeId id) {
  const ir::Node& pool = g.node(id);
  if (pool.dead || pool.op != OpType::kAvgPool || pool.inputs.size() != 1 ||
      pool.outputs.size() != 1) {
    return std::nullopt;
  }
  const auto& pa = pool.attr<ir::PoolAttrs>();
  const bool unpadded = pa.pads == std::array<int64_t, 4>{0, 0, 0, 0};
  // With padded cells in the divisor, border windows weigh less than 1 and
  // the Conv's bias would not pass through unchanged.
  if ((pa.count_include_pad && !unpadded) || !pa.post_ops.empty()) return std::nullopt;
  const ValueId pooled = pool.outputs[0];
  const std::vector<NodeId> readers = g.Consumers(pooled);
  if (readers.size() != 1 || g.IsGraphOutput(pooled)) return std::nullopt;
  const ir::Node& conv = g.node(readers[0]);
  if (conv.op != OpType::kConv || conv.inputs.empty() || conv.inputs[0] != pooled ||
      conv.outputs.size() != 1 || !IsPointwise(conv.attr<ir::ConvAttrs>()) ||
      ConstantOf(g, conv.inputs[1]) == nullptr) {
    return std::nullopt;
  }
  const Shape& in = g.value(pool.inputs[0]).shape;
  const Shape& out = g.value(conv.outputs[0]).shape;
  if (in.size() != 4 || out.size() != 4 || out[1] <= 0 || out[1] >= in[1]) return std::nullopt;
  return Match{id, readers[0]};
}

void Rewrite(Graph& g, const Match& m) {
  ir::Node& pool = g.node(m.pool);
  ir::Node& conv = g.node(m.conv);
  const ValueId x = pool.inputs[0];
  const ValueId pooled = pool.outputs[0];
  const ValueId result = conv.outputs[0];
  // The Conv's output before pooling: its channels at the input's size.
  const Shape& in = g.value(x).shape;
  const Shape before_pool{in[0], g.value(result).shape[1], in[2], in[3]};
  const ValueId mid = g.AddValue(g.value(result).name + "/before_pool", before_pool);
  conv.inputs[0] = x;
  conv.outputs[0] = mid;
  g.value(mid).producer = m.conv;
  pool.inputs[0] = mid;
  pool.outputs[0] = result;
  g.value(result).producer = m.pool;
  g.value(pooled).producer = ir::kNoNode;
  pool.attr<ir::PoolAttrs>().post_ops = std::exchange(conv.attr<ir::ConvAttrs>().post_ops, {});
}

}  // namespace

Result<bool> SinkAvgPool::Run(Graph& graph) const {
  return SweepMatches(
      graph, name(), MatchAt,
      [](const Graph& g, const Match& m) {
        return ir::Describe(g.node(m.pool)) + " now runs after " + ir::Describe(g.node(m.conv));
      },
      Rewrite);
}

}  // namespace kamado::passes
