// kamado cost: every expected figure below is worked by hand in the comment
// beside it, not recomputed with the code under test.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "cost/catalog.h"
#include "cost/cost_inputs.h"
#include "cost/cost_model.h"
#include "cost/cost_report.h"
#include "testutil/run_command.h"

namespace kamado::cost {
namespace {

InstanceType Type(const std::string& name, int vcpus, double usd_h) {
  InstanceType t;
  t.provider = "aws";
  t.type = name;
  t.region = "test-1";
  t.vcpus = vcpus;
  t.memory_gib = 8;
  t.cpu = "test";
  t.on_demand_usd_h = usd_h;
  t.source = "test";
  t.date = "2026-12-03";
  return t;
}

TEST(CostReplicas, CeilOfRateOverUsableCapacityWithFloorAndSpare) {
  // 7 req/s on 10 req/s replicas at 70%: 7 / 7 = 1 exactly (no rounding up
  // from 1.0000000000000002).
  EXPECT_EQ(ReplicasFor(7, 10, 0.7, 1, false), 1);
  EXPECT_EQ(ReplicasFor(7.01, 10, 0.7, 1, false), 2);
  EXPECT_EQ(ReplicasFor(20, 10, 0.7, 1, false), 3);  // 20 / 7 = 2.86
  EXPECT_EQ(ReplicasFor(20, 10, 0.7, 1, true), 4);   // N+1
  EXPECT_EQ(ReplicasFor(0, 10, 0.7, 0, false), 0);   // scale to zero
  EXPECT_EQ(ReplicasFor(0, 10, 0.7, 2, false), 2);   // floor
  EXPECT_EQ(ReplicasFor(1, 10, 1.0, 3, false), 3);
  EXPECT_EQ(ReplicasFor(100, 10, 1.0, 3, false), 10);
}

TEST(CostFleet, FlatTrafficMonthAndPerMillion) {
  // 20 req/s all day, 10 req/s per replica at 0.7: 3 replicas every hour.
  // $/month = 3 × 0.17 × 730 = 372.30; requests = 20 × 3600 × 730 = 52.56 M;
  // $ per 1M = 372.30 / 52.56 = 7.0833.
  auto f = CostFleet("c5.xlarge", Type("c5.xlarge", 4, 0.17), {10, "measured"}, FleetPolicy{}, FlatTraffic(20));
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->peak_replicas, 3);
  EXPECT_DOUBLE_EQ(f->instance_hours_per_day, 72);
  EXPECT_NEAR(f->usd_month, 372.30, 1e-9);
  EXPECT_NEAR(f->usd_month_at_peak, 372.30, 1e-9);
  EXPECT_NEAR(f->usd_per_million, 7.083333, 1e-5);
}

TEST(CostFleet, HourlyProfileAutoscalesHourByHour) {
  // 12 hours at 5 req/s (1 replica) and 12 at 20 req/s (3 replicas):
  // 12 + 36 = 48 instance-hours a day; $/month = 48 × 0.17 × 730 / 24 =
  // 248.20; at peak all month 3 × 0.17 × 730 = 372.30. Requests a day =
  // (12 × 5 + 12 × 20) × 3600 = 1.08 M, a month × 730/24 = 32.85 M, so
  // $ per 1M = 248.20 / 32.85 = 7.5556.
  Traffic t;
  Application a;
  a.name = "web";
  for (int h = 0; h < kHoursPerDay; ++h) a.rps[h] = h < 12 ? 5 : 20;
  t.applications.push_back(a);
  auto f = CostFleet("c5.xlarge", Type("c5.xlarge", 4, 0.17), {10, "measured"}, FleetPolicy{}, t);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->hourly_replicas[0], 1);
  EXPECT_EQ(f->hourly_replicas[23], 3);
  EXPECT_EQ(f->peak_replicas, 3);
  EXPECT_NEAR(f->usd_month, 248.20, 1e-9);
  EXPECT_NEAR(f->usd_month_at_peak, 372.30, 1e-9);
  EXPECT_NEAR(f->usd_per_million, 7.555556, 1e-5);
}

