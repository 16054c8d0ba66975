// Test helper: writes tiny TF.js layers models (model.json + one weight shard)
// into a temporary directory, so importer tests need no checked-in fixtures.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/shape.h"

namespace kamado::importers::testing {

using Json = nlohmann::json;

// A fresh, empty directory unique to the running test (removed and recreated).
std::filesystem::path TestDir();

// Builds a functional Keras model layer by layer, Keras 2.2.4 style.
class TfjsModelBuilder {
 public:
  // InputLayer `name` with batch_input_shape [null, h, w, c].
  void Input(const std::string& name, int64_t h, int64_t w, int64_t c);
  // A layer reading the first output of each layer in `inbound`.
  void Layer(const std::string& class_name, const std::string& name, Json config,
             const std::vector<std::string>& inbound);
  // The model's outputs; defaults to the last layer added.
  void Output(const std::string& name) { outputs_.push_back(name); }

  // Weights, appended to the single shard in call order.
  void Float32(const std::string& name, const Shape& shape, const std::vector<float>& values);
  void Uint8(const std::string& name, const Shape& shape, const std::vector<uint8_t>& q, double min,
             double scale);
  void Uint16(const std::string& name, const Shape& shape, const std::vector<uint16_t>& q,
              double min, double scale);
  void Float16(const std::string& name, const Shape& shape, const std::vector<uint16_t>& halves);

  // model.json's content, for tests that tamper with it before writing.
  Json ModelJson() const;
  std::string& shard() { return shard_; }

  // Writes model.json (ModelJson() or `model_json`) and group1-shard1of1.bin
  // into TestDir(); returns the path of model.json.
  std::filesystem::path Write() const { return Write(ModelJson()); }
  std::filesystem::path Write(const Json& model_json) const;

 private:
  Json layers_ = Json::array();
  std::vector<std::string> inputs_;
  std::vector<std::string> outputs_;
  std::string last_;
  Json manifest_weights_ = Json::array();
  std::string shard_;
};

// 0, 1, 2, ... n-1 as floats: every element distinct, so transpositions show.
std::vector<float> Iota(int64_t n);

}  // namespace kamado::importers::testing
