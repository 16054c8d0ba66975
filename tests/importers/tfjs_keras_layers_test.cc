// The Keras layers beyond the default models' (issue 17): SeparableConv2D,
// LayerNormalization, Multiply (an SE gate), Reshape, GlobalMaxPooling2D,
// dilated Conv2D, swish/gelu/gelu_new. Each case is a small TF.js Layers
// model with random weights that tests/importers/keras/make_keras_layers.js
// wrote with TF.js's own output (scripts/prepare-test-data.sh); kamado
// imports, compiles and runs it and must give TF.js's numbers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "core/file_util.h"
#include "importers/tfjs/tfjs_importer.h"
#include "runtime/compiled_model.h"
#include "runtime/session.h"
#include "testutil/test_data.h"

namespace kamado::importers {
namespace {

namespace fs = std::filesystem;

using ::kamado::testing::ReadFloats;

const fs::path kCases = "build/keras_layers";

class KerasLayers : public ::testing::TestWithParam<std::string> {};

TEST_P(KerasLayers, ImportAndGiveTfjsOutputs) {
  const fs::path dir = kCases / GetParam();
  KAMADO_REQUIRE_DATA(dir / "model.json");
  auto graph = ImportTfjsModel(dir / "model.json");
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  const Shape in_shape = graph->value(graph->inputs()[0]).shape;  // logical [N, C, H, W]
  ASSERT_EQ(in_shape.size(), 4u);
  auto model = runtime::CompiledModel::Compile(std::move(graph).value());
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const std::vector<float> input = ReadFloats(dir / "input.f32");
  const std::vector<float> want = ReadFloats(dir / "output.f32");
  Tensor x(Shape{1, in_shape[2], in_shape[3], in_shape[1]}, input);  // NHWC, as TF.js
  runtime::Session session(*model);
  auto got = session.Run({x});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), 1u);
  const Tensor& y = (*got)[0];
  ASSERT_EQ(y.size(), static_cast<int64_t>(want.size()));
  float scale = 0;
  for (float w : want) scale = std::max(scale, std::abs(w));
  for (int64_t i = 0; i < y.size(); ++i) {
    ASSERT_NEAR(y[i], want[static_cast<size_t>(i)], 1e-5f + 1e-4f * scale) << "element " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Tfjs, KerasLayers,
                         ::testing::Values("separable_swish", "layer_norm_gelu", "squeeze_excite",
                                           "dilated_reshape"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace kamado::importers