Traffic TwoApps() {
  // Two applications at 1 req/s each, floors 3 and unset.
  Traffic t;
  Application a, b;
  a.name = "food";
  a.rps.fill(1);
  a.min_replicas = 3;
  b.name = "faces";
  b.rps.fill(1);
  t.applications = {a, b};
  return t;
}

TEST(CostFleet, DedicatedFleetsAddFloorsAndSparesPerApplication) {
  FleetPolicy p;
  p.shared = false;
  p.min_replicas = 2;
  // food: max(3, ceil(1/7)=1) = 3; faces: max(2, 1) = 2 → 5.
  auto f = CostFleet("g", Type("g", 8, 1.0), {10, "stated"}, p, TwoApps());
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->peak_replicas, 5);
  // N+1 per application: 4 + 3 = 7.
  p.n_plus_one = true;
  f = CostFleet("g", Type("g", 8, 1.0), {10, "stated"}, p, TwoApps());
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->peak_replicas, 7);
  EXPECT_NEAR(f->usd_month, 7 * 1.0 * 730, 1e-9);
}

TEST(CostFleet, SharedFleetTakesTheHighestFloorOnce) {
  FleetPolicy p;  // shared, floor 1
  // 2 req/s together: ceil(2/7) = 1; the highest floor is food's 3 → 3.
  auto f = CostFleet("c", Type("c", 4, 0.17), {10, "m"}, p, TwoApps());
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->peak_replicas, 3);
  p.n_plus_one = true;  // one spare for the one fleet
  f = CostFleet("c", Type("c", 4, 0.17), {10, "m"}, p, TwoApps());
  EXPECT_EQ(f->peak_replicas, 4);
}

TEST(CostFleet, SpotShareBlendsThePrice) {
  InstanceType t = Type("c5.xlarge", 4, 0.214);
  t.spot_discount = 0.65;
  // spot = 0.214 × 0.35 = 0.0749; half on spot: 0.5 × 0.214 + 0.5 × 0.0749 = 0.14445.
  auto price = BlendedUsdPerHour(t, 0.5);
  ASSERT_TRUE(price.ok());
  EXPECT_NEAR(*price, 0.14445, 1e-12);
  t.spot_discount.reset();
  t.spot_usd_h = 0.1;
  EXPECT_NEAR(*BlendedUsdPerHour(t, 1.0), 0.1, 1e-12);
  t.spot_usd_h.reset();
  auto none = BlendedUsdPerHour(t, 0.3);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("c5.xlarge"), std::string::npos) << none.status().message();
  EXPECT_NE(none.status().message().find("no spot price"), std::string::npos);
}

TEST(CostFleet, RatiosAgainstTheBaseline) {
  // GPU: 1 replica at 0.65 → 474.5 $/month; CPU: 3 × 0.17 → 372.3; 372.3 / 474.5 = 0.78462.
  std::vector<FleetInput> in = {{"gpu", Type("g2.2xlarge", 8, 0.65), {100, "stated"}, {}},
                                {"cpu", Type("c5.xlarge", 4, 0.17), {10, "measured"}, {}}};
  auto fleets = CostFleets(in, FlatTraffic(20), "g2.2xlarge");
  ASSERT_TRUE(fleets.ok()) << fleets.status().ToString();
  EXPECT_NEAR((*fleets)[0].ratio, 1.0, 1e-12);
  EXPECT_NEAR((*fleets)[1].ratio, 372.3 / 474.5, 1e-12);
  EXPECT_FALSE(CostFleets(in, FlatTraffic(20), "p4d.24xlarge").ok());
}

