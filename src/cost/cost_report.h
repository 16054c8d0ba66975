// `kamado cost` output: the fleets table as aligned text, Markdown, JSON and
// a self-contained HTML page with a bar chart of $/month (and the
// sensitivity table when one was swept). Pure and deterministic.
#pragma once

#include <string>
#include <vector>

#include "cost/cost_model.h"

namespace kamado::cost {

struct CostReport {
  std::string command;   // as run, shown verbatim
  std::string baseline;  // empty: no ratio column
  double slo_p99_ms = 0;  // 0: not stated
  Traffic traffic;
  std::vector<FleetCost> fleets;
  std::vector<SensitivityRow> sensitivity;
  std::vector<std::string> notes;  // assumptions and skipped types
};

std::string RenderCostText(const CostReport& report);
std::string RenderCostMarkdown(const CostReport& report);
std::string RenderCostJson(const CostReport& report);  // one JSON document
std::string RenderCostHtml(const CostReport& report);

}  // namespace kamado::cost
