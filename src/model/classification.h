// Turning a probability vector into answers: top-K classes and the model's
// optional yes/no verdict (kamado.yaml `decision`). Pure functions; every
// front-end (`kamado infer`, /classify, OIP classification outputs) uses these.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "model/model_config.h"

namespace kamado::model {

struct ScoredClass {
  int index = 0;
  std::string label;
  float score = 0;
};

struct Verdict {
  std::string name;
  bool value = false;
  double score = 0;  // sum of the positive classes' probabilities
};

// The k best classes, best first (ties: lower index first); k is clamped to
// 0..probs.size(). Labels come from the config ("class_<i>" when it has none).
std::vector<ScoredClass> TopClasses(const ModelConfig& config, std::span<const float> probs, int k);

// The verdict when the config has a decision block: value = score ≥ threshold.
std::optional<Verdict> Decide(const ModelConfig& config, std::span<const float> probs);

}  // namespace kamado::model
