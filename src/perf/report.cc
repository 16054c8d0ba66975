#include "perf/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "perf/latency_distribution.h"
#include "perf/report_tables.h"
#include "perf/svg_plot.h"

namespace kamado::perf {
namespace {

constexpr std::string_view kStyle = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;max-width:1000px;
margin:24px auto;padding:0 16px;line-height:1.4}
h1{font-size:22px;margin-bottom:4px}
h2{font-size:17px;margin-top:30px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border:1px solid #ddd;padding:3px 9px;text-align:right}
th{background:#f4f4f4}
th:first-child,td:first-child{text-align:left}
pre.cmd{background:#f6f6f6;border:1px solid #e4e4e4;padding:8px;white-space:pre-wrap;
word-break:break-all;font-size:13px}
.bad{color:#b00020;font-weight:bold}
.muted{color:#666;font-size:13px}
svg.plot{display:block;margin:14px 0;max-width:100%;height:auto;border:1px solid #eee}
)";

std::string Esc(std::string_view s) { return EscapeXml(s); }

std::string FormatMs(double v) {
  if (!std::isfinite(v)) return "-";
  if (std::abs(v) < 10) return fmt::format("{:.2f}", v);
  if (std::abs(v) < 100) return fmt::format("{:.1f}", v);
  return fmt::format("{:.0f}", v);
}

std::string FormatNumber(double v) {
  if (!std::isfinite(v)) return "-";
  return fmt::format("{:.6g}", v);
}

// One decimal: rates, percentages, MiB.
std::string FormatRate(double v) {
  if (!std::isfinite(v)) return "-";
  return fmt::format("{:.1f}", v);
}

Table LatencyTable(const Report& r) {
  Table t = {{"series", "requests", "min", "mean", "p50", "p90", "p99", "p99.9", "max (ms)"}};
  for (const LatencySeries& s : r.latencies) {
    const LatencyStats& st = s.stats;
    t.push_back({s.label, std::to_string(st.count), FormatMs(st.min_ms), FormatMs(st.mean_ms),
                 FormatMs(st.p50_ms), FormatMs(st.p90_ms), FormatMs(st.p99_ms),
                 FormatMs(st.p999_ms), FormatMs(st.max_ms)});
  }
  return t;
}

Table StageTable(const Report& r) {
  Table t = {{"stage", "mean", "p50", "p99 (ms)"}};
  for (const ReportStage& s : r.stages) {
    t.push_back({s.name, FormatMs(s.stats.mean_ms), FormatMs(s.stats.p50_ms), FormatMs(s.stats.p99_ms)});
  }
  return t;
}

Table LevelTable(const Report& r) {
  Table t = {{"level", "offered", "throughput (req/s)", "p50", "p90", "p95", "p99", "p99.9 (ms)",
              "requests", "errors", "stable"}};
  for (const ReportLevel& l : r.levels) {
    t.push_back({l.label, FormatNumber(l.offered), FormatRate(l.throughput_rps), FormatMs(l.latency.p50_ms),
                 FormatMs(l.latency.p90_ms), FormatMs(l.latency.p95_ms), FormatMs(l.latency.p99_ms),
                 FormatMs(l.latency.p999_ms),
                 std::to_string(l.requests), std::to_string(l.errors), l.stable ? "yes" : "no"});
  }
  return t;
}


// Log scale when the positive values span more than 10×.
bool WantsLog(double lo, double hi) { return lo > 0 && std::isfinite(hi) && hi / lo > 10; }

PlotSpec HistogramPlot(const Report& r) {
  const LatencyBins h = BinLatencies(r.latencies);
  PlotSpec p;
  p.title = "Latency histogram";
  p.x.label = h.log_x ? "latency (ms, log scale)" : "latency (ms)";
  p.x.log = h.log_x;
  p.y.label = "requests per bin";
  p.y.include_zero = true;
  const bool bars = r.latencies.size() == 1;
  for (size_t si = 0; si < r.latencies.size(); ++si) {
    PlotSeries s;
    s.label = r.latencies[si].label;
    s.color = static_cast<int>(si);
    const std::vector<uint64_t>& counts = h.counts[si];
    if (bars) {
      s.style = PlotSeries::Style::kBars;
      for (size_t b = 0; b < counts.size(); ++b) {
        s.bars.push_back({h.edges[b], h.edges[b + 1], static_cast<double>(counts[b]),
                          fmt::format("{}–{} ms: {} requests", FormatMs(h.edges[b]),
                                      FormatMs(h.edges[b + 1]), counts[b])});
      }
    } else if (!counts.empty()) {
      // Step outline: up at each bin's left edge, across, and down at the end.
      s.points.push_back({h.edges[0], 0});
      for (size_t b = 0; b < counts.size(); ++b) {
        const double c = static_cast<double>(counts[b]);
        s.points.push_back({h.edges[b], c});
        s.points.push_back({h.edges[b + 1], c});
      }
      s.points.push_back({h.edges.back(), 0});
    }
    p.series.push_back(std::move(s));
  }
  return p;
}

}  // namespace

PlotSpec LatencyCdfPlot(const std::vector<LatencySeries>& latencies) {
  PlotSpec p;
  p.title = "Latency by percentile (CDF)";
  p.x.label = "percentile (each tick right is 10× rarer; right edge = max)";
  for (double q : {0.0, 50.0, 90.0, 99.0, 99.9, 99.99}) {
    p.x.ticks.push_back({HdrPercentileX(q), fmt::format("{:g}%", q)});
  }
  double lo = INFINITY, hi = -INFINITY;
  for (size_t si = 0; si < latencies.size(); ++si) {
    const LatencyDistribution d(latencies[si]);
    PlotSeries s;
    s.label = latencies[si].label;
    s.color = static_cast<int>(si);
    for (const CdfPoint& c : d.Cdf())
      s.points.push_back({HdrPercentileX(c.percentile), c.latency_ms});
    if (!d.empty()) lo = std::min(lo, d.min()), hi = std::max(hi, d.max());
    p.series.push_back(std::move(s));
  }
  p.y.log = WantsLog(lo, hi);
  p.y.label = p.y.log ? "latency (ms, log scale)" : "latency (ms)";
  p.y.include_zero = true;
  return p;
}

LatencySeries HistogramSeries(std::string label, const HdrHistogram& histogram_us, const LatencyStats& stats) {
  LatencySeries s;
  s.label = std::move(label);
  for (const auto& b : histogram_us.Buckets()) {
    s.values.emplace_back(static_cast<double>(std::min(b.hi_us, histogram_us.Max())) / 1e3, b.count);
  }
  s.stats = stats;
  return s;
}

namespace {

PlotSpec LevelsPlot(const Report& r) {
  PlotSpec p;
  p.title = "Latency vs throughput";
  p.x.label = "achieved throughput (req/s)";
  p.x.include_zero = true;
  double lo = INFINITY, hi = -INFINITY;
  PlotSeries p50, p99;
  p50.label = "p50";
  p99.label = "p99";
  p50.markers = p99.markers = true;
  p99.dashed = true;
  p99.color = 3;
  for (const ReportLevel& l : r.levels) {
    lo = std::min({lo, l.latency.p50_ms, l.latency.p99_ms});
    hi = std::max({hi, l.latency.p50_ms, l.latency.p99_ms});
    const std::string suffix = l.stable ? "" : " (did not stabilise)";
    p50.points.push_back({l.throughput_rps, l.latency.p50_ms});
    p50.hovers.push_back(fmt::format("{}: {} req/s, p50 {} ms{}", l.label,
                                     FormatRate(l.throughput_rps), FormatMs(l.latency.p50_ms), suffix));
    p50.hollow.push_back(!l.stable);
    p99.points.push_back({l.throughput_rps, l.latency.p99_ms});
    p99.hovers.push_back(fmt::format("{}: {} req/s, p99 {} ms{}", l.label,
                                     FormatRate(l.throughput_rps), FormatMs(l.latency.p99_ms), suffix));
    p99.hollow.push_back(!l.stable);
  }
  p.y.log = WantsLog(lo, hi);
  p.y.label = p.y.log ? "latency (ms, log scale)" : "latency (ms)";
  p.y.include_zero = true;
  p.series = {std::move(p50), std::move(p99)};
  return p;
}

PlotSpec MonitorPlot(const Report& r) {
  PlotSpec p;
  p.title = "CPU and memory over time";
  p.x.label = "time (s since the first sample)";
  p.y.label = "CPU (%)";
  p.y.include_zero = true;
  p.y2.label = "RSS (MiB)";
  p.y2.include_zero = true;
  PlotSeries machine, procs, rss;
  machine.label = "machine CPU (% of all cores)";
  procs.label = "watched processes CPU (% of one core)";
  procs.color = 1;
  rss.label = "watched processes RSS (MiB, right axis)";
  rss.dashed = rss.right_axis = true;
  rss.color = 2;
  const auto t0 = r.monitor.front().wall;
  bool any_process = false;
  for (const Sample& s : r.monitor) {
    const double t = std::chrono::duration<double>(s.wall - t0).count();
    machine.points.push_back({t, 100.0 - s.idle_pct});
    double cpu = 0, mb = 0;
    for (const ProcessSample& ps : s.processes) cpu += ps.cpu_pct, mb += ps.rss_mb;
    any_process = any_process || !s.processes.empty();
    procs.points.push_back({t, cpu});
    rss.points.push_back({t, mb});
  }
  const bool few = r.monitor.size() <= 3;  // a lone point needs a marker to be seen
  machine.markers = procs.markers = rss.markers = few;
  p.series.push_back(std::move(machine));
  if (any_process) {
    p.series.push_back(std::move(procs));
    p.series.push_back(std::move(rss));
  }
  return p;
}

}  // namespace

std::string HtmlTable(const Table& t, std::string_view css_class, int flag_column) {
  std::string o = fmt::format("<table class=\"{}\">\n", css_class);
  for (size_t i = 0; i < t.size(); ++i) {
    o += "<tr>";
    for (size_t c = 0; c < t[i].size(); ++c) {
      const std::string& cell = t[i][c];
      if (i == 0) {
        o += "<th>" + Esc(cell) + "</th>";
      } else if (static_cast<int>(c) == flag_column && cell == "no") {
        o += "<td class=\"bad\">no</td>";
      } else {
        o += "<td>" + Esc(cell) + "</td>";
      }
    }
    o += "</tr>\n";
  }
  return o + "</table>\n";
}

std::string MarkdownCell(std::string_view s) {
  std::string o;
  for (char c : s) {
    if (c == '|') {
      o += "\\|";
    } else if (c == '\n' || c == '\r') {
      o += ' ';
    } else {
      o += c;
    }
  }
  return o;
}

std::string MarkdownTable(const Table& t) {
  std::string o;
  for (size_t i = 0; i < t.size(); ++i) {
    o += '|';
    for (const std::string& cell : t[i]) {
      o += ' ';
      o += MarkdownCell(cell);
      o += " |";
    }
    o += '\n';
    if (i == 0) {
      o += '|';
      for (size_t c = 0; c < t[0].size(); ++c) o += c == 0 ? "---|" : "---:|";
      o += '\n';
    }
  }
  return o;
}

namespace {

// Columns on a terminal: UTF-8 code points ("×", "µ", "≤" are one each).
size_t DisplayWidth(std::string_view s) {
  size_t n = 0;
  for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;
  return n;
}

}  // namespace

std::string TextTable(const Table& t) {
  std::vector<size_t> width;
  for (const auto& row : t) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], DisplayWidth(row[c]));
  }
  std::string o;
  for (const auto& row : t) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      const std::string& cell = row[c];
      const std::string pad(width[c] - DisplayWidth(cell), ' ');
      line += c == 0 ? cell + pad : "  " + pad + cell;
    }
    o += line + "\n";
  }
  return o;
}

