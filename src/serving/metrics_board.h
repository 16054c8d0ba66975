// MetricsBoard: how the workers of `kamado serve --workers P` show whole-
// server metrics whichever of them answers a scrape.
//
// The supervisor creates a shared memory segment (a memfd, inherited by the
// workers; its descriptor number in KAMADO_METRICS_FD) of P slots. Each
// worker publishes its own Prometheus text (Metrics::RenderLocal) to its
// slot every `period` (and at once when it is ready); a scrape answers the
// sum of its own fresh text and every other slot published within
// `max_age` (SumPrometheusTexts), plus kamado_workers (P) and
// kamado_workers_ready (the slots that are fresh: workers alive and
// serving). When a worker exits, the supervisor retires its slot (Retire)
// before starting its replacement: the counters and histograms of its last
// publication are added to the slot's retired part, which every sum
// includes, and its gauges are dropped — so the server's totals never go
// down when a worker is replaced (what a dead worker counted in its last
// publication period is lost with it).
//
// Slots are seqlocks: the writer makes the sequence odd, writes, makes it
// even; a reader copies and retries while the sequence moved or was odd. A
// slot has one writer at a time: its worker while it lives, the supervisor
// (Retire) after it has exited and before its replacement starts.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"

namespace kamado::serving {

inline constexpr const char* kMetricsFdEnv = "KAMADO_METRICS_FD";

class MetricsBoard {
 public:
  static constexpr size_t kSlotBytes = size_t{256} << 10;
  // Of which, for the retired part (the rest is the live text).
  static constexpr size_t kRetiredBytes = size_t{96} << 10;

  // Supervisor: a fresh segment of `workers` slots; fd() is inheritable.
  static Result<std::unique_ptr<MetricsBoard>> Create(int workers);
  // Worker: the segment named by KAMADO_METRICS_FD; null when not set.
  static Result<std::unique_ptr<MetricsBoard>> FromEnv();
  ~MetricsBoard();

  int fd() const { return fd_; }
  int workers() const { return workers_; }

  // Writes `text` (cut at the slot size) to slot `index`, stamped now.
  void Publish(int index, const std::string& text);
  // The texts of the slots published within `max_age`, `except` left out,
  // and how many slots (with `except`) are fresh.
  std::vector<std::string> ReadFresh(int except, std::chrono::milliseconds max_age, int* fresh) const;
  // The retired parts of every slot (those not empty).
  std::vector<std::string> ReadRetired() const;
  // Own text (published as it is read) summed with the others' and every
  // retired part, with the worker gauges.
  std::string Aggregate(int index, const std::string& local, std::chrono::milliseconds max_age);
  // Supervisor, after worker `index` has exited: its last publication's
  // counters join the slot's retired part; the slot is then not fresh.
  void Retire(int index);

 private:
  struct Slot;
  MetricsBoard(int fd, int workers, void* base);
  Slot* slot(int i) const;
  // One consistent copy of a slot (seqlock): publication time (0: never or
  // retired), live text, retired part. False when a writer kept it busy.
  static bool ReadSlot(const Slot* s, int64_t* at, std::string* text, std::string* retired);

  int fd_;
  int workers_;
  void* base_;
};

// Publishes `render()` to `board` slot `index` every `period` until destroyed.
class MetricsPublisher {
 public:
  MetricsPublisher(MetricsBoard* board, int index, std::chrono::milliseconds period,
                   std::function<std::string()> render);
  ~MetricsPublisher();

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace kamado::serving
