#include "shadow/shadow_report.h"

#include <fmt/format.h>

#include <algorithm>

namespace kamado::shadow {
namespace {

using nlohmann::json;

json LatencyJson(const perf::LatencyStats& l) {
  return {{"count", l.count}, {"mean", l.mean_ms}, {"min", l.min_ms}, {"p50", l.p50_ms},
          {"p90", l.p90_ms},  {"p99", l.p99_ms},   {"max", l.max_ms}};
}

json SideJson(const SideStats& s) {
  return {{"name", s.name},         {"url", s.url},       {"requests", s.requests},
          {"answered", s.answered}, {"errors", s.errors}, {"latency_ms", LatencyJson(s.latency)}};
}

json PairJson(const PairStats& p) {
  json j = {{"compared", p.compared},
            {"top1_agree", p.top1_agree},
            {"top1_agreement", p.top1_agreement},
            {"top_k", p.top_k},
            {"topk_overlap", p.topk_overlap},
            {"max_abs_dp", p.max_abs_dp},
            {"mean_abs_dp", p.mean_abs_dp},
            {"confusion", json::array()},
            {"per_class", json::array()},
            {"disagreeing_photos", p.disagreeing_photos},
            {"disagreements", json::array()}};
  for (const auto& [key, n] : p.confusion)
    j["confusion"].push_back({{"a", key.first}, {"b", key.second}, {"count", n}});
  for (const auto& d : p.per_class) {
    j["per_class"].push_back(
        {{"label", d.label}, {"count", d.count}, {"max", d.max}, {"mean", d.mean}, {"p99", d.p99}});
  }
  for (const auto& d : p.disagreements) {
    j["disagreements"].push_back({{"photo", d.photo},
                                  {"a_label", d.a_label},
                                  {"a_score", d.a_score},
                                  {"b_label", d.b_label},
                                  {"b_score", d.b_score}});
  }
  return j;
}

std::string SideLine(const SideStats& s) {
  std::string errors;
  for (const auto& [kind, n] : s.errors)
    errors += fmt::format("{}{} × {}", errors.empty() ? "" : ", ", n, kind);
  return fmt::format("  {:<11} {:>6} {:>8} {:>9.1f} {:>9.1f} {:>9.1f}  {}  {}\n", s.name,
                     s.requests, s.answered, s.latency.p50_ms, s.latency.p99_ms, s.latency.max_ms,
                     errors.empty() ? "no errors" : errors, s.url);
}

}  // namespace

json ShadowJson(const ShadowResult& r) {
  json j = {{"photos", r.photos},
            {"elapsed_s", r.elapsed_s},
            {"labels", r.labels},
            {"label_note", r.label_note}};
  j["sides"] = json::array({SideJson(r.a), SideJson(r.b)});
  if (r.noise) j["sides"].push_back(SideJson(*r.noise));
  j["a_vs_b"] = PairJson(r.ab);
  if (r.noise_floor) {
    j["noise_floor"] = PairJson(*r.noise_floor);
    j["disagreement_over_floor"] =
        std::max(0.0, (1 - r.ab.top1_agreement) - (1 - r.noise_floor->top1_agreement));
  }
  return j;
}

std::string ShadowText(const ShadowResult& r, size_t photos_listed) {
  std::string s =
      fmt::format("{} photos sent to each side in {:.1f} s; {} classes{}\n", r.photos, r.elapsed_s,
                  r.labels.size(), r.label_note.empty() ? "" : " (" + r.label_note + ")");
  s += fmt::format("  {:<11} {:>6} {:>8} {:>9} {:>9} {:>9}  errors\n", "side", "sent", "answered",
                   "p50 ms", "p99 ms", "max ms");
  s += SideLine(r.a) + SideLine(r.b);
  if (r.noise) s += SideLine(*r.noise);
  const PairStats& p = r.ab;
  s += fmt::format(
      "A vs B: top-1 agreement {:.2f}% ({} of {} compared), top-{} overlap {:.2f}%, |Δp| max "
      "{:.3g}, "
      "mean {:.3g}\n",
      100 * p.top1_agreement, p.top1_agree, p.compared, p.top_k, 100 * p.topk_overlap, p.max_abs_dp,
      p.mean_abs_dp);
  if (r.noise_floor) {
    const PairStats& f = *r.noise_floor;
    s += fmt::format(
        "noise floor (A vs A′): top-1 agreement {:.2f}%, |Δp| max {:.3g}, mean {:.3g}; "
        "disagreement over the floor {:.2f}%\n",
        100 * f.top1_agreement, f.max_abs_dp, f.mean_abs_dp,
        100 * std::max(0.0, f.top1_agreement - p.top1_agreement));
  }
  if (!p.confusion.empty()) {
    s += "confusion (A's top-1 → B's top-1: photos):\n";
    for (const auto& [key, n] : p.confusion)
      s += fmt::format("  {} → {}: {}\n", key.first, key.second, n);
  }
  std::vector<ClassDelta> by_max = p.per_class;
  std::stable_sort(by_max.begin(), by_max.end(),
                   [](const auto& x, const auto& y) { return x.max > y.max; });
  if (by_max.size() > 10) by_max.resize(10);
  if (!by_max.empty() && by_max[0].count > 0) {
    s += "|Δp| by class (largest max first): class, max, mean, p99\n";
    for (const auto& d : by_max) {
      if (d.count > 0)
        s += fmt::format("  {}: {:.3g}, {:.3g}, {:.3g}\n", d.label, d.max, d.mean, d.p99);
    }
  }
  if (p.disagreeing_photos > 0) {
    s += fmt::format(
        "photos that disagree: {}{}\n", p.disagreeing_photos,
        p.disagreeing_photos > photos_listed ? fmt::format(" (first {})", photos_listed) : "");
    for (size_t i = 0; i < p.disagreements.size() && i < photos_listed; ++i) {
      const auto& d = p.disagreements[i];
      s += fmt::format("  {}: A {} ({:.3f}), B {} ({:.3f})\n", d.photo, d.a_label, d.a_score,
                       d.b_label, d.b_score);
    }
  }
  return s;
}

}  // namespace kamado::shadow
