#include "cli/common.h"

#include <algorithm>
#include <numeric>

namespace kamado::cli {

std::vector<int> TopK(const float* scores, int n, int k) {
  std::vector<int> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  k = std::clamp(k, 0, n);
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int a, int b) {
    return scores[a] > scores[b] || (scores[a] == scores[b] && a < b);
  });
  idx.resize(static_cast<size_t>(k));
  return idx;
}

std::string LabelOf(const runtime::ModelConfig& config, int index) {
  if (index >= 0 && index < static_cast<int>(config.labels.size())) {
    return config.labels[static_cast<size_t>(index)];
  }
  return "class_" + std::to_string(index);
}

}  // namespace kamado::cli
