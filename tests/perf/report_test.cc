// The HTML report: self-contained, well-formed, escaped, with its plots; the
// latency maths behind the plots checked on hand-made distributions.
#include "perf/report.h"
#include "perf/report_tables.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "perf/latency_distribution.h"
#include "perf/svg_plot.h"

namespace kamado::perf {
namespace {

constexpr char kNote[] = "level c=8 <did not> stabilise & \"p99\" rose";
constexpr char kEscapedNote[] = "level c=8 &lt;did not&gt; stabilise &amp; &quot;p99&quot; rose";

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + 1)) ++n;
  return n;
}

bool Contains(const std::string& s, const std::string& what) {
  return s.find(what) != std::string::npos;
}

// `word` (lower case) anywhere in `text` as a whole token, case-insensitively:
// "nan" in "NaN" or "-nan" but not in "nano".
bool ContainsToken(const std::string& text, const std::string& word) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (size_t pos = lower.find(word); pos != std::string::npos; pos = lower.find(word, pos + 1)) {
    const bool left = pos == 0 || !std::isalpha(static_cast<unsigned char>(lower[pos - 1]));
    const size_t end = pos + word.size();
    const bool right = end >= lower.size() || !std::isalpha(static_cast<unsigned char>(lower[end]));
    if (left && right) return true;
  }
  return false;
}

// Checks that tags nest and close; void HTML elements and "/>" need no end
// tag; <style> content is skipped. Returns "" or what went wrong.
std::string CheckTagBalance(const std::string& html) {
  static const std::set<std::string> kVoid = {"area", "base",  "br",   "col",  "embed",  "hr",
                                              "img",  "input", "link", "meta", "source", "wbr"};
  std::vector<std::string> stack;
  size_t pos = 0;
  while ((pos = html.find('<', pos)) != std::string::npos) {
    if (html.compare(pos, 2, "<!") == 0) {  // doctype or comment
      const size_t end =
          html.compare(pos, 4, "<!--") == 0 ? html.find("-->", pos) : html.find('>', pos);
      if (end == std::string::npos) return "unterminated <! at " + std::to_string(pos);
      pos = end + 1;
      continue;
    }
    const size_t end = html.find('>', pos);
    if (end == std::string::npos) return "unterminated tag at " + std::to_string(pos);
    std::string tag = html.substr(pos + 1, end - pos - 1);
    pos = end + 1;
    if (!tag.empty() && tag[0] == '/') {
      const std::string name = tag.substr(1);
      if (stack.empty()) return "</" + name + "> with nothing open";
      if (stack.back() != name) return "</" + name + "> closes <" + stack.back() + ">";
      stack.pop_back();
      continue;
    }
    const bool self_closing = !tag.empty() && tag.back() == '/';
    const std::string name = tag.substr(0, tag.find_first_of(" \t\n/"));
    if (name.empty() || !std::isalpha(static_cast<unsigned char>(name[0]))) {
      return "bad tag <" + tag + ">";
    }
    if (self_closing || kVoid.count(name) > 0) continue;
    if (name == "style") {
      const size_t close = html.find("</style>", pos);
      if (close == std::string::npos) return "unterminated <style>";
      pos = close + 8;
      continue;
    }
    stack.push_back(name);
  }
  if (!stack.empty()) return "<" + stack.back() + "> never closed";
  return "";
}

LatencySeries Series(const std::string& label, double scale) {
  // A skewed, deterministic distribution: a body near `scale` and a thin tail.
  LatencySeries s{label, {}, {}};
  std::vector<double> samples;
  for (int i = 1; i <= 400; ++i) {
    const double u = i / 401.0;
    const double v = scale * (1 + 0.5 * u + 4 * std::pow(u, 12));
    s.values.push_back({v, 1 + i % 3});
    samples.insert(samples.end(), 1 + i % 3, v);
  }
  s.stats = Summarize(samples);
  return s;
}

