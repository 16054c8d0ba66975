#include "serving/metrics_board.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "serving/metrics.h"

namespace kamado::serving {
namespace {

int64_t MonotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);  // one clock for every process of the host
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

struct MetricsBoard::Slot {
  std::atomic<uint64_t> seq;
  std::atomic<int64_t> published_ns;
  std::atomic<uint32_t> bytes;
  std::atomic<uint32_t> retired_bytes;
  char retired[kRetiredBytes];
  char text[kSlotBytes - 24 - kRetiredBytes];
};
static_assert(sizeof(std::atomic<uint64_t>) == 8 && std::atomic<uint64_t>::is_always_lock_free);

Result<std::unique_ptr<MetricsBoard>> MetricsBoard::Create(int workers) {
  const int fd = memfd_create("kamado-metrics", 0);  // no MFD_CLOEXEC: the workers inherit it
  if (fd < 0) return Unavailable(std::string("memfd_create: ") + std::strerror(errno));
  const size_t bytes = kSlotBytes * static_cast<size_t>(workers);
  if (ftruncate(fd, static_cast<off_t>(bytes)) != 0) {
    close(fd);
    return Unavailable(std::string("ftruncate: ") + std::strerror(errno));
  }
  void* base = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    close(fd);
    return Unavailable(std::string("mmap: ") + std::strerror(errno));
  }
  return std::unique_ptr<MetricsBoard>(new MetricsBoard(fd, workers, base));
}

Result<std::unique_ptr<MetricsBoard>> MetricsBoard::FromEnv() {
  const char* env = std::getenv(kMetricsFdEnv);
  if (env == nullptr) return std::unique_ptr<MetricsBoard>();
  const int fd = std::atoi(env);
  const off_t bytes = lseek(fd, 0, SEEK_END);
  if (bytes <= 0 || bytes % static_cast<off_t>(kSlotBytes) != 0) {
    return InvalidArgument(std::string(kMetricsFdEnv) + " does not name a metrics segment");
  }
  void* base = mmap(nullptr, static_cast<size_t>(bytes), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) return Unavailable(std::string("mmap: ") + std::strerror(errno));
  return std::unique_ptr<MetricsBoard>(
      new MetricsBoard(fd, static_cast<int>(bytes / static_cast<off_t>(kSlotBytes)), base));
}

MetricsBoard::MetricsBoard(int fd, int workers, void* base) : fd_(fd), workers_(workers), base_(base) {}

MetricsBoard::~MetricsBoard() {
  munmap(base_, kSlotBytes * static_cast<size_t>(workers_));
  close(fd_);
}

MetricsBoard::Slot* MetricsBoard::slot(int i) const {
  static_assert(sizeof(Slot) == kSlotBytes);
  return reinterpret_cast<Slot*>(static_cast<char*>(base_) + kSlotBytes * static_cast<size_t>(i));
}

void MetricsBoard::Publish(int index, const std::string& text) {
  if (index < 0 || index >= workers_) return;
  Slot* s = slot(index);
  const size_t n = std::min(text.size(), sizeof(s->text));
  const uint64_t seq = s->seq.load(std::memory_order_relaxed);
  s->seq.store(seq + 1, std::memory_order_relaxed);  // odd: writing
  std::atomic_thread_fence(std::memory_order_release);
  std::memcpy(s->text, text.data(), n);
  s->bytes.store(static_cast<uint32_t>(n), std::memory_order_relaxed);
  s->published_ns.store(MonotonicNs(), std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  s->seq.store(seq + 2, std::memory_order_release);
}

bool MetricsBoard::ReadSlot(const Slot* s, int64_t* at, std::string* text, std::string* retired) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const uint64_t before = s->seq.load(std::memory_order_acquire);
    if (before % 2 == 1) continue;
    *at = before == 0 ? 0 : s->published_ns.load(std::memory_order_relaxed);
    const uint32_t n = std::min<uint32_t>(s->bytes.load(std::memory_order_relaxed), sizeof(s->text));
    const uint32_t r = std::min<uint32_t>(s->retired_bytes.load(std::memory_order_relaxed), sizeof(s->retired));
    text->assign(s->text, n);
    retired->assign(s->retired, r);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (s->seq.load(std::memory_order_relaxed) == before) return true;
  }
  return false;  // a writer kept it busy: left out of this read
}

