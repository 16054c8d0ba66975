#include "runtime/quantization.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <numeric>

namespace kamado::runtime {
namespace {

class UnionFind {
 public:
  explicit UnionFind(size_t n) : parent_(n) { std::iota(parent_.begin(), parent_.end(), 0); }
  size_t Find(size_t x) {
    while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
    return x;
  }
  void Join(size_t a, size_t b) { parent_[Find(a)] = Find(b); }

 private:
  std::vector<size_t> parent_;
};

bool MovesIntegers(const ir::Node& n) {
  switch (n.op) {
    case ir::OpType::kMaxPool:
    case ir::OpType::kAvgPool:
    case ir::OpType::kGlobalMaxPool:
    case ir::OpType::kIdentity:
    case ir::OpType::kConcat: return true;
    default: return false;
  }
}

}  // namespace

std::vector<std::optional<ActivationScale>> ActivationScales(const ir::Graph& graph,
                                                             const QuantTable& table) {
  const size_t count = static_cast<size_t>(graph.num_values());
  UnionFind groups(count);
  for (ir::NodeId id = 0; id < graph.num_nodes(); ++id) {
    const ir::Node& n = graph.node(id);
    if (n.dead || !MovesIntegers(n) || n.outputs.empty()) continue;
    for (ir::ValueId in : n.inputs) {
      if (in != ir::kNoValue) groups.Join(static_cast<size_t>(in), static_cast<size_t>(n.outputs[0]));
    }
  }
  struct Group {
    float max = 0.0f;
    bool is_unsigned = true;
    bool seen = false;
  };
  std::vector<Group> merged(count);
  for (ir::ValueId v = 0; v < graph.num_values(); ++v) {
    auto it = table.activations.find(graph.value(v).name);
    if (it == table.activations.end()) continue;
    Group& g = merged[groups.Find(static_cast<size_t>(v))];
    g.max = std::max(g.max, it->second.max);
    g.is_unsigned &= it->second.is_unsigned;
    g.seen = true;
  }
  std::vector<std::optional<ActivationScale>> out(count);
  for (ir::ValueId v = 0; v < graph.num_values(); ++v) {
    const Group& g = merged[groups.Find(static_cast<size_t>(v))];
    if (!g.seen || graph.value(v).is_constant()) continue;
    const float levels = g.is_unsigned ? 255.0f : 127.0f;
    out[static_cast<size_t>(v)] = ActivationScale{g.max > 0.0f ? g.max / levels : 1.0f, g.is_unsigned};
  }
  return out;
}

int WeightBits() {
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  auto includes = [isa](dnnl::cpu_isa want) {
    const auto w = static_cast<unsigned>(want);
    return (isa & w) == w;
  };
  return includes(dnnl::cpu_isa::avx512_core_vnni) || includes(dnnl::cpu_isa::avx2_vnni) ? 8 : 7;
}

}  // namespace kamado::runtime