std::string HtmlPageStart(std::string_view title, std::string_view command) {
  std::string o;
  o += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n";
  o += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n";
  o += "<title>" + Esc(title) + "</title>\n<style>" + std::string(kStyle) + "</style>\n";
  o += "</head>\n<body>\n<h1>" + Esc(title) + "</h1>\n";
  if (!command.empty()) o += "<pre class=\"cmd\">" + Esc(command) + "</pre>\n";
  return o;
}

std::string HtmlPageEnd() {
  return "<p class=\"muted\">Generated by kamado. Self-contained: no scripts, no network.</p>\n</body>\n</html>\n";
}

std::string RenderHtml(const Report& r) {
  std::string o = HtmlPageStart(r.title, r.command);

  if (!r.notes.empty()) {
    o += "<h2>Notes</h2>\n<ul>\n";
    for (const std::string& n : r.notes) o += "<li>" + Esc(n) + "</li>\n";
    o += "</ul>\n";
  }
  if (!r.summary.empty()) {
    Table t = {{"metric", "value"}};
    for (const auto& [k, v] : r.summary) t.push_back({k, v});
    o += "<h2>Summary</h2>\n" + HtmlTable(t, "summary");
  }
  const bool any_latency = std::any_of(r.latencies.begin(), r.latencies.end(),
                                       [](const LatencySeries& s) { return !s.values.empty(); });
  if (any_latency) {
    o += "<h2>Latency distribution</h2>\n" + HtmlTable(LatencyTable(r), "latency");
    o += RenderSvgPlot(HistogramPlot(r));
    o += RenderSvgPlot(LatencyCdfPlot(r.latencies));
  }
  if (!r.levels.empty()) {
    o += "<h2>Load levels</h2>\n";
    if (r.levels.size() >= 2) {
      o += RenderSvgPlot(LevelsPlot(r));
      if (std::any_of(r.levels.begin(), r.levels.end(),
                      [](const ReportLevel& l) { return !l.stable; })) {
        o += "<p class=\"muted\">Hollow markers: the level did not stabilise.</p>\n";
      }
    }
    o += HtmlTable(LevelTable(r), "levels", /*flag_column=*/10);
  }
  if (!r.stages.empty()) o += "<h2>Stages</h2>\n" + HtmlTable(StageTable(r), "stages");
  if (!r.monitor.empty()) {
    o += "<h2>CPU and memory</h2>\n" + RenderSvgPlot(MonitorPlot(r));
    const MonitorSummary m = SummarizeSamples(r.monitor);
    o += fmt::format(
        "<p class=\"muted\">{} samples. Machine CPU avg {}%, peak {}%; watched processes CPU "
        "avg {}%, peak {}%; RSS peak {} MiB.</p>\n",
        m.samples, FormatRate(m.cpu_avg_pct), FormatRate(m.cpu_peak_pct),
        FormatRate(m.process_cpu_avg_pct), FormatRate(m.process_cpu_peak_pct),
        FormatRate(m.process_rss_peak_mb));
  }
  return o + HtmlPageEnd();
}