TEST(CostSweep, FloorsTrafficAndSpotShare) {
  InstanceType cpu = Type("c5.xlarge", 4, 0.2);
  cpu.spot_discount = 0.5;
  FleetPolicy gpu_policy;
  gpu_policy.shared = false;
  std::vector<FleetInput> in = {{"gpu", Type("g", 8, 1.0), {100, "stated"}, gpu_policy},
                                {"cpu", cpu, {10, "measured"}, {}}};
  Sweep sweep{{0, 1}, {1}, {1, 3}};
  auto rows = SweepSensitivity(in, TwoApps(), "gpu", sweep);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 4u);
  // Floor 1, traffic ×1: GPU 2 apps × 1 = 2 replicas × 1.0 × 730 = 1460;
  // CPU (profile floor 3 still applies to the candidate) 3 × 0.2 × 730 = 438
  // on demand → 0.3; all spot 3 × 0.1 × 730 = 219 → 0.15.
  EXPECT_EQ((*rows)[0].baseline_floor, 1);
  EXPECT_NEAR((*rows)[0].baseline_usd_month, 1460, 1e-9);
  EXPECT_NEAR((*rows)[0].ratio, 0.3, 1e-12);
  EXPECT_NEAR((*rows)[1].ratio, 0.15, 1e-12);
  // Floor 3: GPU 6 replicas = 4380 → 438 / 4380 = 0.1.
  EXPECT_NEAR((*rows)[2].ratio, 0.1, 1e-12);
  EXPECT_EQ((*rows)[2].cheapest, "cpu");
}

// --- the readers ---

std::string CatalogError(const std::string& yaml) {
  auto c = ParseCatalog(yaml, "cat.yaml");
  return c.ok() ? "" : c.status().message();
}

constexpr const char* kEntry =
    "instances:\n"
    "  - provider: aws\n"
    "    type: c5.xlarge\n"
    "    region: us-east-1\n"
    "    vcpus: 4\n"
    "    memory_gib: 8\n"
    "    cpu: Intel\n"
    "    on_demand_usd_h: 0.17\n"
    "    source: test\n"
    "    date: 2026-01-19\n";

TEST(CostCatalog, ParsesAnEntry) {
  auto c = ParseCatalog(kEntry, "cat.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->types.size(), 1u);
  EXPECT_EQ(c->types[0].vcpus, 4);
  EXPECT_EQ(c->types[0].line, 2);  // where its first key is
  EXPECT_FALSE(c->types[0].has_gpu());
  EXPECT_EQ(c->Find("c5.xlarge", "us-east-1"), &c->types[0]);
}

TEST(CostCatalog, ErrorsNameTheFileLineAndField) {
  std::string yaml = kEntry;
  EXPECT_EQ(CatalogError(yaml + "    vcpu_count: 4\n"),
            "cat.yaml:11:5: unknown key 'vcpu_count' in instances[0] (known keys: provider, type, region, vcpus, "
            "memory_gib, gpu, gpus, cpu, isa, on_demand_usd_h, spot_usd_h, spot_discount, source, date)");
  std::string bad_price = yaml;
  bad_price.replace(bad_price.find("0.17"), 4, "-1");
  EXPECT_EQ(CatalogError(bad_price), "cat.yaml:8:22: instances[0].on_demand_usd_h must be in 1e-06..1e+06, got -1");
  std::string no_vcpus = yaml;
  no_vcpus.erase(no_vcpus.find("    vcpus: 4\n"), 13);
  EXPECT_EQ(CatalogError(no_vcpus), "cat.yaml:2:5: instances[0] has no 'vcpus'");
  std::string words = yaml;
  words.replace(words.find("vcpus: 4"), 8, "vcpus: four");
  EXPECT_EQ(CatalogError(words), "cat.yaml:5:12: instances[0].vcpus must be an integer, got 'four'");
  EXPECT_EQ(CatalogError(yaml + "    spot_usd_h: 0.5\n"),
            "cat.yaml:11:17: instances[0].spot_usd_h is above on_demand_usd_h (0.170000)");
  EXPECT_EQ(CatalogError(yaml + "    gpus: 1\n"), "cat.yaml:11:11: instances[0].gpus is set but 'gpu' (the GPU's name) is not");
  const std::string twice = yaml + std::string(kEntry).substr(std::string("instances:\n").size());
  EXPECT_EQ(CatalogError(twice),
            "cat.yaml:11:5: instances[1]: c5.xlarge in us-east-1 is listed twice (first on line 2)");
  EXPECT_EQ(CatalogError("instances: [\n").rfind("cat.yaml:", 0), 0u) << CatalogError("instances: [\n");
  EXPECT_EQ(CatalogError("instances: []\n"),
            "cat.yaml:1:12: 'instances' must be a non-empty list of instance types, got a list");
  EXPECT_EQ(CatalogError("types: []\n"),
            "cat.yaml:1:1: unknown key 'types' in the catalog (known keys: instances)");
}

std::string ProfileError(const std::string& yaml) {
  auto p = ParseProfile(yaml, "traffic.yaml");
  return p.ok() ? "" : p.status().message();
}

TEST(CostProfile, ApplicationsRatesAndFleets) {
  auto p = ParseProfile(
      "applications:\n"
      "  - {name: food, peak_rps: 2, min_replicas: 3}\n"
      "  - name: faces\n"
      "    hourly_rps: [1,1,1,1,1,1,1,1,1,1,1,1,2,2,2,2,2,2,2,2,2,2,2,2]\n"
      "fleets:\n"
      "  - {name: GPU as run, type: g2.2xlarge, capacity_latency_s: 0.0723, shared: false}\n"
      "  - {type: c5.xlarge, spot_share: 0.5}\n",
      "traffic.yaml");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->traffic.applications.size(), 2u);
  EXPECT_EQ(p->traffic.applications[0].min_replicas, 3);
  EXPECT_DOUBLE_EQ(p->traffic.PeakRps(), 4);
  // (24 × 2 + 12 × 1 + 12 × 2) × 3600 × 730 / 24 = 84 × 3600 × 30.4167 = 9.198 M
  EXPECT_NEAR(p->traffic.RequestsPerMonth(), 84 * 3600 * 730.0 / 24, 1e-6);
  ASSERT_EQ(p->fleets.size(), 2u);
  EXPECT_NEAR(p->fleets[0].capacity->rps, 1 / 0.0723, 1e-9);
  EXPECT_EQ(p->fleets[1].name, "c5.xlarge");
  const FleetPolicy policy = p->fleets[0].PolicyOver(FleetPolicy{});
  EXPECT_FALSE(policy.shared);
  EXPECT_EQ(p->fleets[1].PolicyOver(FleetPolicy{}).spot_share, 0.5);
}

