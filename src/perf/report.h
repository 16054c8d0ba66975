// Reports for `kamado bench` and `kamado load`: one self-contained HTML file
// (inline CSS and SVG, no scripts or network fetches, opens offline) and the
// same summary as Markdown for the terminal.
//
// The caller fills a Report with what it measured; rendering is pure (no I/O)
// and deterministic for the same Report. Thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "perf/hdr_histogram.h"
#include "perf/latency_stats.h"
#include "perf/monitor.h"
#include "core/status.h"

namespace kamado::perf {

// One latency distribution. `stats` is what the tables print: the caller's
// own Summarize (perf/latency_stats.h) of the samples, the very figures its
// JSON line prints. `values` draw the histogram and CDF plots: raw samples
// (count 1 each) or histogram buckets (value = the bucket's upper edge, as
// HdrHistogram::Quantile reports it). Any order.
struct LatencySeries {
  std::string label;  // "bench", "c=4", "rate=50/s"
  std::vector<std::pair<double, uint64_t>> values;  // (latency ms, count)
  LatencyStats stats;
};

// One load level of `kamado load` (or one batch size of `bench`).
struct ReportLevel {
  std::string label;   // "concurrency 4", "rate 50/s"
  double offered = 0;  // concurrency or requested rate, the x of the level
  double throughput_rps = 0;
  LatencyStats latency;
  uint64_t requests = 0, errors = 0;
  bool stable = true;  // the stability check passed
};

// A per-stage row (decode, preprocess, infer, ...).
struct ReportStage {
  std::string name;
  LatencyStats stats;
};

struct Report {
  std::string title;    // "kamado bench: inception_v3"
  std::string command;  // the command line as run, shown verbatim
  // Key/value rows of the summary table, in order ("mean", "12.3 ms").
  std::vector<std::pair<std::string, std::string>> summary;
  std::vector<ReportStage> stages;
  std::vector<LatencySeries> latencies;  // histogram + CDF, one curve each
  std::vector<ReportLevel> levels;       // latency vs throughput; may be empty
  std::vector<Sample> monitor;           // CPU% and RSS over time; may be empty
  std::vector<std::string> notes;        // e.g. "level c=8 did not stabilise"
};

// A histogram of µs as a LatencySeries: each bucket at the value
// HdrHistogram::Quantile reports for it (its upper edge, at most the max), in
// ms; `stats` is the caller's Summarize of the same histogram.
LatencySeries HistogramSeries(std::string label, const HdrHistogram& histogram_us, const LatencyStats& stats);

// The inverse-CDF plot of the reports (HDR percentile axis), one curve per
// series. In its own header for the tools that build their own page.
struct PlotSpec;
PlotSpec LatencyCdfPlot(const std::vector<LatencySeries>& series);

// The whole HTML document. Every user string is escaped.
std::string RenderHtml(const Report& report);
// Summary, stages and levels as Markdown tables.
std::string RenderMarkdown(const Report& report);
// RenderHtml to `path`; the error names the file.
Status WriteHtmlReport(const Report& report, const std::string& path);

}  // namespace kamado::perf
