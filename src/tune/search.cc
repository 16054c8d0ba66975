#include "tune/search.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace kamado::tune {

double MedianRps(const std::vector<Measurement>& runs) {
  if (runs.empty()) return 0;
  std::vector<double> v;
  for (const Measurement& m : runs) v.push_back(m.slo_rps);
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int Recommend(const std::vector<Point>& points, double tie_pct) {
  double best = 0;
  for (const Point& p : points) {
    if (p.m.error.empty()) best = std::max(best, p.m.slo_rps);
  }
  if (best <= 0) return -1;
  int chosen = -1;
  for (size_t i = 0; i < points.size(); ++i) {
    const Point& p = points[i];
    if (!p.m.error.empty() || p.m.cut_short || p.m.slo_rps < best * (1 - tie_pct / 100)) continue;
    if (chosen < 0) {
      chosen = static_cast<int>(i);
      continue;
    }
    const Point& c = points[chosen];
    const auto key = [](const Point& x) {
      return std::make_tuple(x.m.pss_mb, x.m.p99_ms, -x.m.slo_rps);
    };
    if (key(p) < key(c)) chosen = static_cast<int>(i);
  }
  return chosen;
}

std::vector<size_t> ParetoFront(const std::vector<Point>& points, Cost cost) {
  auto cost_of = [cost](const Point& p) { return cost == Cost::kP99 ? p.m.p99_ms : p.m.pss_mb; };
  std::vector<size_t> front;
  for (size_t i = 0; i < points.size(); ++i) {
    const Point& a = points[i];
    // A search cut short knows only a lower bound of its rate: not on a front.
    if (!a.m.error.empty() || a.m.slo_rps <= 0 || a.m.cut_short) continue;
    bool dominated = false;
    for (size_t j = 0; j < points.size() && !dominated; ++j) {
      const Point& b = points[j];
      if (j == i || !b.m.error.empty() || b.m.slo_rps <= 0 || b.m.cut_short) continue;
      const bool no_worse = b.m.slo_rps >= a.m.slo_rps && cost_of(b) <= cost_of(a);
      const bool better = b.m.slo_rps > a.m.slo_rps || cost_of(b) < cost_of(a);
      // Of two identical points, the earlier one stands for both.
      const bool same_earlier = !better && no_worse && j < i;
      dominated = (no_worse && better) || same_earlier;
    }
    if (!dominated) front.push_back(i);
  }
  std::sort(front.begin(), front.end(), [&](size_t x, size_t y) {
    return points[x].m.slo_rps < points[y].m.slo_rps;
  });
  return front;
}

namespace {

std::string Describe(const Measurement& m) {
  if (!m.error.empty()) return "not measured: " + m.error;
  if (m.cut_short) {
    return fmt::format("cannot beat the best so far: failed at or below it ({} probes, {:.0f} s; {:.1f} req/s passed)",
                       m.probes, m.seconds, m.slo_rps);
  }
  if (m.slo_rps <= 0) return fmt::format("no probed rate met the SLO ({} probes)", m.probes);
  return fmt::format("{:.1f} req/s within the SLO (p99 {:.1f} ms, {:.0f}% CPU, PSS {:.0f} MiB; {} probes, {:.0f} s{}{})",
                     m.slo_rps, m.p99_ms, m.cpu_pct, m.pss_mb, m.probes, m.seconds,
                     m.bracketed ? "" : ", no failing rate above it", m.stable ? "" : ", UNSTABLE");
}

// In the search each configuration finds its own start (a short closed-loop
// level): a neighbour's SLO rate can be far from the current point's (28
// against 75 req/s measured), and every probe below the bound costs its
// ≥ 300 requests at a low rate. Its capacity is close above the start.
const EvalHint kSearchHint{0, 1.25, "search"};
// The confirmation measures the same way, from scratch: each run is then an
// independent sample (not anchored on the search's figure, which may have
// been lucky).
const EvalHint kConfirmHint{0, 1.25, "confirm"};

class Search {
 public:
  Search(const SearchSpace& space, int cpus, const Evaluator& evaluate, const SearchOptions& options)
      : space_(space),
        cpus_(cpus),
        evaluate_(evaluate),
        options_(options),
        clock_(options.clock ? *options.clock : perf::SystemClock()),
        t0_(clock_.Now()) {}

  SearchResult Run() {
    out_.default_candidate = DefaultCandidate(cpus_);
    out_.grid_size = Grid(space_, cpus_, &out_.default_candidate).size();
    Log(fmt::format("{} configurations fit {} CPUs; {} search, budget {:.0f} s", out_.grid_size, cpus_,
                    options_.mode == SearchOptions::Mode::kQuick ? "quick (hill-climb)" : "full (grid)",
                    options_.budget_s));
    Measure(out_.default_candidate, kSearchHint);
    if (options_.mode == SearchOptions::Mode::kFull) {
      RunGrid();
    } else {
      HillClimb();
    }
    const int best = Recommend(out_.points, options_.tie_pct);
    if (best < 0) {
      out_.recommended = out_.default_candidate;
      out_.recommended_is_default = true;
      out_.notes.push_back("no configuration met the SLO at any probed rate: the default is written, "
                           "but the SLO is not reachable with these settings on this machine");
    } else {
      out_.recommended = out_.points[best].candidate;
      double top = 0;
      for (const Point& p : out_.points) top = std::max(top, p.m.error.empty() ? p.m.slo_rps : 0);
      if (out_.points[best].m.slo_rps < top) {
        out_.notes.push_back(fmt::format(
            "{} ({:.1f} req/s) is within {:g}% of the highest measured ({:.1f} req/s), a difference the "
            "measurement cannot resolve, and holds less memory (PSS): the search's choice, which the confirmation "
            "against the default then decides",
            Label(out_.points[best].candidate), out_.points[best].m.slo_rps, options_.tie_pct, top));
      }
      Confirm(out_.points[best]);
    }
    out_.elapsed_s = Elapsed();
    return std::move(out_);
  }

 private:
  double Elapsed() const { return perf::SecondsBetween(t0_, clock_.Now()); }
  void Log(const std::string& line) const {
    if (options_.log) options_.log(line);
  }

  // Mean seconds of a measurement so far (search and confirmation apart).
  double Estimate(bool confirm) const {
    const std::vector<double>& v = confirm && !confirm_seconds_.empty() ? confirm_seconds_ : search_seconds_;
    if (v.empty()) return 0;
    double sum = 0;
    for (double s : v) sum += s;
    return sum / v.size();
  }
  // Whether one more search measurement still leaves the confirmation its
  // time: 2 × rounds measurements, each estimated as a search one until one ran.
  bool SearchFits() const {
    const double est = Estimate(false);
    const double reserve = 2.0 * options_.confirm_rounds * est;
    return Elapsed() + est + reserve <= options_.budget_s;
  }

  Measurement Once(const Candidate& c, const EvalHint& hint, std::vector<double>& seconds) {
    const auto start = clock_.Now();
    Measurement m = evaluate_(c, hint);
    seconds.push_back(perf::SecondsBetween(start, clock_.Now()));
    return m;
  }

  // Measures `c` (again when its level at the SLO rate was unstable) and
  // records it; returns its index in out_.points.
  size_t Measure(const Candidate& c, const EvalHint& hint) {
    Point p{c, Once(c, hint, search_seconds_), 1};
    Log(fmt::format("[{}] {}: {}", out_.points.size() + 1, Label(c), Describe(p.m)));
    if (p.m.error.empty() && !p.m.stable && SearchFits()) {
      Measurement again = Once(c, hint, search_seconds_);
      p.attempts = 2;
      Log(fmt::format("    unstable, measured again: {}", Describe(again)));
      // The stable one; of two unstable ones the lower (the conservative figure).
      if (again.error.empty() && (again.stable || again.slo_rps < p.m.slo_rps)) p.m = again;
    }
    out_.points.push_back(std::move(p));
    visited_.insert(c);
    return out_.points.size() - 1;
  }

  bool OutOfBudget(size_t left) {
    if (SearchFits()) return false;
    out_.budget_reached = true;
    out_.notes.push_back(fmt::format(
        "the budget ({:.0f} s) stopped the search after {} configurations, {} left unmeasured "
        "(a measurement takes ~{:.0f} s here; the confirmation keeps {} of them)",
        options_.budget_s, out_.points.size(), left, Estimate(false), 2 * options_.confirm_rounds));
    Log(out_.notes.back());
    return true;
  }

  // The search hint for the next configuration: it must reach the tie margin
  // below the best rate so far to be recommendable (Recommend), so a probe
  // failing at or below that ends its search early.
  EvalHint SearchHint() const {
    EvalHint h = kSearchHint;
    for (const Point& p : out_.points) {
      if (p.m.error.empty()) h.beat_rps = std::max(h.beat_rps, p.m.slo_rps * (1 - options_.tie_pct / 100));
    }
    return h;
  }

  void RunGrid() {
    const std::vector<Candidate> grid = Grid(space_, cpus_, &out_.default_candidate);
    for (size_t i = 0; i < grid.size(); ++i) {
      if (visited_.count(grid[i])) continue;
      if (OutOfBudget(grid.size() - i)) return;
      Measure(grid[i], SearchHint());
    }
  }

  void HillClimb() {
    size_t current = 0;  // the default
    for (int step = 1;; ++step) {
      std::vector<Candidate> moves;
      for (const Candidate& n : Neighbours(out_.points[current].candidate, space_, cpus_)) {
        if (!visited_.count(n)) moves.push_back(n);
      }
      if (moves.empty()) {
        Log(fmt::format("step {}: every neighbour of {} measured; stop", step,
                        Label(out_.points[current].candidate)));
        return;
      }
      Log(fmt::format("step {}: from {}, {} neighbours", step, Label(out_.points[current].candidate),
                      moves.size()));
      size_t best = current;
      for (size_t k = 0; k < moves.size(); ++k) {
        if (OutOfBudget(moves.size() - k)) return;
        const size_t i = Measure(moves[k], SearchHint());
        if (out_.points[i].m.error.empty() && out_.points[i].m.slo_rps > out_.points[best].m.slo_rps) best = i;
      }
      const double here = out_.points[current].m.slo_rps;
      if (best == current || out_.points[best].m.slo_rps <= here * (1 + options_.min_gain_pct / 100)) {
        Log(fmt::format("step {}: no neighbour beats {} by more than {:g}%; stop", step,
                        Label(out_.points[current].candidate), options_.min_gain_pct));
        return;
      }
      current = best;
    }
  }

  void Confirm(const Point& best) {
    const Point& def = out_.points[0];
    const bool same = best.candidate == def.candidate;
    out_.recommended_is_default = same;
    for (int r = 0; r < options_.confirm_rounds; ++r) {
      const double need = (same ? 1 : 2) * Estimate(true);
      if (r > 0 && Elapsed() + need > options_.budget_s) {
        out_.notes.push_back(fmt::format("the budget left time for {} of {} confirmation rounds", r,
                                         options_.confirm_rounds));
        break;
      }
      const EvalHint dh = kConfirmHint;
      out_.default_runs.push_back(Once(def.candidate, dh, confirm_seconds_));
      Log(fmt::format("confirm {}/{}: default {}: {}", r + 1, options_.confirm_rounds, Label(def.candidate),
                      Describe(out_.default_runs.back())));
      if (!same) {
        const EvalHint rh = kConfirmHint;
        out_.recommended_runs.push_back(Once(best.candidate, rh, confirm_seconds_));
        Log(fmt::format("confirm {}/{}: best {}: {}", r + 1, options_.confirm_rounds, Label(best.candidate),
                        Describe(out_.recommended_runs.back())));
      }
    }
    if (same) out_.recommended_runs = out_.default_runs;
    out_.default_median_rps = MedianRps(out_.default_runs);
    out_.recommended_median_rps = MedianRps(out_.recommended_runs);
    if (same) {
      out_.notes.push_back(fmt::format(
          "the search's best configuration is the default one ({}): nothing measured beat it by more "
          "than {:g}%, so the recommendation equals the default",
          Label(def.candidate), options_.tie_pct));
    } else if (out_.recommended_median_rps < out_.default_median_rps) {
      out_.notes.push_back(fmt::format(
          "{} measured {:.1f} req/s in the search but its confirmation median ({:.1f}) fell below the "
          "default's ({:.1f}): the default is recommended",
          Label(best.candidate), best.m.slo_rps, out_.recommended_median_rps, out_.default_median_rps));
      out_.recommended = def.candidate;
      out_.recommended_is_default = true;
      out_.recommended_runs = out_.default_runs;
      out_.recommended_median_rps = out_.default_median_rps;
    }
  }

  const SearchSpace& space_;
  const int cpus_;
  const Evaluator& evaluate_;
  const SearchOptions& options_;
  perf::Clock& clock_;
  const perf::Clock::TimePoint t0_;
  std::set<Candidate> visited_;
  std::vector<double> search_seconds_, confirm_seconds_;
  SearchResult out_;
};

}  // namespace

SearchResult RunSearch(const SearchSpace& space, int cpus, const Evaluator& evaluate,
                       const SearchOptions& options) {
  return Search(space, cpus, evaluate, options).Run();
}

}  // namespace kamado::tune
