// A shadow run's figures as JSON (`kamado shadow --json`) and as the text
// the command prints. Pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "shadow/shadow_run.h"

namespace kamado::shadow {

// {"photos", "elapsed_s", "labels", "label_note", "sides": [{name, url,
// requests, answered, errors: {kind: n}, latency_ms: {p50, p90, p99, ...}}],
// "a_vs_b": {compared, top1_agreement, topk_overlap, top_k, max_abs_dp,
// mean_abs_dp, confusion: [{a, b, count}], per_class: [{label, count, max,
// mean, p99}], disagreeing_photos, disagreements: [{photo, a_label, a_score,
// b_label, b_score}]}, "noise_floor": same as a_vs_b or absent,
// "disagreement_over_floor": (1 − agreement) of A–B minus that of A–A′}.
nlohmann::json ShadowJson(const ShadowResult& result);

// The summary a terminal shows: sides, agreement (with the floor), the
// confusion table, the classes by max |Δp| and the first disagreeing photos.
std::string ShadowText(const ShadowResult& result, size_t photos_listed = 10);

}  // namespace kamado::shadow
