#include "tune/tune_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "perf/report_tables.h"
#include "perf/svg_plot.h"

namespace kamado::tune {

namespace {

using nlohmann::json;

std::string Num(double v, int digits = 1) { return fmt::format("{:.{}f}", v, digits); }

std::set<size_t> AsSet(const std::vector<size_t>& v) { return {v.begin(), v.end()}; }

std::vector<std::string> Summary(const TuneReport& r) {
  const SearchResult& s = r.result;
  std::vector<std::string> lines = {
      fmt::format("model {}, SLO p99 ≤ {:g} ms, {} search on {} CPUs ({})", r.model, r.slo_p99_ms, r.mode,
                  r.vcpus, r.cpu),
      fmt::format("{} of {} configurations measured in {:.0f} s (budget {:.0f} s), ≥ {} requests per level",
                  s.points.size(), s.grid_size, s.elapsed_s, r.budget_s, r.min_requests),
      fmt::format("default {}: {:.1f} req/s within the SLO (median of {} re-measurements)",
                  Label(s.default_candidate), s.default_median_rps, s.default_runs.size()),
      fmt::format("recommended {}: {:.1f} req/s within the SLO (median of {}){}", Label(s.recommended),
                  s.recommended_median_rps, s.recommended_runs.size(),
                  s.recommended_is_default ? ", the default itself"
                  : s.default_median_rps > 0
                      ? fmt::format(", {:.2f}× the default", s.recommended_median_rps / s.default_median_rps)
                      : std::string()),
  };
  if (!r.serve_yaml.empty()) lines.push_back("written to " + r.serve_yaml + " (kamado serve --config " + r.serve_yaml + ")");
  return lines;
}

perf::Table PointTable(const TuneReport& r) {
  const SearchResult& s = r.result;
  const std::set<size_t> lat = AsSet(ParetoFront(s.points, Cost::kP99));
  const std::set<size_t> mem = AsSet(ParetoFront(s.points, Cost::kMemory));
  perf::Table t = {{"#", "configuration", "SLO req/s", "p50 ms", "p99 ms", "CPU %", "RSS MiB", "PSS MiB", "probes",
                    "s", "stable", "front", "note"}};
  for (size_t i = 0; i < s.points.size(); ++i) {
    const Point& p = s.points[i];
    std::string front;
    if (lat.count(i)) front += "p99";
    if (mem.count(i)) front += front.empty() ? "memory" : ", memory";
    std::string note = p.m.error;
    if (note.empty() && p.attempts > 1) note = "measured twice (unstable)";
    if (note.empty() && p.m.cut_short) note = "cut short: failed below what it had to beat";
    if (note.empty() && p.m.slo_rps > 0 && !p.m.bracketed) note = "no failing rate above";
    if (p.candidate == s.recommended) note = note.empty() ? "recommended" : "recommended; " + note;
    if (p.candidate == s.default_candidate) note = note.empty() ? "default" : "default; " + note;
    const bool measured = p.m.error.empty();
    t.push_back({std::to_string(i + 1), Label(p.candidate), measured ? Num(p.m.slo_rps) : "—",
                 measured ? Num(p.m.p50_ms) : "—", measured ? Num(p.m.p99_ms) : "—",
                 measured ? Num(p.m.cpu_pct, 0) : "—", measured ? Num(p.m.rss_mb, 0) : "—",
                 measured ? Num(p.m.pss_mb, 0) : "—", std::to_string(p.m.probes), Num(p.m.seconds, 0),
                 measured ? (p.m.stable ? "yes" : "no") : "—", front, note});
  }
  return t;
}

perf::Table ConfirmTable(const TuneReport& r) {
  const SearchResult& s = r.result;
  perf::Table t = {{"round", "default req/s", "recommended req/s"}};
  const size_t n = std::max(s.default_runs.size(), s.recommended_runs.size());
  for (size_t i = 0; i < n; ++i) {
    auto cell = [&](const std::vector<Measurement>& v) {
      if (i >= v.size()) return std::string("—");
      return v[i].error.empty() ? Num(v[i].slo_rps) : "error: " + v[i].error;
    };
    t.push_back({std::to_string(i + 1), cell(s.default_runs),
                 s.recommended_is_default ? "(the default)" : cell(s.recommended_runs)});
  }
  t.push_back({"median", Num(s.default_median_rps), Num(s.recommended_median_rps)});
  return t;
}

json CandidateJson(const Candidate& c) {
  return {{"workers", c.workers}, {"sessions", c.sessions}, {"threads", c.threads}, {"max_batch", c.max_batch},
          {"batch_delay_us", c.batch_delay_us}, {"pin", c.pin}, {"precision", c.precision},
          {"label", Label(c)}};
}

json MeasurementJson(const Measurement& m) {
  json j = {{"slo_rps", m.slo_rps}, {"bracketed", m.bracketed}, {"p50_ms", m.p50_ms}, {"p99_ms", m.p99_ms},
            {"throughput_rps", m.throughput_rps}, {"cpu_pct", m.cpu_pct}, {"rss_mb", m.rss_mb},
            {"pss_mb", m.pss_mb}, {"stable", m.stable}, {"requests", m.requests}, {"probes", m.probes},
            {"seconds", m.seconds}};
  if (!m.error.empty()) j["error"] = m.error;
  if (m.cut_short) j["cut_short"] = true;
  return j;
}

// One plot: SLO throughput (x) against `cost` (y), every point a dot, the
// front as a line through its points.
perf::PlotSpec FrontPlot(const TuneReport& r, Cost cost) {
  const SearchResult& s = r.result;
  auto y_of = [cost](const Point& p) { return cost == Cost::kP99 ? p.m.p99_ms : p.m.pss_mb; };
  perf::PlotSpec spec;
  spec.title = cost == Cost::kP99 ? "SLO throughput against p99 at that rate"
                                  : "SLO throughput against memory (PSS of the server's processes)";
  spec.x = {"SLO throughput (req/s)", false, {}, true};
  spec.y = {cost == Cost::kP99 ? "p99 at the SLO rate (ms)" : "PSS (MiB)", false, {}, true};
  perf::PlotSeries all;
  all.label = "configurations";
  all.markers = true;
  perf::PlotSeries front;
  front.label = "Pareto front";
  front.markers = true;
  front.color = 1;
  perf::PlotSeries chosen;
  chosen.label = "recommended";
  chosen.markers = true;
  chosen.color = 2;
  perf::PlotSeries def;
  def.label = "default";
  def.markers = true;
  def.color = 3;
  for (const Point& p : s.points) {
    if (!p.m.error.empty() || p.m.slo_rps <= 0) continue;
    all.points.emplace_back(p.m.slo_rps, y_of(p));
    all.hovers.push_back(fmt::format("{}: {:.1f} req/s, {:.1f}", Label(p.candidate), p.m.slo_rps, y_of(p)));
    all.hollow.push_back(true);
    if (p.candidate == s.recommended) {
      chosen.points.emplace_back(p.m.slo_rps, y_of(p));
      chosen.hovers.push_back("recommended: " + Label(p.candidate));
    }
    if (p.candidate == s.default_candidate) {
      def.points.emplace_back(p.m.slo_rps, y_of(p));
      def.hovers.push_back("default: " + Label(p.candidate));
    }
  }
  // Dots only: the points are not a series in x order; the marked ones
  // likewise.
  all.line = chosen.line = def.line = false;
  for (size_t i : ParetoFront(s.points, cost)) {
    front.points.emplace_back(s.points[i].m.slo_rps, y_of(s.points[i]));
    front.hovers.push_back("front: " + Label(s.points[i].candidate));
  }
  spec.series = {all, front, def, chosen};
  return spec;
}

}  // namespace

std::string RenderTuneText(const TuneReport& r) {
  std::string o;
  for (const std::string& l : Summary(r)) o += l + "\n";
  o += "\n" + perf::TextTable(PointTable(r)) + "\nconfirmation (interleaved, default first):\n" +
       perf::TextTable(ConfirmTable(r));
  for (const std::string& n : r.result.notes) o += "note: " + n + "\n";
  return o;
}

std::string RenderTuneJson(const TuneReport& r, int indent) {
  const SearchResult& s = r.result;
  json j;
  j["kamado_tune"] = 1;
  j["command"] = r.command;
  j["date"] = r.date;
  j["model"] = r.model;
  j["mode"] = r.mode;
  j["slo_p99_ms"] = r.slo_p99_ms;
  j["budget_s"] = r.budget_s;
  j["elapsed_s"] = s.elapsed_s;
  j["min_requests"] = r.min_requests;
  j["machine"] = {{"cpu", r.cpu}, {"vcpus", r.vcpus}, {"isa", r.isa}};
  j["grid_size"] = s.grid_size;
  j["budget_reached"] = s.budget_reached;
  const std::set<size_t> lat = AsSet(ParetoFront(s.points, Cost::kP99));
  const std::set<size_t> mem = AsSet(ParetoFront(s.points, Cost::kMemory));
  j["points"] = json::array();
  for (size_t i = 0; i < s.points.size(); ++i) {
    const Point& p = s.points[i];
    json pj = MeasurementJson(p.m);
    pj["config"] = CandidateJson(p.candidate);
    pj["attempts"] = p.attempts;
    pj["front_p99"] = lat.count(i) > 0;
    pj["front_memory"] = mem.count(i) > 0;
    j["points"].push_back(std::move(pj));
  }
  auto runs = [](const std::vector<Measurement>& v) {
    json a = json::array();
    for (const Measurement& m : v) a.push_back(MeasurementJson(m));
    return a;
  };
  j["default"] = {{"config", CandidateJson(s.default_candidate)},
                  {"slo_rps", s.default_median_rps},
                  {"runs", runs(s.default_runs)}};
  j["recommended"] = {{"config", CandidateJson(s.recommended)},
                      {"slo_rps", s.recommended_median_rps},
                      {"is_default", s.recommended_is_default},
                      {"runs", runs(s.recommended_runs)},
                      {"serve_yaml", r.serve_yaml}};
  j["notes"] = s.notes;
  return j.dump(indent) + "\n";
}

std::string RenderTuneHtml(const TuneReport& r) {
  std::string o = perf::HtmlPageStart("kamado tune: " + r.model, r.command);
  o += "<ul>\n";
  for (const std::string& l : Summary(r)) o += "<li>" + perf::EscapeXml(l) + "</li>\n";
  o += "</ul>\n<h2>Pareto fronts</h2>\n";
  o += perf::RenderSvgPlot(FrontPlot(r, Cost::kP99));
  o += perf::RenderSvgPlot(FrontPlot(r, Cost::kMemory));
  o += "<h2>Every configuration measured</h2>\n<p>SLO req/s: the highest open-loop Poisson rate whose p99 stayed "
       "within " + perf::EscapeXml(fmt::format("{:g}", r.slo_p99_ms)) +
       " ms with no errors; p50, p99, CPU % (the server's processes, 100 per busy CPU) at that rate; RSS and PSS of "
       "the server's processes after the search.</p>\n";
  o += perf::HtmlTable(PointTable(r), "points", 10);
  o += "<h2>Confirmation</h2>\n<p>The default and the recommended configuration re-measured in turn, default "
       "first.</p>\n" +
       perf::HtmlTable(ConfirmTable(r), "confirm");
  if (!r.result.notes.empty()) {
    o += "<h2>Notes</h2>\n<ul>\n";
    for (const std::string& n : r.result.notes) o += "<li>" + perf::EscapeXml(n) + "</li>\n";
    o += "</ul>\n";
  }
  return o + perf::HtmlPageEnd();
}

}  // namespace kamado::tune