Report RealisticReport() {
  Report r;
  r.title = "kamado load: mobilenet_v2 <fp32>";
  r.command = "kamado load --model mobilenet_v2 --concurrency 1,2,4,8 --report out.html";
  r.summary = {{"requests", "48213"}, {"throughput", "402.1 req/s"}, {"p99", "31.2 ms"}};
  auto stage = [](const char* name, double mean, double p50, double p99) {
    ReportStage st{name, {}};
    st.stats.mean_ms = mean;
    st.stats.p50_ms = p50;
    st.stats.p99_ms = p99;
    return st;
  };
  r.stages = {stage("decode", 1.2, 1.1, 2.9), stage("preprocess", 0.6, 0.55, 1.4),
              stage("infer", 7.9, 7.7, 19.5)};
  const char* labels[] = {"c=1", "c=2", "c=4", "c=8"};
  for (int k = 0; k < 4; ++k) {
    r.latencies.push_back(Series(labels[k], 5.0 * (k + 1)));
    ReportLevel l;
    l.label = labels[k];
    l.offered = 1 << k;
    l.throughput_rps = 120.0 * (k + 1) - 10 * k * k;
    l.latency.p50_ms = 8 + 4 * k;
    l.latency.p90_ms = l.latency.p50_ms * 1.4;
    l.latency.p95_ms = l.latency.p50_ms * 1.6;
    l.latency.p99_ms = l.latency.p50_ms * (2 + k);
    l.latency.p999_ms = l.latency.p99_ms * 1.5;
    l.requests = 2400 * (k + 1);
    l.errors = k == 3 ? 3 : 0;
    l.stable = k != 3;
    r.levels.push_back(l);
  }
  const auto t0 = std::chrono::system_clock::time_point{} + std::chrono::hours(400000);
  for (int i = 0; i < 30; ++i) {
    Sample s;
    s.wall = t0 + std::chrono::milliseconds(500 * i);
    s.interval_s = 0.5;
    s.idle_pct = 100 - (40 + i);
    s.processes.push_back({1234, "kamado", 150.0 + i, 300.0 + 2 * i});
    r.monitor.push_back(s);
  }
  r.notes = {kNote, "warm-up: 5 s discarded"};
  return r;
}

TEST(RenderHtmlTest, IsWellFormedAndSelfContained) {
  const std::string html = RenderHtml(RealisticReport());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(CheckTagBalance(html), "");
  EXPECT_FALSE(Contains(html, "<script"));
  EXPECT_FALSE(Contains(html, "url("));
  EXPECT_FALSE(Contains(html, " src="));
  EXPECT_FALSE(Contains(html, " href="));
  // The only URLs are the SVG namespace names, one per plot.
  const size_t xmlns = Count(html, "xmlns=\"http://www.w3.org/2000/svg\"");
  EXPECT_EQ(Count(html, "http://") + Count(html, "https://"), xmlns);
  EXPECT_EQ(xmlns, Count(html, "<svg"));
}

TEST(RenderHtmlTest, HasTheFourPlotsAndTheTables) {
  const std::string html = RenderHtml(RealisticReport());
  EXPECT_EQ(Count(html, "<svg"), 4u);
  for (const char* title : {"Latency histogram", "Latency by percentile (CDF)",
                            "Latency vs throughput", "CPU and memory over time"}) {
    EXPECT_TRUE(Contains(html, std::string(">") + title + "</text>")) << title;
  }
  // Several series: step outlines, not bars; one legend entry per series.
  EXPECT_EQ(Count(html, "class=\"bar\""), 0u);
  EXPECT_TRUE(Contains(html, ">c=8</text>"));
  // Summary, stage and level rows.
  EXPECT_TRUE(Contains(html, "<td>402.1 req/s</td>"));
  EXPECT_TRUE(Contains(html, "<td>preprocess</td><td>0.60</td><td>0.55</td><td>1.40</td>"));
  EXPECT_TRUE(Contains(html, "<td>c=4</td><td>4</td><td>320.0</td><td>16.0</td>"));
  EXPECT_TRUE(Contains(html, "<td class=\"bad\">no</td>"));  // c=8 did not stabilise
  EXPECT_TRUE(Contains(html, "Hollow markers"));
  EXPECT_TRUE(Contains(html, "30 samples"));
  // Axes name their units.
  for (const char* label : {"latency (ms", "requests per bin", "achieved throughput (req/s)",
                            "CPU (%)", "RSS (MiB)", "time (s since the first sample)"}) {
    EXPECT_TRUE(Contains(html, label)) << label;
  }
}

