// kamado tune's search on scripted measurements and a test clock: which
// configurations it measures, when it stops, what it recommends; the fronts,
// the reports and the serve.yaml it writes.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "cost/cost_inputs.h"
#include "perf/proc_stats.h"
#include "serving/serve_config.h"
#include "tune/search.h"
#include "tune/search_space.h"
#include "tune/serve_yaml.h"
#include "tune/server_process.h"
#include "tune/tune_report.h"

namespace kamado::tune {
namespace {

// Time moves only when a scripted measurement says it took so long.
class StepClock : public perf::Clock {
 public:
  TimePoint Now() override { return now_; }
  void SleepUntil(TimePoint t) override { now_ = std::max(now_, t); }
  void Advance(double s) { now_ += std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s)); }

 private:
  TimePoint now_{};
};

SearchSpace TwoCpuSpace() {
  SearchSpace s = DefaultSpace(2);
  return s;
}

TEST(SearchSpaceTest, GridNeverOversubscribesAndFoldsEquivalentSettings) {
  const SearchSpace s = DefaultSpace(2);
  EXPECT_EQ(s.workers, (std::vector<int>{1, 2}));
  const std::vector<Candidate> grid = Grid(s, 2);
  std::set<Candidate> seen;
  for (const Candidate& c : grid) {
    EXPECT_LE(c.cpus(), 2) << Label(c);
    EXPECT_TRUE(seen.insert(c).second) << "twice: " << Label(c);
    if (c.max_batch == 1) {
      EXPECT_EQ(c.batch_delay_us, 0) << Label(c);
    }
    if (c.workers * c.sessions == 1 && c.cpus() == 2) {
      EXPECT_FALSE(c.pin) << Label(c);
    }
  }
  // Splits of 2 CPUs: 1×1×1, 1×1×2, 1×2×1, 2×1×1. Per split: max batch 1
  // (one delay) + 3 batches × 5 delays; pin matters for all but 1×1×2.
  const size_t per_split = 1 + 3 * 5;
  EXPECT_EQ(grid.size(), per_split * (2 + 1 + 2 + 2));
  const Candidate d = DefaultCandidate(2);
  EXPECT_EQ(Label(d), "P1×S1×T2 b8 d auto");
  EXPECT_EQ(Grid(s, 2, &d).front(), d);
  EXPECT_EQ(Grid(s, 2, &d).size(), grid.size());  // the default is in the default space
}

TEST(SearchSpaceTest, NeighboursMoveOneSettingOneStep) {
  const SearchSpace s = DefaultSpace(2);
  const Candidate d = DefaultCandidate(2);  // 1×1×2 b8 auto
  std::set<std::string> labels;
  for (const Candidate& n : Neighbours(d, s, 2)) labels.insert(Label(n));
  EXPECT_EQ(labels, (std::set<std::string>{"P1×S1×T1 b8 d auto", "P1×S2×T1 b8 d auto", "P2×S1×T1 b8 d auto",
                                            "P1×S1×T2 b4 d auto", "P1×S1×T2 b8 d0µs", "P1×S1×T2 b8 d1000µs",
                                            "P1×S1×T2 b8 d2000µs", "P1×S1×T2 b8 d4000µs"}));
  // From max batch 1, up to 2 with the first delay of the list (auto).
  Candidate b1 = d;
  b1.max_batch = 1;
  b1 = Canonical(b1, 2);
  bool found = false;
  for (const Candidate& n : Neighbours(b1, s, 2)) found |= Label(n) == "P1×S1×T2 b2 d auto";
  EXPECT_TRUE(found);
  // A value not in its list steps to the nearest on each side.
  Candidate odd = d;
  odd.batch_delay_us = 1500;
  labels.clear();
  for (const Candidate& n : Neighbours(odd, s, 2)) {
    if (n.max_batch == 8 && n.threads == 2) labels.insert(Label(n));
  }
  EXPECT_EQ(labels, (std::set<std::string>{"P1×S1×T2 b8 d1000µs", "P1×S1×T2 b8 d2000µs", "P1×S1×T2 b8 d auto"}));
}

