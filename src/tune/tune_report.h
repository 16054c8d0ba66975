// What `kamado tune` writes: a terminal table, `--json` (the schema `kamado
// cost --tune` reads: slo_p99_ms, machine.vcpus, machine.cpu,
// recommended.slo_rps, date), and a self-contained HTML report (SLO
// throughput against p99 and against PSS with the Pareto fronts marked,
// every point in a table, the confirmation runs). Pure.
#pragma once

#include <string>
#include <vector>

#include "tune/search.h"

namespace kamado::tune {

struct TuneReport {
  std::string command;
  std::string model;
  std::string mode;  // "quick" or "full"
  double slo_p99_ms = 0;
  double budget_s = 0;
  int min_requests = 0;
  int vcpus = 0;            // the CPUs the search could use
  std::string cpu;          // model name
  std::vector<std::string> isa;  // "AVX2", "AVX-512", "AMX-INT8", …
  std::string date;         // ISO 8601, UTC
  std::string serve_yaml;   // where the recommendation was written
  SearchResult result;
};

std::string RenderTuneText(const TuneReport& r);
// One object; indent -1: on one line (the --json line), else pretty.
std::string RenderTuneJson(const TuneReport& r, int indent = 2);
std::string RenderTuneHtml(const TuneReport& r);

}  // namespace kamado::tune