TEST(RenderHtmlTest, EscapesUserStrings) {
  const std::string html = RenderHtml(RealisticReport());
  EXPECT_TRUE(Contains(html, kEscapedNote));
  EXPECT_FALSE(Contains(html, kNote));
  EXPECT_TRUE(Contains(html, "<h1>kamado load: mobilenet_v2 &lt;fp32&gt;</h1>"));
  EXPECT_TRUE(Contains(html, "<title>kamado load: mobilenet_v2 &lt;fp32&gt;</title>"));
}

TEST(RenderHtmlTest, IsDeterministicAndFinite) {
  const Report r = RealisticReport();
  const std::string html = RenderHtml(r);
  EXPECT_EQ(html, RenderHtml(r));
  EXPECT_FALSE(ContainsToken(html, "nan"));
  EXPECT_FALSE(ContainsToken(html, "inf"));
}

TEST(RenderHtmlTest, EmptyReportHasNoOptionalSections) {
  Report r;
  r.title = "empty";
  const std::string html = RenderHtml(r);
  EXPECT_EQ(CheckTagBalance(html), "");
  EXPECT_TRUE(Contains(html, "<h1>empty</h1>"));
  EXPECT_FALSE(Contains(html, "<svg"));
  EXPECT_FALSE(Contains(html, "<table"));
  EXPECT_FALSE(ContainsToken(html, "nan"));
}

TEST(RenderHtmlTest, DegenerateInputsStayFinite) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  constexpr double kInf = std::numeric_limits<double>::infinity();
  Report r;
  r.title = "degenerate";
  r.latencies = {{"one", {{3.0, 1}}}, {"bad", {{kNaN, 2}, {kInf, 1}, {-kInf, 1}}}, {"empty", {}}};
  ReportLevel a, b;
  a.label = "a";
  b.label = "b";
  a.latency.p99_ms = kNaN;
  b.throughput_rps = kInf;
  r.levels = {a, b};
  Sample s;
  s.idle_pct = kNaN;
  r.monitor = {s};
  const std::string html = RenderHtml(r);
  EXPECT_EQ(CheckTagBalance(html), "");
  EXPECT_EQ(Count(html, "<svg"), 4u);
  EXPECT_FALSE(ContainsToken(html, "nan")) << html;
  EXPECT_FALSE(ContainsToken(html, "inf")) << html;
}

TEST(RenderHtmlTest, OptionalPlotsNeedTheirData) {
  Report r = RealisticReport();
  r.levels.resize(1);  // one level: the table, but no latency-vs-throughput plot
  r.monitor.clear();
  const std::string html = RenderHtml(r);
  EXPECT_EQ(Count(html, "<svg"), 2u);
  EXPECT_FALSE(Contains(html, "Latency vs throughput"));
  EXPECT_FALSE(Contains(html, "CPU and memory"));
  EXPECT_TRUE(Contains(html, "<td>c=1</td><td>1</td>"));
}

TEST(RenderHtmlTest, TenEqualSamplesMakeOneBarOfTen) {
  Report r;
  r.title = "equal";
  r.latencies = {{"bench", {}}};
  for (int i = 0; i < 10; ++i) r.latencies[0].values.push_back({5.0, 1});
  const std::string html = RenderHtml(r);
  EXPECT_EQ(Count(html, "class=\"bar\""), 1u);
  EXPECT_TRUE(Contains(html, "<title>4.75–5.25 ms: 10 requests</title>")) << html;
  EXPECT_EQ(CheckTagBalance(html), "");
}

