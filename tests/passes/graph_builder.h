// Small hand-built graphs for the pass tests, with random constants from a
// fixed seed, and the "same numbers with the pass on and off" check.
#pragma once

#include <array>
#include <random>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"
#include "passes/pass.h"

namespace kamado::passes::testing {

class GraphBuilder {
 public:
  explicit GraphBuilder(uint32_t seed = 42) : rng_(seed) { graph_.name = "test"; }

  ir::Graph& graph() { return graph_; }

  Tensor Random(Shape shape, float lo = -1.0f, float hi = 1.0f);
  ir::ValueId Input(Shape shape);
  ir::ValueId Const(Shape shape, float lo = -1.0f, float hi = 1.0f);
  void Output(ir::ValueId v) { graph_.AddOutput(v); }

  // Adds a node with one fresh output value and infers its shape.
  ir::ValueId Op(ir::OpType op, std::vector<ir::ValueId> inputs, ir::Attrs attrs = {});

  // Conv with a random [out, C/group, k, k] weight and (optionally) bias.
  ir::ValueId Conv(ir::ValueId x, int64_t out, int64_t k, bool bias = true,
                   std::array<int64_t, 4> pads = {0, 0, 0, 0}, int64_t group = 1,
                   std::array<int64_t, 2> strides = {1, 1});
  // BatchNorm with random parameters (variance in [0.5, 2]).
  ir::ValueId BatchNorm(ir::ValueId x, float epsilon = 1e-3f);
  ir::ValueId Act(ir::ValueId x, ir::Activation a = {});
  ir::ValueId Pad(ir::ValueId x, std::array<int64_t, 4> pads, float value = 0.0f);
  ir::ValueId Add(ir::ValueId a, ir::ValueId b);
  ir::ValueId Identity(ir::ValueId x);
  ir::ValueId Flatten(ir::ValueId x, bool channels_last);
  // Dense with a random [out, K] weight (K from the 2-D input).
  ir::ValueId Dense(ir::ValueId x, int64_t out, bool bias = true);

  // One random tensor per graph input, in the user's layout.
  std::vector<Tensor> RandomInputs();

  ir::Node& Producer(ir::ValueId v) { return graph_.node(graph_.value(v).producer); }

 private:
  std::string NextName(std::string_view prefix);

  ir::Graph graph_;
  std::mt19937 rng_;
  int counter_ = 0;
};

// Copies `before`, runs `pass` on the copy and returns the copy; the test
// fails if the pass errors or the rewritten graph does not Verify(). The copy
// shares constant storage with `before`, so a pass that wrote into a constant
// in place would also change `before` and show up in ExpectSameOutputs.
ir::Graph RunPass(const Pass& pass, const ir::Graph& before, bool* changed = nullptr);

// Runs both graphs with the reference executor on `inputs` and expects equal
// outputs: |a − b| ≤ rtol · max(1, max|a|) element-wise.
void ExpectSameOutputs(const ir::Graph& before, const ir::Graph& after,
                       const std::vector<Tensor>& inputs, float rtol = 1e-5f);

// The negative case every pass test has: `pass` must leave the graph as it is
// (reports no change, `op` still appears `count` times) and outputs match.
void ExpectUnchanged(const Pass& pass, GraphBuilder& builder, ir::OpType op, int count);

// The positive case of the activation patterns (GELU, swish): `pass` turns
// the nodes computing `y` from `conv` (a Conv's output) into one Activation
// of `kind` reading `conv`, with no Binary left and the same outputs, and
// FuseActivation then puts it on the Conv, still computing the same.
void ExpectOneActivationThatFusesIntoTheConv(const Pass& pass, GraphBuilder& builder, ir::ValueId y,
                                             ir::ValueId conv, ir::ActivationKind kind);

}  // namespace kamado::passes::testing