TEST(CostProfile, ErrorsNameTheFileLineAndField) {
  EXPECT_EQ(ProfileError("hourly_rps: [1, 2, 3]\n"),
            "traffic.yaml:1:13: the profile.hourly_rps must be a list of 24 numbers, got 3 items");
  EXPECT_EQ(ProfileError("applications:\n  - {name: a, peak_rps: fast}\n"),
            "traffic.yaml:2:25: applications[0].peak_rps must be a number, got 'fast'");
  EXPECT_EQ(ProfileError("applications:\n  - {name: a}\n"),
            "traffic.yaml:2:5: applications[0] has no traffic: give 'hourly_rps' (24 rates) or 'peak_rps'");
  EXPECT_EQ(ProfileError("peak_rps: 3\nfleets:\n  - {type: c5.xlarge, spot_share: 2}\n"),
            "traffic.yaml:3:35: fleets[0].spot_share must be in 0..1, got 2");
  EXPECT_EQ(ProfileError("peak_rps: 3\nfleets:\n  - {type: a}\n  - {type: a}\n"),
            "traffic.yaml:4:5: fleets[1]: the name 'a' is used twice (first on line 3); give each fleet its own 'name'");
  std::string hours = "hourly_rps: [";
  for (int i = 0; i < 24; ++i) hours += i == 5 ? "x," : "1,";
  hours.back() = ']';
  EXPECT_EQ(ProfileError(hours + "\n"), "traffic.yaml:1:24: the profile.hourly_rps[5] must be a number, got 'x'");
}

