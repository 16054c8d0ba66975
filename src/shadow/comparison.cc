#include "shadow/comparison.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>

#include "perf/latency_stats.h"

namespace kamado::shadow {

Result<LabelSpace> LabelSpace::Resolve(const ClassInfo& a, const ClassInfo& b,
                                       std::string_view a_name, std::string_view b_name,
                                       bool a_scores_only, bool b_scores_only) {
  const ClassInfo* info[2] = {&a, &b};
  const std::string_view name[2] = {a_name, b_name};
  const bool scores_only[2] = {a_scores_only, b_scores_only};
  for (int s = 0; s < 2; ++s) {
    if (info[s]->labels.empty() && scores_only[s]) {
      return InvalidArgument(fmt::format(
          "{} answers scores without labels and its metadata names none: give its labels "
          "(--{}-labels FILE, one per line, in its output order)",
          name[s], s == 0 ? "a" : "b"));
    }
    std::set<std::string> seen;
    for (const auto& l : info[s]->labels) {
      if (!seen.insert(l).second) {
        return InvalidArgument(
            fmt::format("{}: label '{}' appears twice in {}", name[s], l, info[s]->source));
      }
    }
  }
  LabelSpace space;
  const int base = a.labels.empty() ? 1 : 0;  // whose order the space takes
  space.labels_ = info[base]->labels;
  space.fixed_ = !space.labels_.empty();
  for (size_t i = 0; i < space.labels_.size(); ++i)
    space.index_[space.labels_[i]] = static_cast<int>(i);
  space.side_classes_[base] = info[base]->labels.size();
  const int other = 1 - base;
  const ClassInfo& o = *info[other];
  if (o.labels.empty()) return space;
  if (o.labels.size() != space.labels_.size()) {
    return InvalidArgument(
        fmt::format("{} has {} classes ({}), {} has {} ({}): a shadow compares classifiers over "
                    "the same classes",
                    name[base], space.labels_.size(), info[base]->source, name[other],
                    o.labels.size(), o.source));
  }
  space.side_classes_[other] = o.labels.size();
  if (o.labels == space.labels_) return space;
  for (const auto& l : o.labels) {
    if (!space.index_.count(l)) {
      return InvalidArgument(
          fmt::format("{}'s label '{}' ({}) is not one of {}'s ({}): give both sides' labels with "
                      "--a-labels/--b-labels",
                      name[other], l, o.source, name[base], info[base]->source));
    }
  }
  for (const auto& l : o.labels) space.order_[other].push_back(space.index_[l]);
  space.note_ = fmt::format("{} lists the same {} classes as {} in another order: mapped by name",
                            name[other], o.labels.size(), name[base]);
  return space;
}

int LabelSpace::IndexOf(const std::string& label) {
  if (auto it = index_.find(label); it != index_.end()) return it->second;
  if (fixed_) return -1;
  labels_.push_back(label);
  index_[label] = static_cast<int>(labels_.size() - 1);
  return static_cast<int>(labels_.size() - 1);
}

Result<std::vector<float>> LabelSpace::Place(int side, const Answer& answer) {
  std::vector<float> p;
  if (!answer.scores.empty()) {
    if (answer.scores.size() != side_classes_[side]) {
      return InvalidArgument(
          fmt::format("{} scores for {} classes", answer.scores.size(), side_classes_[side]));
    }
    p.assign(labels_.size(), std::numeric_limits<float>::quiet_NaN());
    for (size_t i = 0; i < answer.scores.size(); ++i) {
      p[order_[side].empty() ? i : static_cast<size_t>(order_[side][i])] = answer.scores[i];
    }
    return p;
  }
  std::vector<std::pair<int, float>> placed;
  for (const auto& [label, score] : answer.labelled) {
    const int i = IndexOf(label);
    if (i < 0)
      return InvalidArgument(fmt::format("label '{}' is not one of the compared classes", label));
    placed.emplace_back(i, score);
  }
  p.assign(labels_.size(), std::numeric_limits<float>::quiet_NaN());
  for (const auto& [i, score] : placed) p[static_cast<size_t>(i)] = score;
  return p;
}

std::vector<int> TopK(const std::vector<float>& p, int k) {
  std::vector<int> idx;
  for (size_t i = 0; i < p.size(); ++i) {
    if (!std::isnan(p[i])) idx.push_back(static_cast<int>(i));
  }
  // Ties keep the lower class index first, as argmax does.
  std::stable_sort(idx.begin(), idx.end(), [&](int x, int y) { return p[x] > p[y]; });
  if (idx.size() > static_cast<size_t>(std::max(k, 0)))
    idx.resize(static_cast<size_t>(std::max(k, 0)));
  return idx;
}

int Top1(const std::vector<float>& p) {
  auto t = TopK(p, 1);
  return t.empty() ? -1 : t[0];
}

bool PairComparison::Add(const std::string& photo, const std::vector<float>& a,
                         const std::vector<float>& b, const std::vector<std::string>& labels) {
  const size_t n = std::min({a.size(), b.size(), labels.size()});
  if (deltas_.size() < labels.size()) deltas_.resize(labels.size());
  ++compared_;
  const int ta = Top1(a), tb = Top1(b);
  ++confusion_[{ta, tb}];
  bool listed = false;
  if (ta == tb && ta >= 0) {
    ++agree_;
  } else if (!distinct_photos_ || !disagreed_.count(photo)) {
    const bool list = listed_.size() < max_listed_;
    if (distinct_photos_) disagreed_[photo] = list;
    ++disagreements_;
    listed = list;
    if (list) {
      auto label = [&](int i) {
        return i < 0 ? std::string("(none)") : labels[static_cast<size_t>(i)];
      };
      auto score = [](const std::vector<float>& p, int i) {
        return i < 0 ? 0.f : p[static_cast<size_t>(i)];
      };
      listed_.push_back({photo, label(ta), label(tb), score(a, ta), score(b, tb)});
    }
  }
  const std::vector<int> ka = TopK(a, top_k_), kb = TopK(b, top_k_);
  const size_t k = std::min(ka.size(), kb.size());
  if (k > 0) {
    size_t common = 0;
    for (size_t i = 0; i < k; ++i)
      common += std::count(kb.begin(), kb.begin() + static_cast<long>(k), ka[i]);
    overlap_sum_ += static_cast<double>(common) / static_cast<double>(k);
  }
  for (size_t c = 0; c < n; ++c) {
    if (std::isnan(a[c]) || std::isnan(b[c])) continue;
    const double d = std::fabs(double{a[c]} - double{b[c]});
    ClassAccumulator& acc = deltas_[c];
    ++acc.count;
    acc.sum += d;
    acc.max = std::max(acc.max, d);
    acc.millionths.Record(d * 1e6);
  }
  return listed;
}

PairStats PairComparison::Finish(const std::vector<std::string>& labels) const {
  PairStats s;
  s.top_k = top_k_;
  s.compared = compared_;
  s.top1_agree = agree_;
  if (compared_ > 0) {
    s.top1_agreement = static_cast<double>(agree_) / static_cast<double>(compared_);
    s.topk_overlap = overlap_sum_ / static_cast<double>(compared_);
  }
  auto label = [&](int i) {
    return i < 0 ? std::string("(none)") : labels[static_cast<size_t>(i)];
  };
  for (const auto& [key, count] : confusion_)
    s.confusion[{label(key.first), label(key.second)}] += count;
  double sum = 0;
  uint64_t all = 0;
  for (size_t c = 0; c < labels.size(); ++c) {
    ClassDelta d;
    d.label = labels[c];
    if (c < deltas_.size() && deltas_[c].count > 0) {
      const ClassAccumulator& acc = deltas_[c];
      d.count = acc.count;
      d.max = acc.max;
      d.mean = acc.sum / static_cast<double>(acc.count);
      d.p99 = std::min(acc.max, acc.millionths.Quantile(0.99) / 1e6);
      sum += acc.sum;
      all += acc.count;
      s.max_abs_dp = std::max(s.max_abs_dp, d.max);
    }
    s.per_class.push_back(d);
  }
  s.mean_abs_dp = all > 0 ? sum / static_cast<double>(all) : 0;
  s.disagreements = listed_;
  s.disagreeing_photos = disagreements_;
  return s;
}

}  // namespace kamado::shadow
