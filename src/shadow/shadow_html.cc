#include "shadow/shadow_html.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "perf/report.h"
#include "perf/report_tables.h"
#include "perf/svg_plot.h"
#include "serving/http/encoding.h"

namespace kamado::shadow {
namespace {

using perf::Table;

constexpr const char* kShadowStyle =
    "<style>.thumbs{display:flex;flex-wrap:wrap;gap:12px}.thumb{width:150px;font-size:12px}"
    ".thumb img{max-width:128px;max-height:128px;display:block;border:1px solid #ccc}"
    ".big{font-size:1.4em;font-weight:600}.confusion td.diag{background:#e8f4e8}"
    ".confusion td.off{background:#fdecea}</style>\n";

std::string Pct(double x) { return fmt::format("{:.2f}%", 100 * x); }
std::string Ms(double x) { return fmt::format("{:.1f}", x); }
std::string Esc(std::string_view s) { return perf::EscapeXml(s); }

std::string ErrorCell(const SideStats& s) {
  if (s.errors.empty()) return "none";
  std::string e;
  for (const auto& [kind, n] : s.errors)
    e += fmt::format("{}{} × {}", e.empty() ? "" : "; ", n, kind);
  return e;
}

std::vector<const SideStats*> Sides(const ShadowResult& r) {
  std::vector<const SideStats*> s{&r.a, &r.b};
  if (r.noise) s.push_back(&*r.noise);
  return s;
}

std::string Verdict(const ShadowResult& r) {
  const PairStats& p = r.ab;
  std::string o =
      fmt::format("<p class=\"big\">A and B give the same top-1 label on {} of {} photos ({})",
                  p.top1_agree, p.compared, Pct(p.top1_agreement));
  if (r.noise_floor) {
    o += fmt::format(
        "; A against a second instance of itself agrees on {} (the noise floor): "
        "{} of the photos disagree beyond it",
        Pct(r.noise_floor->top1_agreement),
        Pct(std::max(0.0, r.noise_floor->top1_agreement - p.top1_agreement)));
  }
  o += ".</p>\n";
  o += fmt::format(
      "<p>p50 {} ms (A) against {} ms (B); p99 {} ms against {} ms. "
      "Errors: A {} of {}, B {} of {}.</p>\n",
      Ms(r.a.latency.p50_ms), Ms(r.b.latency.p50_ms), Ms(r.a.latency.p99_ms),
      Ms(r.b.latency.p99_ms), r.a.requests - r.a.answered, r.a.requests,
      r.b.requests - r.b.answered, r.b.requests);
  return o;
}

std::string ConfusionTable(const PairStats& p) {
  std::set<std::string> a_labels, b_labels;
  for (const auto& [key, n] : p.confusion) a_labels.insert(key.first), b_labels.insert(key.second);
  std::string o = "<table class=\"confusion\"><tr><th>A's label ↓ / B's label →</th>";
  for (const auto& b : b_labels) o += "<th>" + Esc(b) + "</th>";
  o += "</tr>\n";
  for (const auto& a : a_labels) {
    o += "<tr><th>" + Esc(a) + "</th>";
    for (const auto& b : b_labels) {
      auto it = p.confusion.find({a, b});
      const uint64_t n = it == p.confusion.end() ? 0 : it->second;
      o += fmt::format("<td class=\"{}\">{}</td>",
                       a == b ? "diag"
                       : n    ? "off"
                              : "",
                       n ? std::to_string(n) : "");
    }
    o += "</tr>\n";
  }
  return o + "</table>\n";
}

std::string Usd(double x) {
  const auto whole = static_cast<long long>(x + 0.5);
  std::string digits = std::to_string(whole), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return "$" + out;
}

}  // namespace

std::string CostSentence(const CostLine& c) {
  return fmt::format(
      "B's fleet ({}): {} replicas at peak, {} a month, against A's ({}): {}, {} — {:.2f}× A's "
      "bill.",
      c.b.name, c.b.peak_replicas, Usd(c.b.usd_month), c.a.name, c.a.peak_replicas,
      Usd(c.a.usd_month), c.a.usd_month > 0 ? c.b.usd_month / c.a.usd_month : 0.0);
}

std::string RenderShadowHtml(const ShadowResult& r, const HtmlInputs& in) {
  std::string o = perf::HtmlPageStart(in.title, in.command) + kShadowStyle;
  o += Verdict(r);
  if (in.cost) o += "<p class=\"big\">" + Esc(CostSentence(*in.cost)) + "</p>\n";

  Table summary = {{"", "value"},
                   {"photos sent to each side", std::to_string(r.photos)},
                   {"elapsed", fmt::format("{:.1f} s", r.elapsed_s)},
                   {"classes", std::to_string(r.labels.size())}};
  if (!r.label_note.empty()) summary.push_back({"labels", r.label_note});
  for (const SideStats* s : Sides(r)) summary.push_back({s->name, s->url});
  o += "<h2>Summary</h2>\n" + perf::HtmlTable(summary, "summary");

  Table agree = {{"", "A vs B"}};
  if (r.noise_floor) agree[0].push_back("A vs A′ (floor)");
  auto row = [&](const std::string& name, auto f) {
    std::vector<std::string> cells{name, f(r.ab)};
    if (r.noise_floor) cells.push_back(f(*r.noise_floor));
    agree.push_back(cells);
  };
  row("photos compared", [](const PairStats& p) { return std::to_string(p.compared); });
  row("top-1 agreement", [](const PairStats& p) { return Pct(p.top1_agreement); });
  row(fmt::format("top-{} overlap", r.ab.top_k),
      [](const PairStats& p) { return Pct(p.topk_overlap); });
  row("max |Δp|", [](const PairStats& p) { return fmt::format("{:.3g}", p.max_abs_dp); });
  row("mean |Δp|", [](const PairStats& p) { return fmt::format("{:.3g}", p.mean_abs_dp); });
  row("photos that disagree",
      [](const PairStats& p) { return std::to_string(p.disagreeing_photos); });
  o += "<h2>Agreement</h2>\n" + perf::HtmlTable(agree, "agreement");
  o += "<h3>Confusion (photos by A's top-1 and B's top-1)</h3>\n" + ConfusionTable(r.ab);

  Table deltas = {{"class", "photos", "max |Δp|", "mean |Δp|", "p99 |Δp|"}};
  for (const auto& d : r.ab.per_class) {
    deltas.push_back({d.label, std::to_string(d.count), fmt::format("{:.3g}", d.max),
                      fmt::format("{:.3g}", d.mean), fmt::format("{:.3g}", d.p99)});
  }
  o += "<h3>Score differences by class</h3>\n" + perf::HtmlTable(deltas, "deltas");

  o += fmt::format("<h2>Photos that disagree ({}{})</h2>\n", r.ab.disagreeing_photos,
                   r.ab.disagreements.size() < r.ab.disagreeing_photos
                       ? fmt::format(", the first {} shown", r.ab.disagreements.size())
                       : "");
  if (r.ab.disagreements.empty()) o += "<p>None.</p>\n";
  o += "<div class=\"thumbs\">\n";
  for (const auto& d : r.ab.disagreements) {
    o += "<div class=\"thumb\">";
    if (auto t = in.thumbnails.find(d.photo); t != in.thumbnails.end()) {
      o += "<img alt=\"" + Esc(d.photo) + "\" src=\"data:image/jpeg;base64," +
           serving::http::Base64Encode(t->second) + "\"/>";
    }
    o += fmt::format("<b>{}</b><br/>A: {} ({:.3f})<br/>B: {} ({:.3f})</div>\n", Esc(d.photo),
                     Esc(d.a_label), d.a_score, Esc(d.b_label), d.b_score);
  }
  o += "</div>\n";

  Table latency = {
      {"side", "requests", "answered", "errors", "p50 ms", "p90 ms", "p99 ms", "max ms"}};
  std::vector<perf::LatencySeries> series;
  for (const SideStats* s : Sides(r)) {
    latency.push_back({s->name, std::to_string(s->requests), std::to_string(s->answered),
                       ErrorCell(*s), Ms(s->latency.p50_ms), Ms(s->latency.p90_ms),
                       Ms(s->latency.p99_ms), Ms(s->latency.max_ms)});
    series.push_back(perf::HistogramSeries(s->name, s->histogram, s->latency));
  }
  o += "<h2>Latency side by side</h2>\n" + perf::HtmlTable(latency, "latency");
  o += perf::RenderSvgPlot(perf::LatencyCdfPlot(series));
  if (in.cost) {
    Table fleets = {
        {"fleet", "type", "capacity (req/s per replica)", "replicas at peak", "a month", "× A's"}};
    for (const auto& f : in.cost->fleets) {
      const std::string role = f.name == in.cost->a.name   ? " (A)"
                               : f.name == in.cost->b.name ? " (B)"
                                                           : "";
      fleets.push_back(
          {f.name + role, f.type, fmt::format("{:.1f}", f.capacity_rps),
           std::to_string(f.peak_replicas), Usd(f.usd_month),
           fmt::format("{:.2f}×",
                       in.cost->a.usd_month > 0 ? f.usd_month / in.cost->a.usd_month : 0.0)});
    }
    o += "<h2>Cost of each fleet</h2>\n" + perf::HtmlTable(fleets, "cost");
    if (!in.cost->command.empty()) o += "<pre class=\"cmd\">" + Esc(in.cost->command) + "</pre>\n";
  }
  return o + perf::HtmlPageEnd();
}

}  // namespace kamado::shadow
