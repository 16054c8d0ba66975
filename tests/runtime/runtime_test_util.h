// Helpers shared by the runtime op tests: random tensors and the check that
// CompiledModel + Session give what the reference executor gives.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "runtime/compiled_model.h"
#include "runtime/reference/reference_executor.h"
#include "runtime/session.h"

namespace kamado::runtime::testing {

inline Tensor Random(Shape shape, std::mt19937& rng, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  Tensor t(std::move(shape));
  for (float& v : t.span()) v = dist(rng);
  return t;
}

// A 3×3 'same' convolution (stride 1, pad 1) with a fused ReLU.
inline ir::ConvAttrs Same3x3Relu() {
  ir::ConvAttrs a;
  a.kernel = {3, 3};
  a.pads = {1, 1, 1, 1};
  a.post_ops.push_back(ir::PostOp::Act({ir::ActivationKind::kRelu}));
  return a;
}

inline int Uniform(std::mt19937& rng, int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}

// Runs `graph` both ways on `inputs` (compiled with `options`, run with
// their thread count) and compares the outputs.
inline void ExpectMatchesReference(const ir::Graph& graph, const std::vector<Tensor>& inputs,
                                   const std::string& what, const CompileOptions& options,
                                   float tol = 2e-4f) {
  SCOPED_TRACE(what);
  auto want = reference::RunReference(graph, inputs);
  ASSERT_TRUE(want.ok()) << want.status().ToString();
  auto model = CompiledModel::Compile(graph, options);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  Session session(*model, {.threads = options.threads});
  auto got = session.Run(inputs);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), want->size());
  for (size_t o = 0; o < got->size(); ++o) {
    const Tensor& g = (*got)[o];
    const Tensor& w = (*want)[o];
    ASSERT_EQ(g.shape(), w.shape()) << "output " << o;
    for (int64_t i = 0; i < g.size(); ++i) {
      ASSERT_NEAR(g[i], w[i], tol * (1.0f + std::abs(w[i]))) << "output " << o << " index " << i;
    }
  }
  // A second run reuses the bound plan and arena: same answer.
  auto again = session.Run(inputs);
  ASSERT_TRUE(again.ok());
  for (size_t o = 0; o < got->size(); ++o) {
    for (int64_t i = 0; i < (*got)[o].size(); ++i) ASSERT_EQ((*again)[o][i], (*got)[o][i]);
  }
}

inline void ExpectMatchesReference(const ir::Graph& graph, const std::vector<Tensor>& inputs,
                                   const std::string& what, bool run_passes = true,
                                   float tol = 2e-4f) {
  CompileOptions options;
  options.run_passes = run_passes;
  ExpectMatchesReference(graph, inputs, what, options, tol);
}

}  // namespace kamado::runtime::testing
