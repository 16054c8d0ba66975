#include "perf/svg_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace kamado::perf {
namespace {

constexpr std::array<std::string_view, 10> kPalette = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                                       "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                                                       "#bcbd22", "#17becf"};
constexpr double kCharWidth = 6.2;  // rough width of one 11px sans-serif glyph

struct Tick {
  double value;
  std::string text;
};

// Maps data values on one axis to pixels; `p0` is the pixel of `lo`.
struct Scale {
  double lo = 0, hi = 1;
  bool log = false;
  double p0 = 0, p1 = 1;
  std::vector<Tick> ticks;

  double Map(double v) const {
    double t = log ? (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo))
                   : (v - lo) / (hi - lo);
    if (!std::isfinite(t)) t = 0;
    // Clamped so nothing is ever drawn outside the plot area.
    return p0 + std::clamp(t, 0.0, 1.0) * (p1 - p0);
  }
};

bool Usable(double v, bool log) { return std::isfinite(v) && (!log || v > 0); }

std::string FormatTick(double v) {
  if (std::abs(v) < 1e-12) return "0";
  if (std::abs(v) >= 1e6) return fmt::format("{:.4g}M", v / 1e6);
  if (std::abs(v) >= 1e4) return fmt::format("{:.4g}k", v / 1e3);
  return fmt::format("{:.6g}", v);
}

// 1, 2 or 5 × 10^k, the smallest not below `raw`.
double NiceStep(double raw) {
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * mag >= raw * (1 - 1e-9)) return m * mag;
  }
  return 10 * mag;
}

// Fills lo/hi/ticks from the data values `vs` (already filtered).
void FitScale(const PlotAxis& axis, std::vector<double> vs, Scale* s) {
  s->log = axis.log;
  if (!axis.ticks.empty()) {
    s->lo = s->hi = axis.ticks.front().first;
    for (const auto& [v, text] : axis.ticks) {
      s->lo = std::min(s->lo, v);
      s->hi = std::max(s->hi, v);
      s->ticks.push_back({v, text});
    }
    if (s->hi <= s->lo) s->hi = s->lo + 1;
    return;
  }
  double lo = vs.empty() ? (axis.log ? 1 : 0) : *std::min_element(vs.begin(), vs.end());
  double hi = vs.empty() ? (axis.log ? 10 : 1) : *std::max_element(vs.begin(), vs.end());
  if (axis.log) {
    if (hi <= lo) lo /= 2, hi *= 2;
    // Snap outward to 1-2-5 × 10^k; ticks at every such value, or at decades
    // only when the range spans more than three of them.
    const int k0 = static_cast<int>(std::floor(std::log10(lo)));
    const int k1 = static_cast<int>(std::ceil(std::log10(hi)));
    const bool decades_only = k1 - k0 > 3;
    std::vector<double> candidates;
    for (int k = k0 - 1; k <= k1; ++k) {
      for (double m : {1.0, 2.0, 5.0}) {
        if (!decades_only || m == 1.0) candidates.push_back(m * std::pow(10.0, k));
      }
    }
    double new_lo = candidates.front(), new_hi = candidates.back();
    for (double c : candidates) {
      if (c <= lo * (1 + 1e-9)) new_lo = c;
    }
    for (auto it = candidates.rbegin(); it != candidates.rend(); ++it) {
      if (*it >= hi * (1 - 1e-9)) new_hi = *it;
    }
    s->lo = new_lo;
    s->hi = new_hi;
    for (double c : candidates) {
      if (c >= s->lo * (1 - 1e-9) && c <= s->hi * (1 + 1e-9))
        s->ticks.push_back({c, FormatTick(c)});
    }
    return;
  }
  if (axis.include_zero) lo = std::min(lo, 0.0), hi = std::max(hi, 0.0);
  if (hi - lo <= 1e-12 * std::max(1.0, std::abs(hi))) {
    const double pad = hi == 0 ? 1.0 : std::abs(hi) * 0.1;
    lo = (axis.include_zero && lo >= 0) ? 0.0 : lo - pad;
    hi += pad;
  }
  const double step = NiceStep((hi - lo) / 5);
  const double first = std::floor(lo / step + 1e-9);
  const double last = std::ceil(hi / step - 1e-9);
  s->lo = first * step;
  s->hi = last * step;
  for (double i = first; i <= last + 0.5; i += 1) {
    const double v = std::abs(i) < 0.5 ? 0.0 : i * step;
    s->ticks.push_back({v, FormatTick(v)});
  }
}