TEST(CostInputs, TypeFiguresAndCapacityScaling) {
  auto rps = ParseTypeFigure("c5.xlarge=12.5", "--measured", "measured");
  ASSERT_TRUE(rps.ok());
  EXPECT_EQ(rps->first, "c5.xlarge");
  EXPECT_DOUBLE_EQ(rps->second.rps, 12.5);
  EXPECT_EQ(rps->second.source, "measured 12.5 req/s");
  auto latency = ParseTypeFigure("g2.2xlarge=0.0723s", "--stated", "stated");
  ASSERT_TRUE(latency.ok());
  EXPECT_NEAR(latency->second.rps, 13.831259, 1e-6);
  EXPECT_EQ(latency->second.source, "stated 0.0723 s/image, one at a time");
  for (const char* bad : {"c5.xlarge", "=3", "c5.xlarge=", "c5.xlarge=-1", "c5.xlarge=3x", "c5.xlarge=0s"}) {
    EXPECT_FALSE(ParseTypeFigure(bad, "--measured", "measured").ok()) << bad;
  }
  CapacityBasis basis;
  basis.rps = 10;
  basis.vcpus = 2;
  basis.measured_on = "here";
  auto c = CapacityFor(Type("c5.xlarge", 4, 0.17), basis);  // 10 × 4 / 2 = 20
  ASSERT_TRUE(c.ok());
  EXPECT_DOUBLE_EQ(c->rps, 20);
  EXPECT_NE(c->source.find("scaled per vCPU"), std::string::npos);
  InstanceType gpu = Type("g4dn.xlarge", 4, 0.526);
  gpu.gpu = "NVIDIA T4";
  gpu.gpus = 1;
  auto refused = CapacityFor(gpu, basis);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("--stated g4dn.xlarge="), std::string::npos);
  basis.per_type["g4dn.xlarge"] = {300, "measured"};
  EXPECT_DOUBLE_EQ(CapacityFor(gpu, basis)->rps, 300);
}

TEST(CostInputs, TuneSummaryGivesTheBasisAndNamesWhatIsMissing) {
  auto t = ParseTuneSummary(
      R"({"slo_p99_ms": 250, "date": "2026-12-03", "machine": {"vcpus": 2, "cpu": "Xeon"},
          "recommended": {"slo_rps": 14.5}})",
      "tune.json");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_DOUBLE_EQ(t->slo_rps, 14.5);
  EXPECT_EQ(t->vcpus, 2);
  EXPECT_EQ(t->cpu, "Xeon");
  auto missing = ParseTuneSummary(R"({"slo_p99_ms": 250, "machine": {"vcpus": 2}})", "tune.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "tune.json: no 'recommended'");
  // A vCPU count no int holds was converted as it stood (undefined; found by
  // fuzz_written_files).
  for (const char* vcpus : {"1e+300", "0", "2.5", "-3"}) {
    auto bad = ParseTuneSummary(std::string(R"({"slo_p99_ms": 250, "machine": {"vcpus": )") + vcpus +
                                    R"(}, "recommended": {"slo_rps": 1}})",
                                "tune.json");
    ASSERT_FALSE(bad.ok()) << vcpus;
    EXPECT_NE(bad.status().message().find("machine.vcpus must be a whole number from 1 to 1000000, got " +
                                          std::string(vcpus)),
              std::string::npos)
        << bad.status().message();
  }
  auto wrong = ParseTuneSummary(R"({"slo_p99_ms": "fast"})", "tune.json");
  EXPECT_EQ(wrong.status().message(), "tune.json: 'slo_p99_ms' must be a number, got \"fast\"");
  EXPECT_FALSE(ParseTuneSummary("[1,", "tune.json").ok());
}

