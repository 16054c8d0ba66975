// The reduced-precision gate (issue 16): a model at bf16 or int8 is served
// only where `kamado compare` measured, on this CPU's ISA, that it gives
// the fp32 model's answers:
//
//   top-1 agreement ≥ 99% (bf16) / 98% (int8), mean |Δp| ≤ 0.01 / 0.02,
//   on ≥ 50 photos (the default; `--min-photos`) whose fp32 top-1 covers
//   ≥ 3 classes (`--min-classes`), and for models of more than 10 classes
//   also the top-5 overlap.
//
// The result lives in the model directory, in .kamado/gate.json (a
// dot-directory, so the model's files hash — HashModelFiles — does not
// change when it is written), one entry per precision and ISA, holding the
// model files' hash it was measured on: a changed model is ungated again.
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "runtime/precision.h"

namespace kamado::model {

struct GateThresholds {
  double min_top1_agreement = 0.99;
  double max_mean_abs_dp = 0.01;
  int min_photos = 50;
  int min_classes = 3;
};
// The thresholds for `p` (bf16: 99% / 0.01; int8: 98% / 0.02).
GateThresholds DefaultThresholds(runtime::Precision p);

// Accumulates the agreement of a candidate's probabilities with the
// reference's, photo by photo.
class AgreementStats {
 public:
  explicit AgreementStats(int top_k = 5) : top_k_(top_k) {}
  // One photo's probabilities from both; same length. Returns whether
  // their top-1 agree.
  bool Add(std::span<const float> reference, std::span<const float> candidate);

  int photos() const { return photos_; }
  double top1_agreement() const { return photos_ ? double(same_top1_) / photos_ : 0.0; }
  double topk_overlap() const { return photos_ ? topk_sum_ / photos_ : 0.0; }
  double max_abs_dp() const { return max_dp_; }
  double mean_abs_dp() const { return values_ ? sum_dp_ / double(values_) : 0.0; }
  // How many distinct classes the reference's top-1 covered.
  int reference_classes() const { return static_cast<int>(classes_.size()); }
  int top_k() const { return top_k_; }

 private:
  int top_k_;
  int photos_ = 0;
  int same_top1_ = 0;
  double topk_sum_ = 0;
  double max_dp_ = 0;
  double sum_dp_ = 0;
  size_t values_ = 0;
  std::vector<int> classes_;
};

struct GateResult {
  std::string precision;  // "bf16"
  std::string against = "fp32";
  std::string isa;        // oneDNN's, as the compiled-file key names it
  std::string onednn;
  std::string build;
  std::string model_hash;  // HashModelFiles of the directory measured
  std::string images;      // what was given as --images
  int photos = 0;
  int reference_classes = 0;
  int num_classes = 0;
  double top1_agreement = 0;
  double topk_overlap = -1;  // -1: not measured (≤ 10 classes)
  double max_abs_dp = 0;
  double mean_abs_dp = 0;
  GateThresholds thresholds;
  bool passed = false;
  std::vector<std::string> failures;  // why it did not pass, in words
  std::string measured_at;             // UTC, ISO 8601
};

// Applies `t` to `stats`: a result with passed and failures set (the
// caller fills in where and what was measured).
GateResult Judge(const AgreementStats& stats, int num_classes, runtime::Precision precision,
                 const GateThresholds& t);

nlohmann::json GateToJson(const GateResult& r);
Result<GateResult> GateFromJson(const nlohmann::json& j);

std::filesystem::path GateFile(const std::filesystem::path& model_dir);
// Adds or replaces `r`'s entry (its precision and ISA) in the model's gate
// file, written atomically.
Status WriteGate(const std::filesystem::path& model_dir, const GateResult& r);
// The entry for `precision` on `isa`; NotFound when there is none.
Result<GateResult> ReadGate(const std::filesystem::path& model_dir, std::string_view precision,
                            std::string_view isa);

// Ok when `precision` is fp32, or the model in `dir` (whose files hash to
// `model_hash`) has a passed gate for `precision` on `isa`; otherwise
// Unsupported saying which of: never measured here, measured on other
// files, or failed (and why), and how to measure it or --allow-ungated.
Status CheckGate(const std::filesystem::path& dir, runtime::Precision precision,
                 std::string_view isa, std::string_view model_hash);

// `--precision auto`: fp32, and every reduced precision this CPU runs whose
// gate passed here (CheckGate) on the model files hashing to `model_hash`,
// in the order fp32, bf16, int8.
std::vector<runtime::Precision> GatedPrecisions(const std::filesystem::path& dir,
                                                std::string_view isa, std::string_view model_hash);

struct TimedPrecision {
  runtime::Precision precision;
  double ms = 0;  // median batch-1 latency measured at load
};
// The fastest of `timed`; a tie goes to the earlier (more precise) one.
// `timed` must not be empty.
runtime::Precision Fastest(const std::vector<TimedPrecision>& timed);

}  // namespace kamado::model
