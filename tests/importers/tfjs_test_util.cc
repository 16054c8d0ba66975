#include "importers/tfjs_test_util.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

namespace kamado::importers::testing {
namespace {

template <typename T>
void Append(std::string& out, const std::vector<T>& values) {
  const size_t at = out.size();
  out.resize(at + values.size() * sizeof(T));
  std::memcpy(out.data() + at, values.data(), values.size() * sizeof(T));
}

void WriteBytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::filesystem::path RootDir() {
  return std::filesystem::temp_directory_path() /
         ("kamado_importers_test_" + std::to_string(getpid()));
}

// Removes this process's temporary models once every test has run.
class RemoveTestDirs : public ::testing::Environment {
 public:
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(RootDir(), ec);
  }
};
[[maybe_unused]] auto* const kRemoveTestDirs =
    ::testing::AddGlobalTestEnvironment(new RemoveTestDirs);

}  // namespace

std::filesystem::path TestDir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = "no_test";
  if (info != nullptr) name = std::string(info->test_suite_name()) + "_" + info->name();
  auto dir = RootDir() / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::vector<float> Iota(int64_t n) {
  std::vector<float> v(static_cast<size_t>(n));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  return v;
}

void TfjsModelBuilder::Input(const std::string& name, int64_t h, int64_t w, int64_t c) {
  layers_.push_back({{"name", name},
                     {"class_name", "InputLayer"},
                     {"config",
                      {{"batch_input_shape", {nullptr, h, w, c}},
                       {"dtype", "float32"},
                       {"sparse", false},
                       {"name", name}}},
                     {"inbound_nodes", Json::array()}});
  inputs_.push_back(name);
  last_ = name;
}

void TfjsModelBuilder::Layer(const std::string& class_name, const std::string& name, Json config,
                             const std::vector<std::string>& inbound) {
  config["name"] = name;
  config["trainable"] = false;
  Json refs = Json::array();
  for (const auto& in : inbound) refs.push_back({in, 0, 0, Json::object()});
  layers_.push_back({{"name", name},
                     {"class_name", class_name},
                     {"config", std::move(config)},
                     {"inbound_nodes", Json::array({refs})}});
  last_ = name;
}

void TfjsModelBuilder::Float32(const std::string& name, const Shape& shape,
                               const std::vector<float>& values) {
  manifest_weights_.push_back({{"name", name}, {"shape", shape}, {"dtype", "float32"}});
  Append(shard_, values);
}

void TfjsModelBuilder::Uint8(const std::string& name, const Shape& shape,
                             const std::vector<uint8_t>& q, double min, double scale) {
  manifest_weights_.push_back(
      {{"name", name},
       {"shape", shape},
       {"dtype", "float32"},
       {"quantization", {{"dtype", "uint8"}, {"min", min}, {"scale", scale}}}});
  Append(shard_, q);
}

void TfjsModelBuilder::Uint16(const std::string& name, const Shape& shape,
                              const std::vector<uint16_t>& q, double min, double scale) {
  manifest_weights_.push_back(
      {{"name", name},
       {"shape", shape},
       {"dtype", "float32"},
       {"quantization", {{"dtype", "uint16"}, {"min", min}, {"scale", scale}}}});
  Append(shard_, q);
}

void TfjsModelBuilder::Float16(const std::string& name, const Shape& shape,
                               const std::vector<uint16_t>& halves) {
  manifest_weights_.push_back({{"name", name},
                               {"shape", shape},
                               {"dtype", "float32"},
                               {"quantization", {{"dtype", "float16"}}}});
  Append(shard_, halves);
}

Json TfjsModelBuilder::ModelJson() const {
  Json input_refs = Json::array();
  for (const auto& in : inputs_) input_refs.push_back({in, 0, 0});
  Json output_refs = Json::array();
  for (const auto& out : outputs_.empty() ? std::vector<std::string>{last_} : outputs_) {
    output_refs.push_back({out, 0, 0});
  }
  return {{"format", "layers-model"},
          {"generatedBy", "keras v2.2.4"},
          {"convertedBy", "kamado importers_test"},
          {"modelTopology",
           {{"keras_version", "2.2.4"},
            {"backend", "tensorflow"},
            {"model_config",
             {{"class_name", "Model"},
              {"config",
               {{"name", "test_model"},
                {"layers", layers_},
                {"input_layers", input_refs},
                {"output_layers", output_refs}}}}}}},
          {"weightsManifest",
           Json::array({{{"paths", {"group1-shard1of1.bin"}}, {"weights", manifest_weights_}}})}};
}

std::filesystem::path TfjsModelBuilder::Write(const Json& model_json) const {
  const auto dir = TestDir();
  WriteBytes(dir / "model.json", model_json.dump(1));
  WriteBytes(dir / "group1-shard1of1.bin", shard_);
  return dir / "model.json";
}

}  // namespace kamado::importers::testing