TEST(CostCatalog, TheShippedCatalogHasTheTypesAndPricesTheIssueNames) {
  auto c = LoadCatalog("data/instances.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  // us-east-1 on-demand, from Karpenter's table of 2026-01-19.
  const std::vector<std::pair<std::string, double>> expected = {
      {"g2.2xlarge", 0.65},   {"c5.large", 0.085},    {"c5.xlarge", 0.17},    {"g4dn.xlarge", 0.526},
      {"g5.xlarge", 1.006},   {"g6.xlarge", 0.8048},  {"c6i.large", 0.085},   {"c6i.xlarge", 0.17},
      {"c7i.large", 0.08925}, {"c7i.xlarge", 0.1785}, {"c7a.large", 0.10264}, {"c7a.xlarge", 0.20528}};
  for (const auto& [type, price] : expected) {
    const InstanceType* t = c->Find(type, "us-east-1");
    ASSERT_NE(t, nullptr) << type;
    EXPECT_DOUBLE_EQ(t->on_demand_usd_h, price) << type;
    EXPECT_FALSE(t->source.empty());
    EXPECT_FALSE(t->date.empty());
  }
  const InstanceType* tokyo = c->Find("c5.xlarge", "ap-northeast-1");
  ASSERT_NE(tokyo, nullptr);
  EXPECT_DOUBLE_EQ(tokyo->on_demand_usd_h, 0.214);
  EXPECT_TRUE(c->Find("g2.2xlarge", "us-east-1")->has_gpu());
}

// --- the binary ---

std::string RunCost(const std::string& args, int& rc) {
  return testutil::RunCommand(std::string(KAMADO_BINARY) + " cost " + args + " 2>&1", rc);
}

TEST(CostCli, PricesEveryTypeOfTheRegionAndStatesWhereCapacitiesComeFrom) {
  int rc = 0;
  // 10 req/s measured on 2 vCPUs: a 4-vCPU type serves 20, a 2-vCPU one 10.
  // 30 req/s at 0.7: c5.xlarge ceil(30/14) = 3, c5.large ceil(30/7) = 5.
  // g2.2xlarge at 0.0723 s: 13.83 req/s → ceil(30 / 9.68) = 4.
  const std::string out = RunCost("--capacity-rps 10 --vcpus 2 --peak-rps 30 --stated g2.2xlarge=0.0723s "
                              "--baseline g2.2xlarge --format json", rc);
  ASSERT_EQ(rc, 0) << out;
  const nlohmann::json j = nlohmann::json::parse(out);
  std::map<std::string, nlohmann::json> rows;
  for (const auto& f : j["fleets"]) rows[f["type"]] = f;
  ASSERT_TRUE(rows.count("c5.xlarge") && rows.count("c5.large") && rows.count("g2.2xlarge")) << out;
  EXPECT_EQ(rows["c5.xlarge"]["peak_replicas"], 3);
  EXPECT_EQ(rows["c5.large"]["peak_replicas"], 5);
  EXPECT_EQ(rows["g2.2xlarge"]["peak_replicas"], 4);
  // 3 × 0.17 / (4 × 0.65) = 0.19615
  EXPECT_NEAR(rows["c5.xlarge"]["ratio"].get<double>(), 0.51 / 2.6, 1e-9);
  EXPECT_EQ(rows.count("g5.xlarge"), 0u);  // a GPU with no figure is left out, with a note
  bool noted = false;
  for (const auto& n : j["notes"]) noted = noted || n.get<std::string>().find("g5.xlarge left out") == 0;
  EXPECT_TRUE(noted) << j["notes"].dump();
}

TEST(CostCli, ABadProfileNamesTheFileAndLineAndExitsTwo) {
  const std::string path = (std::filesystem::temp_directory_path() / "kamado_cost_bad_profile.yaml").string();
  std::ofstream(path) << "applications:\n  - name: food\n    hourly_rps: [1, 2]\n";
  int rc = 0;
  const std::string out = RunCost("--capacity-rps 10 --vcpus 2 --profile " + path, rc);
  EXPECT_EQ(rc, 2);
  EXPECT_NE(out.find(path + ":3:17: applications[0].hourly_rps must be a list of 24 numbers, got 2 items"),
            std::string::npos)
      << out;
  std::filesystem::remove(path);
}

TEST(CostReport, HtmlHasTheChartAndEscapes) {
  CostReport r;
  r.command = "kamado cost <x>";
  r.traffic = FlatTraffic(1);
  auto f = CostFleet("a<b", Type("t", 2, 0.1), {10, "m"}, {}, r.traffic);
  ASSERT_TRUE(f.ok());
  r.fleets.push_back(*f);
  const std::string html = RenderCostHtml(r);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("a&lt;b"), std::string::npos);
  EXPECT_EQ(html.find("a<b"), std::string::npos);
  EXPECT_NE(RenderCostMarkdown(r).find("| a<b |"), std::string::npos);
}

}  // namespace
}  // namespace kamado::cost