TEST(LatencyDistributionTest, NearestRankQuantilesAndCdf) {
  LatencySeries s{"x", {}};
  for (int v = 10; v >= 1; --v) s.values.push_back({v, 1});  // any order
  const LatencyDistribution d(s);
  EXPECT_EQ(d.count(), 10u);
  EXPECT_EQ(d.Quantile(0), 1);
  EXPECT_EQ(d.Quantile(0.5), 5);
  EXPECT_EQ(d.Quantile(0.9), 9);
  EXPECT_EQ(d.Quantile(0.91), 10);
  EXPECT_EQ(d.Quantile(1), 10);
  EXPECT_DOUBLE_EQ(d.mean(), 5.5);

  const std::vector<CdfPoint> cdf = d.Cdf();
  ASSERT_FALSE(cdf.empty());
  EXPECT_EQ(cdf.front().percentile, 0);
  EXPECT_EQ(cdf.front().latency_ms, 1);
  EXPECT_EQ(cdf.back().percentile, 100);
  EXPECT_EQ(cdf.back().latency_ms, 10);
  const auto p50 =
      std::find_if(cdf.begin(), cdf.end(), [](const CdfPoint& p) { return p.percentile == 50; });
  ASSERT_NE(p50, cdf.end());
  EXPECT_EQ(p50->latency_ms, 5);  // passes through (p50, median)
  for (size_t i = 1; i < cdf.size(); ++i) {
    EXPECT_GT(cdf[i].percentile, cdf[i - 1].percentile);
    EXPECT_GE(cdf[i].latency_ms, cdf[i - 1].latency_ms);
  }
}

TEST(LatencyDistributionTest, WeightedBucketsAndEmpty) {
  const LatencyDistribution d(LatencySeries{"x", {{100.0, 1}, {1.0, 99}, {7.0, 0}}});
  EXPECT_EQ(d.count(), 100u);
  EXPECT_EQ(d.Quantile(0.99), 1);
  EXPECT_EQ(d.Quantile(0.995), 100);
  EXPECT_EQ(d.max(), 100);

  const LatencyDistribution empty(LatencySeries{"e", {}});
  EXPECT_TRUE(empty.empty());
  EXPECT_TRUE(std::isnan(empty.Quantile(0.5)));
  EXPECT_TRUE(empty.Cdf().empty());
}

TEST(LatencyDistributionTest, HdrAxisGivesEachNineEqualWidth) {
  EXPECT_DOUBLE_EQ(HdrPercentileX(0), 0);
  EXPECT_NEAR(HdrPercentileX(90), 1, 1e-12);
  EXPECT_NEAR(HdrPercentileX(99), 2, 1e-12);
  EXPECT_NEAR(HdrPercentileX(99.99), 4, 1e-9);
  EXPECT_NEAR(HdrPercentileX(100), 4, 1e-9);  // clamped
}

TEST(BinLatenciesTest, AllEqualIsOneBin) {
  LatencySeries s{"x", {}};
  for (int i = 0; i < 10; ++i) s.values.push_back({5.0, 1});
  const LatencyBins h = BinLatencies({s});
  ASSERT_EQ(h.edges.size(), 2u);
  EXPECT_LT(h.edges[0], 5.0);
  EXPECT_GT(h.edges[1], 5.0);
  EXPECT_EQ(h.counts, (std::vector<std::vector<uint64_t>>{{10}}));
  EXPECT_FALSE(h.log_x);
}

TEST(BinLatenciesTest, WideRangeIsLogSpacedAndCountsEverySample) {
  LatencySeries a{"a", {}}, b{"b", {}};
  for (int i = 0; i <= 300; ++i) a.values.push_back({std::pow(10.0, i / 100.0), 1});  // 1..1000
  b.values = {{1.5, 5}, {1000.0, 1}};
  const LatencyBins h = BinLatencies({a, b});
  EXPECT_TRUE(h.log_x);
  ASSERT_EQ(h.counts.size(), 2u);
  const size_t bins = h.edges.size() - 1;
  EXPECT_EQ(bins, 14u);  // ceil(2 · ∛307)
  EXPECT_EQ(h.edges.front(), 1);
  EXPECT_EQ(h.edges.back(), 1000);
  // Equal ratios between edges.
  EXPECT_NEAR(h.edges[1] / h.edges[0], h.edges[bins] / h.edges[bins - 1], 1e-9);
  uint64_t sum_a = 0;
  for (uint64_t c : h.counts[0]) sum_a += c;
  EXPECT_EQ(sum_a, 301u);
  EXPECT_EQ(h.counts[1].front(), 5u);  // 1.5 ms is in the first bin (1 .. 1.64)
  EXPECT_EQ(h.counts[1].back(), 1u);   // the maximum goes to the last bin
}

