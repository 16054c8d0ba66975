#include "perf/load_generator.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <future>
#include <latch>
#include <limits>
#include <mutex>
#include <random>
#include <thread>

namespace kamado::perf {
namespace {

using TimePoint = Clock::TimePoint;

// One request. Times are seconds after the level's t0.
struct Record {
  double start_s;  // intended send time (open loop) or actual send (closed)
  double sent_s;
  double done_s;
  int status;  // HTTP status; 0 = no response
};

bool IsSuccess(int status) { return status >= 200 && status < 300; }

double SecondsSince(TimePoint t0, TimePoint t) { return SecondsBetween(t0, t); }

TimePoint At(TimePoint t0, double s) {
  return t0 + std::chrono::duration_cast<Clock::Duration>(std::chrono::duration<double>(s));
}

// Shared between the controlling thread and the workers of one level.
struct LevelState {
  std::atomic<uint64_t> completed{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> next{0};  // payload index (closed) or arrival index (open)
  std::mutex mu;
  std::condition_variable cv;
  int finished = 0;  // workers done; mu held
};

// What a worker does once the clock has started: send and append records.
using WorkerBody = std::function<void(Sender& sender, TimePoint t0, LevelState& state,
                                      std::vector<Record>& records)>;

Clock& ClockOf(const LoadOptions& options) {
  return options.clock ? *options.clock : SystemClock();
}

// Creates `workers` senders, opens them in parallel on their threads, starts
// the clock once all are open, runs `body` on each and reports progress until
// all have finished. Returns every record. The workers are the clock's
// participants; this thread only watches (its progress polling is real time).
Result<std::vector<Record>> RunWorkers(const SenderFactory& factory, int workers,
                                       const LoadOptions& options, const ProgressCallback& progress,
                                       LevelState& state, const WorkerBody& body) {
  Clock& clock = ClockOf(options);
  std::vector<std::unique_ptr<Sender>> senders;
  for (int i = 0; i < workers; ++i) {
    senders.push_back(factory());
    if (!senders.back()) return Internal("the sender factory returned null");
  }
  std::vector<std::vector<Record>> records(static_cast<size_t>(workers));
  std::vector<Status> opened(static_cast<size_t>(workers));
  std::latch all_open(workers);
  std::promise<TimePoint> start;
  std::shared_future<TimePoint> start_future = start.get_future().share();
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(workers));
  for (int i = 0; i < workers; ++i) {
    clock.Join();  // before the thread exists, so no participant is ever missed
    threads.emplace_back([&, i] {
      const auto w = static_cast<size_t>(i);
      opened[w] = senders[w]->Open();
      all_open.count_down();
      const TimePoint t0 = start_future.get();
      if (t0 != TimePoint::min()) {
        clock.SleepUntil(t0);  // every worker starts at t0, none before
        body(*senders[w], t0, state, records[w]);
      }
      clock.Leave();
      std::lock_guard<std::mutex> lock(state.mu);
      ++state.finished;
      state.cv.notify_all();
    });
  }
  all_open.wait();
  Status failed;
  for (const Status& s : opened) {
    if (!s.ok()) {
      failed = s;
      break;
    }
  }
  // A short lead so every worker is waiting on the future when the clock starts.
  const TimePoint t0 =
      failed.ok() ? clock.Now() + std::chrono::milliseconds(5) : TimePoint::min();
  start.set_value(t0);
  const double total_s = options.warmup_s + options.duration_s;
  {
    std::unique_lock<std::mutex> lock(state.mu);
    while (state.finished < workers) {
      state.cv.wait_for(lock, std::chrono::milliseconds(100));
      if (progress && failed.ok()) {
        LoadProgress p;
        p.elapsed_s = std::max(0.0, SecondsSince(t0, clock.Now()));
        p.total_s = total_s;
        p.warming_up = p.elapsed_s < options.warmup_s;
        p.completed = state.completed.load();
        p.errors = state.errors.load();
        lock.unlock();
        progress(p);
        lock.lock();
      }
    }
  }
  for (auto& t : threads) t.join();
  if (!failed.ok()) return failed;
  std::vector<Record> all;
  for (auto& r : records) all.insert(all.end(), r.begin(), r.end());
  return all;
}

// Turns the records of one level into its statistics (see the header for
// what is measured and how windows are cut).
LevelResult Aggregate(const std::vector<Record>& records, const LoadOptions& options) {
  LevelResult out;
  const int n_windows = std::max(1, options.windows);
  const double m0 = options.warmup_s;
  const double m1 = options.warmup_s + options.duration_s;
  const double window_s = options.duration_s / n_windows;
  std::vector<HdrHistogram> window_hist(static_cast<size_t>(n_windows));
  std::vector<uint64_t> window_ok(static_cast<size_t>(n_windows), 0);
  HdrHistogram lag;
  uint64_t ok_in_period = 0;
  auto window_of = [&](double t) {
    return std::clamp(static_cast<int>((t - m0) / window_s), 0, n_windows - 1);
  };
  for (const Record& r : records) {
    const bool ok = IsSuccess(r.status);
    const bool done_in_period = r.done_s >= m0 && r.done_s < m1;
    if (ok && done_in_period) {
      ++ok_in_period;
      ++window_ok[static_cast<size_t>(window_of(r.done_s))];
    }
    if (r.start_s < m0 || r.start_s >= m1) continue;
    ++out.requests;
    if (!ok) {
      ++out.errors;
      ++out.errors_by_status[r.status];
      continue;
    }
    const double latency_us = (r.done_s - r.start_s) * 1e6;
    out.histogram.Record(latency_us);
    lag.Record((r.sent_s - r.start_s) * 1e6);
    if (done_in_period) window_hist[static_cast<size_t>(window_of(r.done_s))].Record(latency_us);
  }
  out.measured_s = options.duration_s;
  out.throughput_rps = options.duration_s > 0 ? ok_in_period / options.duration_s : 0;
  out.latency = Summarize(out.histogram);
  out.send_lag_p99_ms = lag.Quantile(0.99) / 1e3;
  for (int i = 0; i < n_windows; ++i) {
    const auto w = static_cast<size_t>(i);
    out.windows.push_back(
        {window_ok[w] / window_s, window_hist[w].Quantile(0.99) / 1e3, window_hist[w].Count()});
  }
  out.stability_note = CheckStability(out.windows, options.stability_pct, options.stability_p99);
  out.stable = out.stability_note.empty();
  return out;
}

// Runs the workers and turns their records into the level's result.
Result<LevelResult> RunLevel(const SenderFactory& factory, int workers, const LoadOptions& options,
                             const ProgressCallback& progress, LevelState& state,
                             const WorkerBody& body, LoadMode mode, double offered) {
  ASSIGN_OR_RETURN(auto records, RunWorkers(factory, workers, options, progress, state, body));
  LevelResult out = Aggregate(records, options);
  out.mode = mode;
  out.offered = offered;
  out.connections = workers;
  return out;
}

Status ValidateCommon(const std::vector<Payload>& payloads, const LoadOptions& options) {
  if (payloads.empty()) return InvalidArgument("no payloads to send");
  if (!(options.duration_s > 0)) return InvalidArgument("duration must be positive");
  if (options.warmup_s < 0) return InvalidArgument("warm-up must not be negative");
  if (options.windows < 1) return InvalidArgument("windows must be at least 1");
  return Status::Ok();
}

}  // namespace

Result<std::vector<double>> ArrivalSchedule(double rate, double span_s, Arrivals arrivals,
                                            uint64_t seed) {
  if (!(rate > 0) || !std::isfinite(rate)) {
    return InvalidArgument(fmt::format("rate must be positive, got {}", rate));
  }
  if (rate * span_s > 5e7) {
    return InvalidArgument(
        fmt::format("rate {}/s over {} s is more than 50 million requests", rate, span_s));
  }
  std::vector<double> t;
  t.reserve(static_cast<size_t>(rate * span_s * 1.1) + 16);
  if (arrivals == Arrivals::kConstant) {
    for (uint64_t k = 0;; ++k) {
      const double s = static_cast<double>(k) / rate;
      if (s >= span_s) break;
      t.push_back(s);
    }
    return t;
  }
  // Poisson process: independent exponential gaps with mean 1/rate.
  std::mt19937_64 rng(seed);
  std::exponential_distribution<double> gap(rate);
  for (double s = gap(rng); s < span_s; s += gap(rng)) t.push_back(s);
  return t;
}

std::string CheckStability(const std::vector<WindowStats>& windows, double stability_pct, bool p99) {
  if (windows.empty()) return "no measurement windows";
  const size_t n = std::min<size_t>(3, windows.size());
  const auto last = std::vector<WindowStats>(windows.end() - static_cast<long>(n), windows.end());
  for (size_t i = 0; i < n; ++i) {
    if (last[i].count == 0) {
      return fmt::format("window {} of {} had no successful completions",
                         windows.size() - n + i + 1, windows.size());
    }
  }
  const double tol = stability_pct / 100.0;
  std::string note;
  auto check = [&](const char* what, const char* unit, auto get) {
    double sum = 0, lo = std::numeric_limits<double>::infinity(), hi = 0;
    for (const WindowStats& w : last) {
      sum += get(w);
      lo = std::min(lo, get(w));
      hi = std::max(hi, get(w));
    }
    const double mean = sum / static_cast<double>(n);
    if (hi - mean > tol * mean || mean - lo > tol * mean) {
      if (!note.empty()) note += "; ";
      note += fmt::format("{} varied {:.3g}–{:.3g} {} over the last {} windows (±{:g}% allowed)",
                          what, lo, hi, unit, n, stability_pct);
    }
  };
  check("throughput", "req/s", [](const WindowStats& w) { return w.throughput_rps; });
  if (p99) check("p99", "ms", [](const WindowStats& w) { return w.p99_ms; });
  uint64_t fewest = last[0].count;
  for (const WindowStats& w : last) fewest = std::min(fewest, w.count);
  if (!note.empty() && fewest < 100) {
    note += fmt::format(
        " (as few as {} requests per window: a longer duration gives steadier windows)", fewest);
  }
  return note;
}

Result<LevelResult> RunClosedLoop(const SenderFactory& factory,
                                  const std::vector<Payload>& payloads, int concurrency,
                                  const LoadOptions& options, const ProgressCallback& progress) {
  RETURN_IF_ERROR(ValidateCommon(payloads, options));
  if (concurrency < 1 || concurrency > 4096) {
    return InvalidArgument(fmt::format("concurrency must be in 1..4096, got {}", concurrency));
  }
  const double end_s = options.warmup_s + options.duration_s;
  LevelState state;
  Clock& clock = ClockOf(options);
  auto body = [&](Sender& sender, TimePoint t0, LevelState& st, std::vector<Record>& records) {
    const TimePoint end = At(t0, end_s);
    for (TimePoint now = clock.Now(); now < end; now = clock.Now()) {
      const Payload& p = payloads[st.next.fetch_add(1) % payloads.size()];
      const int status = sender.Send(p);
      const TimePoint done = clock.Now();
      const double start_s = SecondsSince(t0, now);
      records.push_back({start_s, start_s, SecondsSince(t0, done), status});
      st.completed.fetch_add(1);
      if (!IsSuccess(status)) st.errors.fetch_add(1);
    }
  };
  return RunLevel(factory, concurrency, options, progress, state, body, LoadMode::kClosedLoop,
                  concurrency);
}

Result<LevelResult> RunOpenLoop(const SenderFactory& factory, const std::vector<Payload>& payloads,
                                double rate, const LoadOptions& options,
                                const ProgressCallback& progress) {
  RETURN_IF_ERROR(ValidateCommon(payloads, options));
  const double end_s = options.warmup_s + options.duration_s;
  ASSIGN_OR_RETURN(const std::vector<double> schedule,
                   ArrivalSchedule(rate, end_s, options.arrivals, options.seed));
  int connections = options.connections;
  if (connections <= 0) connections = std::clamp(static_cast<int>(std::ceil(rate / 10)), 64, 512);
  if (connections > 4096) {
    return InvalidArgument(fmt::format("connections must be at most 4096, got {}", connections));
  }
  LevelState state;
  // Workers take arrivals in order, so a free worker always holds the earliest
  // unsent one; when all are busy, arrivals wait and the wait is counted.
  Clock& clock = ClockOf(options);
  auto body = [&](Sender& sender, TimePoint t0, LevelState& st, std::vector<Record>& records) {
    const TimePoint drain_deadline = At(t0, end_s + options.drain_timeout_s);
    for (uint64_t k = st.next.fetch_add(1); k < schedule.size(); k = st.next.fetch_add(1)) {
      const double intended_s = schedule[k];
      TimePoint now = clock.Now();
      if (now > drain_deadline) {  // give up on the backlog: no response
        const double t = SecondsSince(t0, now);
        records.push_back({intended_s, t, t, 0});
        st.completed.fetch_add(1);
        st.errors.fetch_add(1);
        continue;
      }
      clock.SleepUntil(At(t0, intended_s));
      now = clock.Now();
      const int status = sender.Send(payloads[k % payloads.size()]);
      records.push_back(
          {intended_s, SecondsSince(t0, now), SecondsSince(t0, clock.Now()), status});
      st.completed.fetch_add(1);
      if (!IsSuccess(status)) st.errors.fetch_add(1);
    }
  };
  return RunLevel(factory, connections, options, progress, state, body, LoadMode::kOpenLoop, rate);
}

Result<MaxRateResult> FindMaxRate(const SenderFactory& factory,
                                  const std::vector<Payload>& payloads,
                                  const MaxRateOptions& search, const LoadOptions& options,
                                  const std::function<void(double rate)>& on_probe,
                                  const ProgressCallback& progress) {
  if (!(search.p99_ms > 0)) return InvalidArgument("the p99 bound must be positive");
  if (!(search.initial_rate > 0)) return InvalidArgument("the initial rate must be positive");
  if (!(search.growth > 1)) return InvalidArgument("the search's growth factor must be above 1");
  if (search.min_requests < 0) return InvalidArgument("min_requests must not be negative");
  MaxRateResult out;
  const double inf = std::numeric_limits<double>::infinity();
  double pass = 0, fail = inf;  // highest passing and lowest failing rate so far
  double rate = search.initial_rate;
  for (int i = 0; i < search.max_probes && rate >= search.min_rate; ++i) {
    if (on_probe) on_probe(rate);
    LoadOptions probe = options;
    probe.duration_s = std::max(options.duration_s, search.min_requests / rate);
    ASSIGN_OR_RETURN(LevelResult level, RunOpenLoop(factory, payloads, rate, probe, progress));
    const bool ok = level.requests > 0 && level.errors == 0 && level.latency.p99_ms <= search.p99_ms;
    out.probes.push_back({rate, ok, std::move(level)});
    if (ok) {
      pass = std::max(pass, rate);
    } else {
      fail = std::min(fail, rate);
      if (rate <= search.hopeless_at) {
        out.hopeless = true;
        break;
      }
    }
    if (pass > 0 && fail < inf && (fail - pass) / pass <= search.precision) break;
    if (fail == inf) {
      rate = pass * search.growth;
    } else if (pass == 0) {
      rate = fail / 2;
    } else {
      rate = (pass + fail) / 2;
    }
  }
  out.max_rate = pass;
  out.bracketed = pass > 0 && fail < inf;
  return out;
}

}  // namespace kamado::perf
