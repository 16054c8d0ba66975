// Comparing two classifiers' answers photo by photo: the classes of both
// sides resolved onto one list, and the figures a product owner reads —
// top-1 agreement, top-k overlap, the confusion table, |Δp| per class and
// the photos that disagree.
//
// Not thread-safe: one owner (RunShadow records under its own lock).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/result.h"
#include "perf/hdr_histogram.h"
#include "shadow/endpoint.h"

namespace kamado::shadow {

// The classes both sides are compared over.
class LabelSpace {
 public:
  // Resolves the two sides' classes. With both known: the same classes are
  // required — a different count, or a label of one missing from the other,
  // is InvalidArgument saying so (named by `a_name`/`b_name` and where each
  // list came from) — and B's order may differ from A's: it is mapped by
  // name and note() says so. A side whose classes are unknown is mapped by
  // the labels its answers carry (TorchServe); `b_scores_only` (a side that
  // answers bare score vectors, TF Serving) with unknown classes is
  // InvalidArgument asking for a labels file. Both unknown: the space grows
  // with the labels the answers name.
  static Result<LabelSpace> Resolve(const ClassInfo& a, const ClassInfo& b, std::string_view a_name,
                                    std::string_view b_name, bool a_scores_only,
                                    bool b_scores_only);

  const std::vector<std::string>& labels() const { return labels_; }
  const std::string& note() const { return note_; }

  // An answer of side `side` (0: A, 1: B) as one score per class of this
  // space, NaN where the side gave none. InvalidArgument when a score vector
  // has the wrong length or a label is not one of the space's (fixed) classes.
  Result<std::vector<float>> Place(int side, const Answer& answer);

 private:
  int IndexOf(const std::string& label);  // -1 when fixed and unknown

  std::vector<std::string> labels_;
  std::unordered_map<std::string, int> index_;
  bool fixed_ = false;
  // Per side: its score i is class order_[side][i] of the space (empty:
  // identity).
  std::vector<int> order_[2];
  size_t side_classes_[2] = {0, 0};  // 0: the side's classes are unknown
  std::string note_;
};

struct ClassDelta {
  std::string label;
  uint64_t count = 0;                 // photos where both sides scored this class
  double max = 0, mean = 0, p99 = 0;  // of |p_A − p_B|, nearest rank
};

struct Disagreement {
  std::string photo;
  std::string a_label, b_label;
  float a_score = 0, b_score = 0;
};

struct PairStats {
  int top_k = 5;
  uint64_t compared = 0;  // photos both sides answered
  uint64_t top1_agree = 0;
  double top1_agreement = 0;  // top1_agree / compared; 0 when none
  double topk_overlap = 0;    // mean |topk(A) ∩ topk(B)| / k
  double max_abs_dp = 0;      // over every class
  double mean_abs_dp = 0;     // over every (photo, class) both scored
  // (A's top-1, B's top-1) → photos, by label.
  std::map<std::pair<std::string, std::string>, uint64_t> confusion;
  std::vector<ClassDelta> per_class;        // in the space's class order
  std::vector<Disagreement> disagreements;  // distinct photos, at most max_listed
  uint64_t disagreeing_photos = 0;          // distinct photos that ever disagreed (mirror: requests)
};

// Accumulates the photo-by-photo comparison of two sides in fixed memory
// per class (a serve --mirror runs for weeks): |Δp|'s count, sum and max
// exactly, its p99 from an HdrHistogram of Δp in millionths (the bucket's
// upper edge, at most the max). `distinct_photos`: a photo that disagrees
// again is not counted again (kamado shadow repeats its photos); false for
// a mirror, whose requests are all distinct, so no set of names is kept.
class PairComparison {
 public:
  PairComparison(int top_k, size_t max_listed, bool distinct_photos = true)
      : top_k_(top_k), max_listed_(max_listed), distinct_photos_(distinct_photos) {}

  // `a` and `b` are placed answers (LabelSpace::Place) over `labels`.
  // Returns true when this photo is a disagreement listed for the first time.
  bool Add(const std::string& photo, const std::vector<float>& a, const std::vector<float>& b,
           const std::vector<std::string>& labels);
  PairStats Finish(const std::vector<std::string>& labels) const;

 private:
  int top_k_;
  size_t max_listed_;
  uint64_t compared_ = 0, agree_ = 0;
  double overlap_sum_ = 0;
  std::map<std::pair<int, int>, uint64_t> confusion_;
  bool distinct_photos_;
  struct ClassAccumulator {
    uint64_t count = 0;
    double sum = 0, max = 0;
    perf::HdrHistogram millionths;  // |Δp| × 1e6
  };
  std::vector<ClassAccumulator> deltas_;  // per class
  std::vector<Disagreement> listed_;
  std::map<std::string, bool> disagreed_;  // photo → listed (distinct_photos_ only)
  uint64_t disagreements_ = 0;             // without distinct_photos_
};

// The best class of a placed answer (NaNs skipped); -1 when it has none.
int Top1(const std::vector<float>& p);
// The k best classes, best first (fewer when fewer were scored).
std::vector<int> TopK(const std::vector<float>& p, int k);

}  // namespace kamado::shadow