std::string RenderMarkdown(const Report& r) {
  std::string o = "# " + MarkdownCell(r.title) + "\n\n";
  if (!r.command.empty()) o += "`" + MarkdownCell(r.command) + "`\n\n";
  if (!r.summary.empty()) {
    Table t = {{"metric", "value"}};
    for (const auto& [k, v] : r.summary) t.push_back({k, v});
    o += MarkdownTable(t) + "\n";
  }
  if (!r.latencies.empty()) o += "## Latency\n\n" + MarkdownTable(LatencyTable(r)) + "\n";
  if (!r.levels.empty()) o += "## Load levels\n\n" + MarkdownTable(LevelTable(r)) + "\n";
  if (!r.stages.empty()) o += "## Stages\n\n" + MarkdownTable(StageTable(r)) + "\n";
  if (!r.notes.empty()) {
    o += "## Notes\n\n";
    for (const std::string& n : r.notes) o += "- " + MarkdownCell(n) + "\n";
    o += "\n";
  }
  return o;
}

Status WriteHtmlReport(const Report& report, const std::string& path) {
  const std::string html = RenderHtml(report);
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    return InvalidArgument(fmt::format("cannot write report '{}': {}", path, std::strerror(errno)));
  }
  const size_t written = std::fwrite(html.data(), 1, html.size(), f);
  const bool closed = std::fclose(f) == 0;
  if (written != html.size() || !closed) {
    return Internal(fmt::format("short write to report '{}': {}", path, std::strerror(errno)));
  }
  return Status::Ok();
}

}  // namespace kamado::perf