TEST(SearchSpaceTest, ValidationNamesTheFlag) {
  SearchSpace s = DefaultSpace(2);
  s.max_batch = {};
  EXPECT_NE(ValidateSpace(s, 2).message().find("--max-batch"), std::string::npos);
  s = DefaultSpace(2);
  s.workers = {4};
  EXPECT_NE(ValidateSpace(s, 2).message().find("never oversubscribes"), std::string::npos);
  s = DefaultSpace(2);
  s.precision = {"fp16"};
  EXPECT_NE(ValidateSpace(s, 2).message().find("--precision 'fp16'"), std::string::npos);
  EXPECT_TRUE(ValidateSpace(DefaultSpace(2), 2).ok());
}

// A made-up machine: throughput peaks at 2 workers, max batch 4, delay 1000.
double Capacity(const Candidate& c) {
  double r = 100;
  r *= c.workers == 2 ? 1.3 : c.sessions == 2 ? 1.2 : c.threads == 2 ? 1.0 : 0.6;
  r *= c.max_batch == 4 ? 1.2 : c.max_batch == 2 ? 1.1 : c.max_batch == 1 ? 0.9 : 1.0;
  r *= c.batch_delay_us == 1000 ? 1.1 : 1.0;
  return r;
}

struct Script {
  StepClock clock;
  double seconds = 30;  // each measurement
  std::map<Candidate, int> calls;
  std::vector<EvalHint> hints;  // every call's, in order
  std::function<Measurement(const Candidate&, int call)> result = [](const Candidate& c, int) {
    Measurement m;
    m.slo_rps = Capacity(c);
    m.p99_ms = 50 + c.max_batch;
    m.pss_mb = 40.0 * c.workers + 5 * c.max_batch;
    m.bracketed = true;
    return m;
  };
  Evaluator Evaluate() {
    return [this](const Candidate& c, const EvalHint& hint) {
      hints.push_back(hint);
      clock.Advance(seconds);
      return result(c, ++calls[c]);
    };
  }
};

TEST(SearchTest, QuickClimbsToThePeakAndConfirmsAgainstTheDefault) {
  Script script;
  SearchOptions o;
  o.clock = &script.clock;
  o.budget_s = 3600;
  const SearchResult r = RunSearch(TwoCpuSpace(), 2, script.Evaluate(), o);
  // Its pinned twin measures the same, later: the earlier one stands.
  EXPECT_EQ(Label(r.recommended), "P2×S1×T1 b4 d1000µs");
  EXPECT_FALSE(r.recommended_is_default);
  // A hill-climb measures far fewer than the 112 of the grid.
  EXPECT_LT(r.points.size(), 40u);
  EXPECT_EQ(r.points.front().candidate, DefaultCandidate(2));
  // Interleaved confirmation: 3 of each, the default first.
  EXPECT_EQ(r.default_runs.size(), 3u);
  EXPECT_EQ(r.recommended_runs.size(), 3u);
  EXPECT_EQ(script.calls[DefaultCandidate(2)], 4);
  EXPECT_NEAR(r.recommended_median_rps, 100 * 1.3 * 1.2 * 1.1, 1e-9);
  EXPECT_NEAR(r.default_median_rps, 100, 1e-9);
  EXPECT_FALSE(r.budget_reached);
}

// Every search measurement after the first is told the rate it must reach
// to be recommendable (the tie margin below the best so far), so a hopeless
// configuration's search can stop early; the default's first measurement and
// the confirmation measure fully.
TEST(SearchTest, EachSearchMeasurementIsToldTheRateItMustBeat) {
  Script script;
  SearchOptions o;
  o.clock = &script.clock;
  o.budget_s = 3600;
  const SearchResult r = RunSearch(TwoCpuSpace(), 2, script.Evaluate(), o);
  ASSERT_GT(script.hints.size(), 7u);
  EXPECT_EQ(script.hints.front().beat_rps, 0);
  double best = Capacity(DefaultCandidate(2));
  for (size_t i = 1; i + 6 < script.hints.size(); ++i) {
    EXPECT_EQ(script.hints[i].phase, "search");
    EXPECT_GE(script.hints[i].beat_rps, best * (1 - o.tie_pct / 100) - 1e-9) << "call " << i;
    EXPECT_LE(script.hints[i].beat_rps, 100 * 1.3 * 1.2 * 1.1) << "call " << i;
  }
  for (size_t i = script.hints.size() - 6; i < script.hints.size(); ++i) {
    EXPECT_EQ(script.hints[i].phase, "confirm");
    EXPECT_EQ(script.hints[i].beat_rps, 0) << "call " << i;
  }
  EXPECT_EQ(Label(r.recommended), "P2×S1×T1 b4 d1000µs");
}