struct Legend {
  std::vector<std::pair<double, double>> positions;  // per legend entry, x and baseline y
  int rows = 0;
};

Legend LayoutLegend(const PlotSpec& spec, double left, double right, double top) {
  Legend legend;
  double x = left;
  double y = top;
  for (const PlotSeries& s : spec.series) {
    if (s.label.empty()) continue;
    const double w = 26 + kCharWidth * static_cast<double>(s.label.size()) + 14;
    if (legend.rows == 0) legend.rows = 1;
    if (x + w > right && x > left) {
      x = left;
      y += 16;
      ++legend.rows;
    }
    legend.positions.push_back({x, y});
    x += w;
  }
  return legend;
}

std::string Pt(double x, double y) { return fmt::format("{:.1f},{:.1f}", x, y); }

}  // namespace

std::string_view PlotColor(int index) {
  const int n = static_cast<int>(kPalette.size());
  return kPalette[static_cast<size_t>(((index % n) + n) % n)];
}

std::string EscapeXml(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string RenderSvgPlot(const PlotSpec& spec) {
  const bool has_y2 = std::any_of(spec.series.begin(), spec.series.end(),
                                  [](const PlotSeries& s) { return s.right_axis; });
  const double w = std::max(spec.width, 200), h = std::max(spec.height, 150);
  const double left = 66, right = w - (has_y2 ? 66 : 24);
  const Legend legend = LayoutLegend(spec, left, right, 44);
  const double top = 34 + 16.0 * legend.rows + (legend.rows > 0 ? 8 : 0);
  const double bottom = h - 46;

  std::vector<double> xs, ys, y2s;
  for (const PlotSeries& s : spec.series) {
    std::vector<double>& yv = s.right_axis ? y2s : ys;
    const bool ylog = s.right_axis ? spec.y2.log : spec.y.log;
    for (const auto& [x, y] : s.points) {
      if (!Usable(x, spec.x.log) || !Usable(y, ylog)) continue;
      xs.push_back(x);
      yv.push_back(y);
    }
    for (const PlotBar& b : s.bars) {
      if (!Usable(b.x0, spec.x.log) || !Usable(b.x1, spec.x.log) || !Usable(b.y, ylog)) continue;
      xs.push_back(b.x0);
      xs.push_back(b.x1);
      yv.push_back(b.y);
      if (!ylog) yv.push_back(0);
    }
  }
  Scale sx, sy, sy2;
  FitScale(spec.x, xs, &sx);
  FitScale(spec.y, ys, &sy);
  if (has_y2) FitScale(spec.y2, y2s, &sy2);
  sx.p0 = left, sx.p1 = right;
  sy.p0 = sy2.p0 = bottom, sy.p1 = sy2.p1 = top;

  std::string o;
  const std::string title = EscapeXml(spec.title);
  o += fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" role=\"img\" aria-label=\"{2}\">\n"
      "<g font-family=\"sans-serif\" font-size=\"11\" fill=\"#333\">\n"
      "<rect x=\"0\" y=\"0\" width=\"{0}\" height=\"{1}\" fill=\"#fff\"/>\n"
      "<text class=\"plot-title\" x=\"{3}\" y=\"20\" font-size=\"14\" font-weight=\"bold\">{2}"
      "</text>\n",
      w, h, title, left);

  // Grid and ticks.
  o += "<g class=\"grid\" stroke=\"#e4e4e4\" stroke-width=\"1\">\n";
  for (const Tick& t : sx.ticks) {
    const double x = sx.Map(t.value);
    o += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\"/>\n", x,
                     top, bottom);
  }
  for (const Tick& t : sy.ticks) {
    const double y = sy.Map(t.value);
    o += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\"/>\n", left,
                     y, right);
  }
  o += "</g>\n";
  o += fmt::format(
      "<rect class=\"frame\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" "
      "fill=\"none\" stroke=\"#888\"/>\n",
      left, top, right - left, bottom - top);
  o += "<g class=\"ticks\">\n";
  for (const Tick& t : sx.ticks) {
    o += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n",
                     sx.Map(t.value), bottom + 15, EscapeXml(t.text));
  }
  for (const Tick& t : sy.ticks) {
    o += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", left - 6,
                     sy.Map(t.value) + 4, EscapeXml(t.text));
  }
  if (has_y2) {
    for (const Tick& t : sy2.ticks) {
      o += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"start\">{}</text>\n",
                       right + 6, sy2.Map(t.value) + 4, EscapeXml(t.text));
    }
  }
  o += "</g>\n";
  // Axis titles.
  o += fmt::format(
      "<text class=\"axis-label\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}"
      "</text>\n",
      (left + right) / 2, h - 10, EscapeXml(spec.x.label));
  o += fmt::format(
      "<text class=\"axis-label\" transform=\"translate(16 {:.1f}) rotate(-90)\" "
      "text-anchor=\"middle\">{}</text>\n",
      (top + bottom) / 2, EscapeXml(spec.y.label));
  if (has_y2) {
    o += fmt::format(
        "<text class=\"axis-label\" transform=\"translate({:.1f} {:.1f}) rotate(90)\" "
        "text-anchor=\"middle\">{}</text>\n",
        w - 14, (top + bottom) / 2, EscapeXml(spec.y2.label));
  }

  // Series, in order (later ones on top).
  for (const PlotSeries& s : spec.series) {
    const Scale& ys_ = s.right_axis ? sy2 : sy;
    const std::string_view color = PlotColor(s.color);
    if (s.style == PlotSeries::Style::kBars) {
      o += fmt::format("<g class=\"bars\" fill=\"{}\" fill-opacity=\"0.75\">\n", color);
      for (const PlotBar& b : s.bars) {
        if (!Usable(b.x0, sx.log) || !Usable(b.x1, sx.log) || !Usable(b.y, ys_.log) || b.y <= 0) {
          continue;
        }
        const double x0 = sx.Map(std::min(b.x0, b.x1)), x1 = sx.Map(std::max(b.x0, b.x1));
        const double y = ys_.Map(b.y);  // at least 1 px tall, so a lone outlier shows
        const double base = ys_.log ? bottom : ys_.Map(std::max(0.0, ys_.lo));
        o += fmt::format(
            "<rect class=\"bar\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\">", x0,
            std::min(y, base - 1), std::max(1.0, x1 - x0 - 0.5), std::max(1.0, base - y));
        if (!b.hover.empty()) o += "<title>" + EscapeXml(b.hover) + "</title>";
        o += "</rect>\n";
      }
      o += "</g>\n";
      continue;
    }
    std::string pts;
    for (const auto& [x, y] : s.points) {
      if (!Usable(x, sx.log) || !Usable(y, ys_.log)) continue;
      if (!pts.empty()) pts += ' ';
      pts += Pt(sx.Map(x), ys_.Map(y));
    }
    if (!pts.empty() && s.line) {
      o += fmt::format(
          "<polyline class=\"series\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.8\" "
          "stroke-linejoin=\"round\"{} points=\"{}\"/>\n",
          color, s.dashed ? " stroke-dasharray=\"6 4\"" : "", pts);
    }
    if (s.markers) {
      for (size_t i = 0; i < s.points.size(); ++i) {
        const auto [x, y] = s.points[i];
        if (!Usable(x, sx.log) || !Usable(y, ys_.log)) continue;
        const bool hollow = i < s.hollow.size() && s.hollow[i];
        o += fmt::format(
            "<circle class=\"marker\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"{}\" "
            "stroke=\"{}\" stroke-width=\"1.5\">",
            sx.Map(x), ys_.Map(y), hollow ? std::string_view("#fff") : color, color);
        if (i < s.hovers.size() && !s.hovers[i].empty()) {
          o += "<title>" + EscapeXml(s.hovers[i]) + "</title>";
        }
        o += "</circle>\n";
      }
    }
  }

  // Legend, between the title and the plot area.
  o += "<g class=\"legend\">\n";
  size_t li = 0;
  for (const PlotSeries& s : spec.series) {
    if (s.label.empty()) continue;
    const auto [x, y] = legend.positions[li++];
    const std::string_view color = PlotColor(s.color);
    if (s.style == PlotSeries::Style::kBars) {
      o += fmt::format(
          "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"18\" height=\"9\" fill=\"{}\" "
          "fill-opacity=\"0.75\"/>\n",
          x, y - 8, color);
    } else if (!s.line) {
      o += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"#fff\" stroke=\"{}\" stroke-width=\"1.5\"/>\n",
                       x + 9, y - 4, color);
    } else {
      o += fmt::format(
          "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"{3}\" "
          "stroke-width=\"2\"{4}/>\n",
          x, y - 4, x + 18, color, s.dashed ? " stroke-dasharray=\"5 3\"" : "");
    }
    o += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n", x + 24, y, EscapeXml(s.label));
  }
  o += "</g>\n</g>\n</svg>\n";
  return o;
}

}  // namespace kamado::perf