TEST(BinLatenciesTest, NarrowRangeIsLinear) {
  LatencySeries s{"x", {}};
  for (int i = 0; i < 1000; ++i) s.values.push_back({1 + 4 * (i / 999.0), 1});
  const LatencyBins h = BinLatencies({s});
  EXPECT_FALSE(h.log_x);
  ASSERT_EQ(h.edges.size(), 21u);  // 2 · ∛1000 = 20 bins
  EXPECT_NEAR(h.edges[1] - h.edges[0], 0.2, 1e-12);
  for (uint64_t c : h.counts[0]) EXPECT_NEAR(static_cast<double>(c), 50, 1);
}

TEST(RenderSvgPlotTest, ClampsToTheCanvasAndLabelsTicks) {
  PlotSpec p;
  p.title = "t";
  p.x.label = "x (s)";
  p.y.label = "y (ms)";
  PlotSeries s;
  s.points = {{0, 1}, {10, 1000}};
  p.series = {s};
  const std::string svg = RenderSvgPlot(p);
  EXPECT_EQ(CheckTagBalance(svg), "");
  EXPECT_TRUE(Contains(svg, ">1000</text>"));
  EXPECT_TRUE(Contains(svg, ">10</text>"));
  EXPECT_TRUE(Contains(svg, "points=\"66.0,"));  // x = 0 on the left edge of the plot area
}

// A scatter (tune's configurations): dots and a dot in the legend, no line.
TEST(RenderSvgPlotTest, AScatterHasMarkersAndNoPolyline) {
  PlotSpec p;
  PlotSeries s;
  s.label = "configurations";
  s.points = {{3, 1}, {1, 2}, {2, 3}};
  s.markers = true;
  s.line = false;
  p.series = {s};
  const std::string svg = RenderSvgPlot(p);
  EXPECT_EQ(CheckTagBalance(svg), "");
  EXPECT_FALSE(Contains(svg, "<polyline"));
  size_t circles = 0;
  for (size_t at = svg.find("<circle"); at != std::string::npos; at = svg.find("<circle", at + 1)) ++circles;
  EXPECT_EQ(circles, 4u);  // three points and the legend's
  p.series[0].line = true;
  EXPECT_TRUE(Contains(RenderSvgPlot(p), "<polyline"));
}

// Terminal columns count characters, not bytes ("×" is two bytes).
TEST(TextTableTest, PadsMultiByteCellsByCharacters) {
  const std::string t = TextTable({{"a", "b"}, {"P1×S1", "1"}, {"P10S1", "22"}});
  EXPECT_EQ(t, "a       b\nP1×S1   1\nP10S1  22\n");
}

TEST(RenderMarkdownTest, HasTablesAndEscapesPipes) {
  Report r = RealisticReport();
  r.notes.push_back("a|b");
  const std::string md = RenderMarkdown(r);
  EXPECT_EQ(md.rfind("# kamado load: mobilenet_v2 <fp32>\n", 0), 0u);
  EXPECT_TRUE(Contains(md, "| metric | value |\n|---|---:|\n| requests | 48213 |"));
  EXPECT_TRUE(Contains(md, "| level | offered | throughput (req/s) |"));
  EXPECT_TRUE(Contains(md, "| c=8 | 8 | 390.0 | 20.0 |"));
  EXPECT_TRUE(Contains(md, "| stage | mean | p50 | p99 (ms) |"));
  EXPECT_TRUE(Contains(md, "| infer | 7.90 | 7.70 | 19.5 |"));
  EXPECT_TRUE(Contains(md, "| series | requests |"));
  EXPECT_TRUE(Contains(md, "- a\\|b\n"));
  EXPECT_TRUE(Contains(md, std::string("- ") + kNote));
}

TEST(WriteHtmlReportTest, WritesTheDocument) {
  const std::filesystem::path path = std::filesystem::temp_directory_path() /
                                     ("kamado_report_test_" + std::to_string(getpid()) + ".html");
  const Report r = RealisticReport();
  ASSERT_TRUE(WriteHtmlReport(r, path.string()).ok());
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), RenderHtml(r));
  std::filesystem::remove(path);
}

TEST(WriteHtmlReportTest, UnwritablePathNamesTheFile) {
  const std::string path = "/nonexistent-kamado-dir/report.html";
  const Status s = WriteHtmlReport(RealisticReport(), path);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(Contains(s.message(), path)) << s.ToString();
}

}  // namespace
}  // namespace kamado::perf
