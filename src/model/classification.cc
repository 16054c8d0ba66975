#include "model/classification.h"

#include <algorithm>
#include <numeric>

namespace kamado::model {
namespace {

std::string LabelOf(const ModelConfig& config, int index) {
  if (index >= 0 && index < static_cast<int>(config.labels.size())) {
    return config.labels[static_cast<size_t>(index)];
  }
  return "class_" + std::to_string(index);
}

}  // namespace

std::vector<ScoredClass> TopClasses(const ModelConfig& config, std::span<const float> probs,
                                    int k) {
  std::vector<int> idx(probs.size());
  std::iota(idx.begin(), idx.end(), 0);
  k = std::clamp(k, 0, static_cast<int>(probs.size()));
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int a, int b) {
    return probs[a] > probs[b] || (probs[a] == probs[b] && a < b);
  });
  std::vector<ScoredClass> out;
  for (int i = 0; i < k; ++i) {
    const int c = idx[static_cast<size_t>(i)];
    out.push_back({c, LabelOf(config, c), probs[static_cast<size_t>(c)]});
  }
  return out;
}

std::optional<Verdict> Decide(const ModelConfig& config, std::span<const float> probs) {
  if (!config.decision) return std::nullopt;
  Verdict v;
  v.name = config.decision->name;
  for (int i : config.decision->positive_indices) {
    if (i >= 0 && i < static_cast<int>(probs.size())) v.score += probs[static_cast<size_t>(i)];
  }
  v.value = v.score >= config.decision->threshold;
  return v;
}

}  // namespace kamado::model
