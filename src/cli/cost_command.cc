#include "cli/cost_command.h"

#include <cmath>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "core/file_util.h"
#include "cost/catalog.h"
#include "cost/cost_inputs.h"
#include "cost/cost_model.h"
#include "cost/cost_report.h"

namespace kamado::cli {
namespace {

struct CostArgs {
  std::string catalog = "data/instances.yaml";
  std::string region = "us-east-1";
  std::vector<std::string> types;
  std::string tune;
  double capacity_rps = 0;
  int vcpus = 0;
  std::string measured_on;
  std::vector<std::string> measured, stated;
  double peak_rps = -1;
  std::string profile;
  double slo_p99_ms = 0;
  cost::FleetPolicy policy;
  bool dedicated = false;
  std::string baseline;
  bool sweep = false;
  std::vector<double> sweep_spot{0, 0.5, 0.8}, sweep_traffic{0.5, 1, 2};
  std::vector<int> sweep_floor{1, 2, 3};
  std::string format = "text";
  std::string output;
  std::string command;
};

int Fail(const Status& s) {
  std::cerr << "kamado cost: " << s.message() << "\n";
  return 2;
}

int RunCost(CostArgs args) {
  auto catalog = cost::LoadCatalog(args.catalog);
  if (!catalog.ok()) return Fail(catalog.status());

  if ((args.peak_rps >= 0) == !args.profile.empty()) {
    return Fail(InvalidArgument("give the traffic as --peak-rps P or --profile FILE (one of them)"));
  }
  cost::Profile profile;
  if (!args.profile.empty()) {
    auto p = cost::LoadProfile(args.profile);
    if (!p.ok()) return Fail(p.status());
    profile = std::move(*p);
  } else {
    profile.traffic = cost::FlatTraffic(args.peak_rps);
  }

  cost::CapacityBasis basis;
  std::vector<std::string> notes;
  if (!args.tune.empty()) {
    if (args.capacity_rps > 0) return Fail(InvalidArgument("--tune and --capacity-rps both give the capacity: give one"));
    auto t = cost::LoadTuneSummary(args.tune);
    if (!t.ok()) return Fail(t.status());
    if (args.slo_p99_ms > 0 && std::abs(args.slo_p99_ms - t->slo_p99_ms) > 1e-9) {
      return Fail(InvalidArgument(fmt::format("--slo-p99-ms {:g} differs from the SLO {} was tuned for ({:g} ms)",
                                              args.slo_p99_ms, args.tune, t->slo_p99_ms)));
    }
    args.slo_p99_ms = t->slo_p99_ms;
    basis.rps = t->slo_rps;
    basis.vcpus = t->vcpus;
    basis.measured_on = "kamado tune on " + (t->cpu.empty() ? std::string("its machine") : t->cpu) +
                        (t->date.empty() ? "" : ", " + t->date);
  } else if (args.capacity_rps > 0) {
    if (args.vcpus <= 0) return Fail(InvalidArgument("--capacity-rps needs --vcpus (the vCPUs it was measured with)"));
    basis.rps = args.capacity_rps;
    basis.vcpus = args.vcpus;
    basis.measured_on = args.measured_on;
  }
  for (const auto& [flag, list, what] : {std::tuple{"--measured", &args.measured, "measured"},
                                         std::tuple{"--stated", &args.stated, "stated"}}) {
    for (const std::string& text : *list) {
      auto f = cost::ParseTypeFigure(text, flag, what);
      if (!f.ok()) return Fail(f.status());
      basis.per_type[f->first] = f->second;
    }
  }

  args.policy.shared = !args.dedicated;
  auto inputs = cost::ChooseFleets(*catalog, args.region, args.types, profile.fleets, basis, args.policy, notes);
  if (!inputs.ok()) return Fail(inputs.status());
  auto fleets = cost::CostFleets(*inputs, profile.traffic, args.baseline);
  if (!fleets.ok()) return Fail(fleets.status());

  cost::CostReport report;
  report.command = args.command;
  report.baseline = args.baseline;
  report.slo_p99_ms = args.slo_p99_ms;
  report.traffic = profile.traffic;
  report.fleets = std::move(*fleets);
  report.notes = std::move(notes);
  std::string scaled;
  for (const cost::FleetCost& f : report.fleets) {
    if (f.capacity.source.rfind("scaled", 0) == 0) scaled += (scaled.empty() ? "" : ", ") + f.name;
  }
  if (!scaled.empty()) {
    report.notes.push_back("capacity scaled per vCPU for " + scaled +
                           ": that assumes the speed per vCPU (ISA, clock) where it was measured; measure on "
                           "the type and give --measured TYPE=R where it matters");
  }
  if (args.sweep) {
    cost::Sweep sweep{args.sweep_spot, args.sweep_traffic, args.sweep_floor};
    auto rows = cost::SweepSensitivity(*inputs, profile.traffic, args.baseline, sweep);
    if (!rows.ok()) return Fail(rows.status());
    report.sensitivity = std::move(*rows);
  }

  std::string text;
  if (args.format == "text") {
    text = cost::RenderCostText(report);
  } else if (args.format == "markdown") {
    text = cost::RenderCostMarkdown(report);
  } else if (args.format == "json") {
    text = cost::RenderCostJson(report);
  } else {
    text = cost::RenderCostHtml(report);
  }
  if (args.output.empty()) {
    std::cout << text << std::flush;
    return 0;
  }
  if (Status written = WriteFileAtomically(args.output, text); !written.ok()) return Fail(written);
  std::cerr << "kamado cost: wrote " << args.output << "\n";
  return 0;
}

}  // namespace

void AddCostCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<CostArgs>();
  CLI::App* cmd = app.add_subcommand(
      "cost", "Replicas and the monthly bill for a traffic profile on each instance type of a catalog");
  cmd->add_option("--catalog", args->catalog, "Instance catalog (YAML)")->capture_default_str();
  cmd->add_option("--region", args->region, "Region of the catalog to price in")->capture_default_str();
  cmd->add_option("--types", args->types, "Instance types to cost (default: every one in the region)")
      ->delimiter(',');
  cmd->add_option("--tune", args->tune, "A kamado tune --json result: the capacity and its machine");
  cmd->add_option("--capacity-rps", args->capacity_rps, "Measured requests/s per replica within the SLO");
  cmd->add_option("--vcpus", args->vcpus, "vCPUs of the machine --capacity-rps was measured on");
  cmd->add_option("--measured-on", args->measured_on, "What --capacity-rps was measured on (shown)");
  cmd->add_option("--measured", args->measured, "TYPE=REQ_PER_S (or TYPE=SECONDSs) measured on that type");
  cmd->add_option("--stated", args->stated, "TYPE=REQ_PER_S or TYPE=SECONDSs from a published figure");
  cmd->add_option("--peak-rps", args->peak_rps, "Traffic: one rate all day");
  cmd->add_option("--profile", args->profile, "Traffic profile (YAML: 24 hourly rates, applications, fleets)");
  cmd->add_option("--slo-p99-ms", args->slo_p99_ms, "The p99 the capacities are measured at (shown; checked against --tune)");
  cmd->add_option("--target-utilisation", args->policy.target_utilisation, "Most a replica is loaded")
      ->check(CLI::Range(0.01, 1.0))
      ->capture_default_str();
  cmd->add_flag("--n-plus-one", args->policy.n_plus_one, "One spare replica per fleet");
  cmd->add_option("--min-replicas", args->policy.min_replicas, "Replica floor (per application with --dedicated)")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  cmd->add_flag("--dedicated", args->dedicated, "A fleet per application instead of one shared fleet");
  cmd->add_option("--spot-share", args->policy.spot_share, "Share of instance-hours on spot")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--baseline", args->baseline, "Fleet (or type) the ratio column divides by");
  cmd->add_flag("--sweep", args->sweep, "Add a sensitivity table against --baseline");
  cmd->add_option("--sweep-spot-share", args->sweep_spot, "Spot shares of the sweep")->delimiter(',')->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--sweep-traffic", args->sweep_traffic, "Traffic factors of the sweep")->delimiter(',')->check(CLI::PositiveNumber);
  cmd->add_option("--sweep-floor", args->sweep_floor, "Baseline replica floors per application of the sweep")
      ->delimiter(',')
      ->check(CLI::Range(0, 100000));
  cmd->add_option("--format", args->format, "text, markdown, json or html")
      ->check(CLI::IsMember({"text", "markdown", "json", "html"}))
      ->capture_default_str();
  cmd->add_option("-o,--output", args->output, "Write here instead of standard output");
  cmd->callback([args, &exit_code, cmd] {
    // The command as given (options in declaration order), for the report.
    std::string command = "kamado cost";
    for (const CLI::Option* o : cmd->get_options()) {
      if (o->count() == 0) continue;
      command += " " + o->get_name();
      if (o->get_items_expected_max() == 0) continue;  // a flag
      std::string values;
      for (const std::string& r : o->results()) values += (values.empty() ? "" : ",") + r;
      command += " " + values;
    }
    CostArgs run = *args;
    run.command = command;
    exit_code = RunCost(std::move(run));
  });
}

}  // namespace kamado::cli
