#include "tune/search_space.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "serving/cpu_budget.h"
#include "serving/inference_service.h"

namespace kamado::tune {

std::string Label(const Candidate& c) {
  std::string s = fmt::format("P{}×S{}×T{} b{}", c.workers, c.sessions, c.threads, c.max_batch);
  if (c.max_batch > 1) {
    s += c.batch_delay_us < 0 ? std::string(" d auto") : fmt::format(" d{}µs", c.batch_delay_us);
  }
  if (c.pin) s += " pin";
  if (!c.precision.empty()) s += " " + c.precision;
  return s;
}

namespace {

std::vector<int> PowersOfTwoUpTo(int n) {
  std::vector<int> v;
  for (int k = 1; k < n; k *= 2) v.push_back(k);
  v.push_back(n);
  return v;
}

// The largest value below `v` and the smallest above it in `list`.
std::vector<int> Steps(const std::vector<int>& list, int v) {
  std::vector<int> sorted = list;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::vector<int> out;
  auto above = std::upper_bound(sorted.begin(), sorted.end(), v);
  auto below = std::lower_bound(sorted.begin(), sorted.end(), v);
  if (below != sorted.begin()) out.push_back(*std::prev(below));
  if (above != sorted.end()) out.push_back(*above);
  return out;
}

Status CheckList(const std::vector<int>& v, const char* flag, int lo, int hi) {
  if (v.empty()) return InvalidArgument(fmt::format("{} needs at least one value", flag));
  for (int x : v) {
    if (x < lo || x > hi) {
      return InvalidArgument(fmt::format("{} {} is out of range [{}, {}]", flag, x, lo, hi));
    }
  }
  return Status::Ok();
}

}  // namespace

SearchSpace DefaultSpace(int cpus) {
  const int n = std::max(1, cpus);
  SearchSpace s;
  s.workers = s.sessions = s.threads = PowersOfTwoUpTo(n);
  s.max_batch = {1, 2, 4, 8};
  s.batch_delay_us = {-1, 0, 1000, 2000, 4000};
  s.pin = {false, true};
  s.precision = {""};
  return s;
}

Candidate DefaultCandidate(int cpus) {
  const serving::Parallelism p = serving::DefaultParallelism(std::max(1, cpus));
  const serving::ServiceOptions service;
  Candidate c;
  c.workers = 1;
  c.sessions = p.sessions;
  c.threads = p.threads;
  c.max_batch = service.max_batch;
  c.batch_delay_us = service.batch_delay_us;
  c.pin = service.pin;
  return Canonical(c, cpus);
}

Status ValidateSpace(const SearchSpace& space, int cpus) {
  RETURN_IF_ERROR(CheckList(space.workers, "--workers", 1, 256));
  RETURN_IF_ERROR(CheckList(space.sessions, "--sessions", 1, 256));
  RETURN_IF_ERROR(CheckList(space.threads, "--threads", 1, 256));
  RETURN_IF_ERROR(CheckList(space.max_batch, "--max-batch", 1, 256));
  RETURN_IF_ERROR(CheckList(space.batch_delay_us, "--batch-delay-us", -1, 1000000));
  if (space.pin.empty()) return InvalidArgument("--pin needs at least one value (false, true)");
  if (space.precision.empty()) return InvalidArgument("--precision needs at least one value");
  for (const std::string& p : space.precision) {
    if (p != "" && p != "fp32" && p != "bf16" && p != "int8") {
      return InvalidArgument(fmt::format("--precision '{}': expected fp32, bf16 or int8", p));
    }
  }
  for (int w : space.workers)
    for (int s : space.sessions)
      for (int t : space.threads)
        if (w * s * t <= cpus) return Status::Ok();
  return InvalidArgument(fmt::format(
      "no workers × sessions × threads from the lists fits the {} CPUs this process may use "
      "(tune never oversubscribes)",
      cpus));
}

Candidate Canonical(const Candidate& c, int cpus) {
  Candidate out = c;
  if (out.max_batch == 1) out.batch_delay_us = 0;
  if (out.workers * out.sessions == 1 && out.cpus() >= cpus) out.pin = false;
  return out;
}

std::vector<Candidate> Grid(const SearchSpace& space, int cpus, const Candidate* first) {
  std::vector<Candidate> out;
  std::set<Candidate> seen;
  auto add = [&](const Candidate& c) {
    if (c.cpus() > cpus) return;
    const Candidate k = Canonical(c, cpus);
    if (seen.insert(k).second) out.push_back(k);
  };
  if (first != nullptr) add(*first);
  for (const std::string& precision : space.precision)
    for (int w : space.workers)
      for (int s : space.sessions)
        for (int t : space.threads)
          for (int b : space.max_batch)
            for (int d : space.batch_delay_us)
              for (bool pin : space.pin) add({w, s, t, b, d, pin, precision});
  return out;
}

std::vector<Candidate> Neighbours(const Candidate& c, const SearchSpace& space, int cpus) {
  std::vector<Candidate> out;
  std::set<Candidate> seen = {Canonical(c, cpus)};
  auto add = [&](Candidate n) {
    if (n.cpus() > cpus) return;
    n = Canonical(n, cpus);
    if (seen.insert(n).second) out.push_back(n);
  };
  for (int w : space.workers)
    for (int s : space.sessions)
      for (int t : space.threads) {
        Candidate n = c;
        n.workers = w;
        n.sessions = s;
        n.threads = t;
        add(n);
      }
  for (int b : Steps(space.max_batch, c.max_batch)) {
    Candidate n = c;
    n.max_batch = b;
    // Leaving max batch 1 (no delay): the delay list's first non-zero value
    // (auto, -1, when it leads the list).
    if (c.max_batch == 1 && n.batch_delay_us == 0) {
      for (int d : space.batch_delay_us) {
        if (d != 0) {
          n.batch_delay_us = d;
          break;
        }
      }
    }
    add(n);
  }
  if (c.max_batch > 1) {
    // Auto (-1) is not a point on the delay axis (it is 2000 µs or 0, as
    // the server decides): from auto, every explicit delay; from a delay,
    // the explicit ones beside it, and auto.
    std::vector<int> explicit_delays;
    bool has_auto = false;
    for (int d : space.batch_delay_us) {
      if (d < 0) {
        has_auto = true;
      } else {
        explicit_delays.push_back(d);
      }
    }
    std::vector<int> moves = c.batch_delay_us < 0 ? explicit_delays : Steps(explicit_delays, c.batch_delay_us);
    if (c.batch_delay_us >= 0 && has_auto) moves.push_back(-1);
    for (int d : moves) {
      Candidate n = c;
      n.batch_delay_us = d;
      add(n);
    }
  }
  for (bool pin : space.pin) {
    Candidate n = c;
    n.pin = pin;
    add(n);
  }
  for (const std::string& p : space.precision) {
    Candidate n = c;
    n.precision = p;
    add(n);
  }
  return out;
}

}  // namespace kamado::tune