TEST(SearchTest, WithinTheTieMarginLessMemoryWinsAndTheNoteSaysWhy) {
  // Two workers give 2% more than the default with twice the memory; one
  // thread equals the default with less: the measurement cannot tell the
  // three apart, so the smallest is recommended, and it holds up in the
  // confirmation (equal to the default, not below it).
  Script script;
  script.result = [](const Candidate& c, int) {
    Measurement m;
    m.slo_rps = c.workers == 2 ? 102 : 100;
    m.pss_mb = c.workers == 2 ? 90 : c.cpus() == 1 ? 30 : 50;
    return m;
  };
  SearchOptions o;
  o.clock = &script.clock;
  o.budget_s = 3600;
  SearchSpace s = TwoCpuSpace();
  s.max_batch = {8};
  s.batch_delay_us = {-1};
  const SearchResult r = RunSearch(s, 2, script.Evaluate(), o);
  EXPECT_EQ(Label(r.recommended), "P1×S1×T1 b8 d auto");
  EXPECT_FALSE(r.recommended_is_default);
  EXPECT_EQ(r.recommended_median_rps, r.default_median_rps);
  bool noted = false;
  for (const std::string& n : r.notes) noted |= n.find("less memory") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST(SearchTest, FullMeasuresTheWholeGridWithinItsBudget) {
  Script script;
  SearchOptions o;
  o.clock = &script.clock;
  o.mode = SearchOptions::Mode::kFull;
  o.budget_s = 1e6;
  SearchSpace s = TwoCpuSpace();
  s.batch_delay_us = {0, 1000};
  s.pin = {false};
  const SearchResult r = RunSearch(s, 2, script.Evaluate(), o);
  EXPECT_EQ(r.points.size(), Grid(s, 2, &r.default_candidate).size());
  EXPECT_EQ(r.grid_size, r.points.size());
  EXPECT_EQ(Label(r.recommended), "P2×S1×T1 b4 d1000µs");
}

TEST(SearchTest, TheBudgetStopsTheSearchAndKeepsTimeForTheConfirmation) {
  Script script;
  SearchOptions o;
  o.clock = &script.clock;
  o.mode = SearchOptions::Mode::kFull;
  o.budget_s = 600;  // 20 measurements of 30 s; the confirmation needs 6
  const SearchResult r = RunSearch(TwoCpuSpace(), 2, script.Evaluate(), o);
  EXPECT_TRUE(r.budget_reached);
  EXPECT_LE(r.elapsed_s, o.budget_s);
  EXPECT_EQ(r.default_runs.size() + r.recommended_runs.size(), 6u);
  EXPECT_EQ(r.points.size(), 14u);  // 14 × 30 + 6 × 30 = 600
  bool noted = false;
  for (const std::string& n : r.notes) noted |= n.find("budget") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST(SearchTest, AnUnstablePointIsMeasuredAgainAndTheStableResultKept) {
  Script script;
  script.result = [](const Candidate& c, int call) {
    Measurement m;
    m.slo_rps = Capacity(c);
    m.stable = !(c == DefaultCandidate(2) && call == 1);
    if (!m.stable) m.slo_rps = 500;  // an unstable outlier must not stand
    return m;
  };
  SearchOptions o;
  o.clock = &script.clock;
  o.budget_s = 3600;
  SearchSpace s = TwoCpuSpace();
  s.workers = {1};
  s.sessions = {1};
  s.threads = {2};
  s.max_batch = {8};
  s.batch_delay_us = {-1};
  const SearchResult r = RunSearch(s, 2, script.Evaluate(), o);
  ASSERT_EQ(r.points.size(), 1u);
  EXPECT_EQ(r.points[0].attempts, 2);
  EXPECT_TRUE(r.points[0].m.stable);
  EXPECT_EQ(r.points[0].m.slo_rps, 100);
  EXPECT_TRUE(r.recommended_is_default);
  EXPECT_EQ(r.default_runs.size(), 3u);  // the default alone, 3 times
}

TEST(SearchTest, ARecommendationThatDoesNotHoldUpFallsBackToTheDefault) {
  // 1×2×1 b8 looks best in the search, then measures below the default.
  Script script;
  const Candidate lucky{1, 2, 1, 8, -1, false, ""};
  script.result = [&](const Candidate& c, int call) {
    Measurement m;
    m.slo_rps = c == lucky ? (call == 1 ? 150 : 90) : c == DefaultCandidate(2) ? 100 : 50;
    return m;
  };
  SearchOptions o;
  o.clock = &script.clock;
  o.budget_s = 3600;
  SearchSpace s = TwoCpuSpace();
  s.pin = {false};
  const SearchResult r = RunSearch(s, 2, script.Evaluate(), o);
  EXPECT_EQ(r.recommended, DefaultCandidate(2));
  EXPECT_TRUE(r.recommended_is_default);
  EXPECT_EQ(r.recommended_median_rps, r.default_median_rps);
  bool noted = false;
  for (const std::string& n : r.notes) noted |= n.find("fell below the default") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST(SearchTest, AConfigurationTheServerRefusesIsRecordedNotFatal) {
  Script script;
  script.result = [](const Candidate& c, int) {
    Measurement m;
    if (c.workers == 2) {
      m.error = "kamado serve exited (status 2) before listening";
    } else {
      m.slo_rps = Capacity(c);
    }
    return m;
  };
  SearchOptions o;
  o.clock = &script.clock;
  o.budget_s = 3600;
  const SearchResult r = RunSearch(TwoCpuSpace(), 2, script.Evaluate(), o);
  EXPECT_NE(r.recommended.workers, 2);
  bool refused = false;
  for (const Point& p : r.points) refused |= !p.m.error.empty();
  EXPECT_TRUE(refused);
}

Point P(int workers, double rps, double p99, double pss, std::string error = "") {
  Point p;
  p.candidate.workers = workers;
  p.candidate.max_batch = static_cast<int>(rps);  // distinct candidates
  p.m.slo_rps = rps;
  p.m.p99_ms = p99;
  p.m.pss_mb = pss;
  p.m.error = std::move(error);
  return p;
}

TEST(SearchTest, ParetoFrontsAndTheTieRule) {
  const std::vector<Point> points = {P(1, 100, 80, 50), P(1, 120, 90, 60), P(2, 121, 70, 90), P(1, 90, 95, 40),
                                     P(1, 130, 60, 0, "refused"), P(1, 0, 0, 10)};
  // p99: 121 @70 dominates 100 @80 and 120 @90; 90 @95 is dominated too.
  EXPECT_EQ(ParetoFront(points, Cost::kP99), (std::vector<size_t>{2}));
  // memory: 90 @40, 100 @50, 120 @60, 121 @90.
  EXPECT_EQ(ParetoFront(points, Cost::kMemory), (std::vector<size_t>{3, 0, 1, 2}));
  // 120 and 121 are within 3%: the one with less memory.
  EXPECT_EQ(Recommend(points, 3), 1);
  EXPECT_EQ(Recommend(points, 0), 2);
  EXPECT_EQ(Recommend({P(1, 0, 0, 0)}, 3), -1);
  // A search cut short (its rate only a lower bound) is on no front and never
  // recommended, even within the tie margin with the least memory.
  std::vector<Point> cut = points;
  cut.push_back(P(1, 119, 50, 20));
  cut.back().m.cut_short = true;
  EXPECT_EQ(ParetoFront(cut, Cost::kMemory), (std::vector<size_t>{3, 0, 1, 2}));
  EXPECT_EQ(Recommend(cut, 3), 1);
}

TEST(ServeYamlTest, TheRecommendationParsesBackWithServesOwnParser) {
  const Candidate c{2, 1, 1, 4, 1000, true, "int8"};
  ServeYamlOptions o;
  o.models = {"models/mobilenet_v2"};
  o.port = 8081;
  o.comment = {"kamado tune: a test"};
  o.extra = {{"compile_cache", "/tmp/a b"}};
  const std::string text = ServeYaml(c, o);
  EXPECT_EQ(text.rfind("# kamado tune: a test\n", 0), 0u) << text;
  serving::ServeConfig config;
  ASSERT_TRUE(serving::ParseServeConfig(text, "serve.yaml", config).ok())
      << serving::ParseServeConfig(text, "serve.yaml", config).message() << "\n" << text;
  EXPECT_EQ(config.models, o.models);
  EXPECT_EQ(config.port, 8081);
  EXPECT_EQ(config.workers, 2);
  EXPECT_EQ(config.service.sessions, 1);
  EXPECT_EQ(config.service.threads, 1);
  EXPECT_EQ(config.service.max_batch, 4);
  EXPECT_EQ(config.service.batch_delay_us, 1000);
  EXPECT_TRUE(config.service.pin);
  EXPECT_EQ(config.service.precision, "int8");
  EXPECT_EQ(config.service.compile_cache, "/tmp/a b");
  EXPECT_TRUE(serving::ValidateServeConfig(config).ok());
  // auto delay and the model's precision: serve's defaults.
  serving::ServeConfig d;
  ASSERT_TRUE(serving::ParseServeConfig(ServeYaml(DefaultCandidate(2), o), "serve.yaml", d).ok());
  EXPECT_EQ(d.service.batch_delay_us, -1);
  EXPECT_EQ(d.service.precision, "");
}

TEST(ProcParsersTest, KbFieldsAndTheParentPid) {
  const std::string rollup = "55d0-7ffd ---p 00000000 00:00 0  [rollup]\nRss:  102400 kB\nPss:   51200 kB\n";
  EXPECT_EQ(perf::KbField(rollup, "smaps_rollup", "Pss").value(), 51200u);
  EXPECT_EQ(perf::KbField(rollup, "smaps_rollup", "Rss").value(), 102400u);
  EXPECT_NE(perf::KbField(rollup, "x", "Pss_Anon").status().message().find("field 'Pss_Anon' is missing"),
            std::string::npos);
  EXPECT_EQ(ParsePpid("123 (kamado (w) x) S 77 123 123 0", "stat").value(), 77);
  EXPECT_FALSE(ParsePpid("123 kamado S 77", "stat").ok());
  EXPECT_FALSE(ParsePpid("123 (kamado) S x", "stat").ok());
}

TEST(TuneReportTest, JsonIsWhatCostReadsAndHtmlNamesEveryPoint) {
  Script script;
  SearchOptions o;
  o.clock = &script.clock;
  o.budget_s = 3600;
  TuneReport report;
  report.command = "kamado tune --model m";
  report.model = "mobilenet_v2";
  report.mode = "quick";
  report.slo_p99_ms = 100;
  report.vcpus = 2;
  report.cpu = "Test CPU <&>";
  report.date = "2026-12-03T00:00:00Z";
  report.result = RunSearch(TwoCpuSpace(), 2, script.Evaluate(), o);
  const std::string json = RenderTuneJson(report);
  auto summary = cost::ParseTuneSummary(json, "tune.json");
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  EXPECT_NEAR(summary->slo_rps, report.result.recommended_median_rps, 1e-9);
  EXPECT_EQ(summary->vcpus, 2);
  EXPECT_EQ(summary->slo_p99_ms, 100);
  EXPECT_EQ(summary->date, report.date);
  const auto j = nlohmann::json::parse(json);
  EXPECT_EQ(j["points"].size(), report.result.points.size());
  const std::string html = RenderTuneHtml(report);
  EXPECT_NE(html.find("Test CPU &lt;&amp;&gt;"), std::string::npos);
  EXPECT_EQ(html.find("Test CPU <&>"), std::string::npos);
  for (const Point& p : report.result.points) EXPECT_NE(html.find(Label(p.candidate)), std::string::npos);
  EXPECT_NE(html.find("Pareto front"), std::string::npos);
  EXPECT_NE(RenderTuneText(report).find("recommended"), std::string::npos);
}

}  // namespace
}  // namespace kamado::tune