std::vector<std::string> MetricsBoard::ReadFresh(int except, std::chrono::milliseconds max_age,
                                                 int* fresh) const {
  std::vector<std::string> out;
  int count = 0;
  const int64_t now = MonotonicNs();
  for (int i = 0; i < workers_; ++i) {
    int64_t at = 0;
    std::string text, retired;
    if (!ReadSlot(slot(i), &at, &text, &retired)) continue;
    if (at == 0 || now - at > std::chrono::nanoseconds(max_age).count()) continue;
    ++count;
    if (i != except) out.push_back(std::move(text));
  }
  if (fresh) *fresh = count;
  return out;
}

std::vector<std::string> MetricsBoard::ReadRetired() const {
  std::vector<std::string> out;
  for (int i = 0; i < workers_; ++i) {
    int64_t at = 0;
    std::string text, retired;
    if (ReadSlot(slot(i), &at, &text, &retired) && !retired.empty()) out.push_back(std::move(retired));
  }
  return out;
}

void MetricsBoard::Retire(int index) {
  if (index < 0 || index >= workers_) return;
  Slot* s = slot(index);
  // The worker has exited: nothing else writes this slot now.
  const uint32_t n = std::min<uint32_t>(s->bytes.load(std::memory_order_relaxed), sizeof(s->text));
  const uint32_t r = std::min<uint32_t>(s->retired_bytes.load(std::memory_order_relaxed), sizeof(s->retired));
  const std::string retired = SumPrometheusTexts({std::string(s->retired, r), std::string(s->text, n)}, "",
                                                 /*drop_gauges=*/true);
  const uint64_t seq = s->seq.load(std::memory_order_relaxed);
  s->seq.store(seq + 1, std::memory_order_relaxed);  // odd: writing
  std::atomic_thread_fence(std::memory_order_release);
  // A retired part over its room keeps what it had (the totals then stop
  // growing for this slot, never go down).
  if (retired.size() <= sizeof(s->retired)) {
    std::memcpy(s->retired, retired.data(), retired.size());
    s->retired_bytes.store(static_cast<uint32_t>(retired.size()), std::memory_order_relaxed);
  }
  s->bytes.store(0, std::memory_order_relaxed);
  s->published_ns.store(0, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  s->seq.store(seq + 2, std::memory_order_release);
}

std::string MetricsBoard::Aggregate(int index, const std::string& local, std::chrono::milliseconds max_age) {
  Publish(index, local);
  int fresh = 0;
  std::vector<std::string> texts = ReadFresh(index, max_age, &fresh);
  texts.insert(texts.begin(), local);
  for (std::string& r : ReadRetired()) texts.push_back(std::move(r));
  const std::string extra =
      "# HELP kamado_workers Worker processes the server runs (serve --workers).\n"
      "# TYPE kamado_workers gauge\n"
      "kamado_workers " + std::to_string(workers_) + "\n"
      "# HELP kamado_workers_ready Worker processes alive and serving (published metrics within " +
      std::to_string(max_age.count()) + " ms).\n"
      "# TYPE kamado_workers_ready gauge\n"
      "kamado_workers_ready " + std::to_string(fresh) + "\n";
  return SumPrometheusTexts(texts, extra);
}

MetricsPublisher::MetricsPublisher(MetricsBoard* board, int index, std::chrono::milliseconds period,
                                   std::function<std::string()> render) {
  thread_ = std::thread([this, board, index, period, render = std::move(render)] {
    while (!stop_.load()) {
      board->Publish(index, render());
      for (auto slept = std::chrono::milliseconds(0); slept < period && !stop_.load();
           slept += std::chrono::milliseconds(10)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
  });
}

MetricsPublisher::~MetricsPublisher() {
  stop_.store(true);
  thread_.join();
}

}  // namespace kamado::serving
