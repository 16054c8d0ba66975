// The configurations `kamado tune` measures: workers × sessions × threads
// within the CPUs, pinning, the dynamic batcher's max batch and delay, and
// the precision — and which of them are neighbours for the quick search.
//
// Pure functions over values.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace kamado::tune {

// One `kamado serve` configuration.
struct Candidate {
  int workers = 1;
  int sessions = 1;
  int threads = 1;
  int max_batch = 8;
  int batch_delay_us = -1;  // -1: serve's auto (2000 µs where batching pays, else 0)
  bool pin = false;
  std::string precision;  // "": each model's kamado.yaml (else fp32)

  int cpus() const { return workers * sessions * threads; }
  auto operator<=>(const Candidate&) const = default;
};

// "P1×S1×T2 b8 d2000µs" ("d auto" for -1; + " pin", + " int8"): short, for
// tables and logs.
std::string Label(const Candidate& c);

// The lists a search draws from (flags such as `--workers 1,2`).
struct SearchSpace {
  std::vector<int> workers, sessions, threads, max_batch, batch_delay_us;
  std::vector<bool> pin;
  std::vector<std::string> precision;
};

// For `cpus` CPUs: workers, sessions and threads each 1, 2, 4, … up to
// `cpus` (and `cpus` itself); max batch 1, 2, 4, 8; delay auto (-1, serve's
// default), 0, 1000, 2000, 4000 µs; pin off and on; the model's own precision.
SearchSpace DefaultSpace(int cpus);

// What `kamado serve` runs with no flags on `cpus` CPUs: one worker,
// serving::DefaultParallelism's split, the service's default batching, no
// pinning, the model's precision. The baseline tune must beat.
Candidate DefaultCandidate(int cpus);

// Every list non-empty and in range, at least one P × S × T that fits
// `cpus`; InvalidArgument naming the flag.
Status ValidateSpace(const SearchSpace& space, int cpus);

// `c` with the settings that cannot change what the server does folded to
// one value, so equivalent configurations are measured once: max batch 1
// has no delay (0); pinning needs more than one process or session, or fewer
// CPUs than `cpus`, to restrict anything (else off).
Candidate Canonical(const Candidate& c, int cpus);

// The full grid: every combination whose P × S × T ≤ `cpus` (never
// oversubscribed), canonical and without duplicates, `first` (when given)
// at the front, then in the lists' order.
std::vector<Candidate> Grid(const SearchSpace& space, int cpus, const Candidate* first = nullptr);

// The quick search's moves from `c`, canonical, distinct, fitting `cpus`
// and not `c` itself: every other P × S × T split the lists allow (there are
// few); max batch and delay one step down and up in their (sorted) lists —
// a value not in its list steps to the nearest on each side; the delay's
// auto (-1) to every explicit delay and back; pin toggled; each other
// precision.
std::vector<Candidate> Neighbours(const Candidate& c, const SearchSpace& space, int cpus);

}  // namespace kamado::tune
