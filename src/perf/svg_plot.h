// A tiny SVG chart writer for the bench/load HTML reports: one plot area with
// a linear or log x axis, a left and an optional right y axis (ticks, grid,
// labels), polylines, markers, bars and a legend. No scripts, no external
// references; hover text uses SVG <title> elements.
//
// Pure and deterministic: the same PlotSpec gives the same bytes. Non-finite
// points, and non-positive ones on a log axis, are dropped, so the output
// never contains NaN or inf. An empty or single-valued range is widened to a
// sensible one. Thread-compatible.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kamado::perf {

struct PlotAxis {
  std::string label;  // with units: "latency (ms)"
  bool log = false;   // log10 scale; ticks at 1-2-5 × 10^k or decades
  // Explicit ticks (value, text) replace the automatic ones, and their span
  // fixes the axis range (for transformed axes such as HDR percentiles).
  std::vector<std::pair<double, std::string>> ticks;
  bool include_zero = false;  // linear only: the range starts at or below 0
};

struct PlotBar {
  double x0 = 0, x1 = 0, y = 0;  // from y = 0 (or the axis bottom) up to y
  std::string hover;             // SVG <title>; empty for none
};

struct PlotSeries {
  enum class Style { kLine, kBars };
  std::string label;  // legend text; empty = not in the legend
  Style style = Style::kLine;
  std::vector<std::pair<double, double>> points;  // kLine: the polyline, in order
  std::vector<PlotBar> bars;                      // kBars
  bool markers = false;                           // kLine: a dot at each point
  bool line = true;  // kLine: the polyline; false with markers: a scatter of dots
  std::vector<std::string> hovers;                // kLine + markers: one per point (may be shorter)
  std::vector<bool> hollow;  // kLine + markers: hollow dot per point (may be shorter)
  bool dashed = false;
  bool right_axis = false;  // plotted against `PlotSpec::y2`
  int color = 0;            // index into a fixed palette (wraps)
};

struct PlotSpec {
  std::string title;  // drawn in the SVG; also the aria-label
  PlotAxis x, y;
  PlotAxis y2;  // used only when some series has right_axis
  std::vector<PlotSeries> series;
  int width = 900, height = 340;
};

// The <svg> element (with the SVG xmlns), ready to inline in HTML.
std::string RenderSvgPlot(const PlotSpec& spec);

// "&", "<", ">", '"' and "'" as entities; safe in text and attribute values.
std::string EscapeXml(std::string_view s);

// The palette colour for `index` ("#1f77b4", ...), shared with the HTML legend.
std::string_view PlotColor(int index);

}  // namespace kamado::perf
