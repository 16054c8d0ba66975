#include "cost/cost_report.h"

#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "perf/report_tables.h"
#include "perf/svg_plot.h"

namespace kamado::cost {
namespace {

using perf::Table;

std::string Usd(double v) {
  if (!std::isfinite(v)) return "-";
  if (std::abs(v) >= 100) return fmt::format("{:.0f}", v);
  if (std::abs(v) >= 1) return fmt::format("{:.2f}", v);
  return fmt::format("{:.4f}", v);
}

std::string Ratio(double v) { return std::isfinite(v) ? fmt::format("{:.3f}", v) : "-"; }

std::string Policy(const FleetPolicy& p) {
  std::string s = p.shared ? "shared" : "per app";
  s += fmt::format(", floor {}", p.min_replicas);
  s += fmt::format(", util {:g}", p.target_utilisation);
  if (p.n_plus_one) s += ", N+1";
  if (p.spot_share > 0) s += fmt::format(", spot {:g}%", p.spot_share * 100);
  return s;
}

Table FleetTable(const CostReport& r) {
  Table t = {{"fleet", "type", "region", "vCPUs", "req/s per replica", "policy", "peak replicas",
              "avg replicas", "$/instance-h", "$/month at peak", "$/month", "$ per 1M"}};
  if (!r.baseline.empty()) t[0].push_back("× " + r.baseline);
  for (const FleetCost& f : r.fleets) {
    std::vector<std::string> row = {f.name,
                                    f.type.type,
                                    f.type.region,
                                    std::to_string(f.type.vcpus),
                                    fmt::format("{:.3g}", f.capacity.rps),
                                    Policy(f.policy),
                                    std::to_string(f.peak_replicas),
                                    fmt::format("{:.2f}", f.instance_hours_per_day / kHoursPerDay),
                                    Usd(f.usd_per_instance_hour),
                                    Usd(f.usd_month_at_peak),
                                    Usd(f.usd_month),
                                    Usd(f.usd_per_million)};
    if (!r.baseline.empty()) row.push_back(Ratio(f.ratio));
    t.push_back(std::move(row));
  }
  return t;
}

Table CapacityTable(const CostReport& r) {
  Table t = {{"fleet", "capacity source", "price source"}};
  for (const FleetCost& f : r.fleets) {
    t.push_back({f.name, f.capacity.source, f.type.source + " (" + f.type.date + ")"});
  }
  return t;
}

Table SensitivityTable(const CostReport& r) {
  Table t = {{"baseline floor per app", "traffic ×", "spot share", "cheapest fleet", "$/month", "baseline $/month",
              "ratio"}};
  for (const SensitivityRow& s : r.sensitivity) {
    t.push_back({std::to_string(s.baseline_floor), fmt::format("{:g}", s.traffic_factor),
                 fmt::format("{:g}%", s.spot_share * 100), s.cheapest, Usd(s.usd_month), Usd(s.baseline_usd_month),
                 Ratio(s.ratio)});
  }
  return t;
}

std::vector<std::string> Summary(const CostReport& r) {
  std::vector<std::string> lines;
  lines.push_back(fmt::format("traffic: {} application(s), peak {:.3g} req/s, {:.4g} M requests a month (730 h)",
                              r.traffic.applications.size(), r.traffic.PeakRps(),
                              r.traffic.RequestsPerMonth() / 1e6));
  if (r.slo_p99_ms > 0) lines.push_back(fmt::format("capacities are at p99 ≤ {:g} ms", r.slo_p99_ms));
  return lines;
}

perf::PlotSpec CostPlot(const CostReport& r) {
  perf::PlotSpec spec;
  spec.title = "$ per month (autoscaled hour by hour)";
  spec.x.label = "fleet";
  spec.y.label = "$ / month";
  spec.y.include_zero = true;
  perf::PlotSeries bars;
  bars.style = perf::PlotSeries::Style::kBars;
  bars.label = "$/month";
  for (size_t i = 0; i < r.fleets.size(); ++i) {
    const FleetCost& f = r.fleets[i];
    bars.bars.push_back({static_cast<double>(i) + 0.15, static_cast<double>(i) + 0.85, f.usd_month,
                         fmt::format("{}: ${} a month, {} replicas at peak", f.name, Usd(f.usd_month),
                                     f.peak_replicas)});
    spec.x.ticks.emplace_back(static_cast<double>(i) + 0.5, f.name);
  }
  spec.x.ticks.emplace_back(0.0, "");
  spec.x.ticks.emplace_back(static_cast<double>(r.fleets.size()), "");
  spec.series.push_back(std::move(bars));
  return spec;
}

}  // namespace

std::string RenderCostText(const CostReport& r) {
  std::string o;
  for (const std::string& l : Summary(r)) o += l + "\n";
  o += "\n" + perf::TextTable(FleetTable(r));
  o += "\n" + perf::TextTable(CapacityTable(r));
  if (!r.sensitivity.empty()) o += "\nsensitivity against " + r.baseline + ":\n" + perf::TextTable(SensitivityTable(r));
  for (const std::string& n : r.notes) o += "note: " + n + "\n";
  return o;
}

std::string RenderCostMarkdown(const CostReport& r) {
  std::string o;
  if (!r.command.empty()) o += "`" + perf::MarkdownCell(r.command) + "`\n\n";
  for (const std::string& l : Summary(r)) o += "- " + perf::MarkdownCell(l) + "\n";
  o += "\n" + perf::MarkdownTable(FleetTable(r)) + "\n" + perf::MarkdownTable(CapacityTable(r));
  if (!r.sensitivity.empty()) {
    o += "\nSensitivity against " + perf::MarkdownCell(r.baseline) + ":\n\n" + perf::MarkdownTable(SensitivityTable(r));
  }
  if (!r.notes.empty()) {
    o += "\n";
    for (const std::string& n : r.notes) o += "- " + perf::MarkdownCell(n) + "\n";
  }
  return o;
}

std::string RenderCostJson(const CostReport& r) {
  nlohmann::json j;
  j["command"] = r.command;
  if (!r.baseline.empty()) j["baseline"] = r.baseline;
  if (r.slo_p99_ms > 0) j["slo_p99_ms"] = r.slo_p99_ms;
  j["traffic"] = {{"applications", r.traffic.applications.size()},
                  {"peak_rps", r.traffic.PeakRps()},
                  {"requests_per_month", r.traffic.RequestsPerMonth()}};
  const auto number = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); };
  j["fleets"] = nlohmann::json::array();
  for (const FleetCost& f : r.fleets) {
    j["fleets"].push_back({{"name", f.name},
                           {"type", f.type.type},
                           {"region", f.type.region},
                           {"vcpus", f.type.vcpus},
                           {"capacity_rps", f.capacity.rps},
                           {"capacity_source", f.capacity.source},
                           {"shared", f.policy.shared},
                           {"min_replicas", f.policy.min_replicas},
                           {"target_utilisation", f.policy.target_utilisation},
                           {"n_plus_one", f.policy.n_plus_one},
                           {"spot_share", f.policy.spot_share},
                           {"hourly_replicas", f.hourly_replicas},
                           {"peak_replicas", f.peak_replicas},
                           {"instance_hours_per_day", f.instance_hours_per_day},
                           {"usd_per_instance_hour", f.usd_per_instance_hour},
                           {"usd_month_at_peak", f.usd_month_at_peak},
                           {"usd_month", f.usd_month},
                           {"usd_per_million", number(f.usd_per_million)},
                           {"ratio", number(f.ratio)},
                           {"price_source", f.type.source},
                           {"price_date", f.type.date}});
  }
  j["sensitivity"] = nlohmann::json::array();
  for (const SensitivityRow& s : r.sensitivity) {
    j["sensitivity"].push_back({{"baseline_floor", s.baseline_floor},
                                {"traffic_factor", s.traffic_factor},
                                {"spot_share", s.spot_share},
                                {"cheapest", s.cheapest},
                                {"usd_month", s.usd_month},
                                {"baseline_usd_month", s.baseline_usd_month},
                                {"ratio", number(s.ratio)}});
  }
  j["notes"] = r.notes;
  return j.dump(2) + "\n";
}

std::string RenderCostHtml(const CostReport& r) {
  std::string o = perf::HtmlPageStart("kamado cost", r.command);
  o += "<ul>\n";
  for (const std::string& l : Summary(r)) o += "<li>" + perf::EscapeXml(l) + "</li>\n";
  o += "</ul>\n<h2>Fleets</h2>\n";
  if (!r.fleets.empty()) o += perf::RenderSvgPlot(CostPlot(r));
  o += perf::HtmlTable(FleetTable(r), "fleets");
  o += "<h2>Where the figures come from</h2>\n" + perf::HtmlTable(CapacityTable(r), "sources");
  if (!r.sensitivity.empty()) {
    o += "<h2>Sensitivity against " + perf::EscapeXml(r.baseline) + "</h2>\n" +
         perf::HtmlTable(SensitivityTable(r), "sensitivity");
  }
  if (!r.notes.empty()) {
    o += "<h2>Notes</h2>\n<ul>\n";
    for (const std::string& n : r.notes) o += "<li>" + perf::EscapeXml(n) + "</li>\n";
    o += "</ul>\n";
  }
  return o + perf::HtmlPageEnd();
}

}  // namespace kamado::cost
