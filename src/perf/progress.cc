#include "perf/progress.h"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace kamado::perf {
namespace {

constexpr auto kRedrawInterval = std::chrono::milliseconds(200);
constexpr int kBarWidth = 24;

// Columns of the terminal behind `out`, or a conservative default.
size_t TerminalColumns(std::FILE* out) {
  winsize ws{};
  if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10) return ws.ws_col;
  return 100;
}

}  // namespace

Progress::Progress(std::string label, double total, int enabled, std::FILE* out, Clock* clock)
    : label_(std::move(label)),
      total_(total),
      enabled_(out != nullptr && (enabled == 1 || (enabled == -1 && isatty(fileno(out))))),
      out_(out),
      clock_(clock ? *clock : SystemClock()),
      start_(clock_.Now()) {}

Progress::~Progress() { Finish(); }

void Progress::Update(double done, const std::string& extra) {
  if (!enabled_) return;
  const Clock::TimePoint now = clock_.Now();
  if (drawn_ && now - last_ < kRedrawInterval) return;
  last_ = now;
  drawn_ = true;

  const double elapsed = std::chrono::duration<double>(now - start_).count();
  std::string line = label_;
  if (total_ > 0 && std::isfinite(done)) {
    const double frac = std::clamp(done / total_, 0.0, 1.0);
    const int filled = static_cast<int>(std::lround(frac * kBarWidth));
    line += fmt::format("  [{}{}]  {:.0f}%  {:g}/{:g}", std::string(filled, '#'),
                        std::string(kBarWidth - filled, '.'), frac * 100, done, total_);
  } else {
    line += fmt::format("  {:g}", done);
  }
  line += fmt::format("  {:.1f}s", elapsed);
  if (!extra.empty()) line += "  " + extra;
  // A line that wraps cannot be rewritten with "\r"; keep it on one row.
  const size_t cols = TerminalColumns(out_);
  if (line.size() >= cols) {
    size_t n = cols - 1;
    while (n > 0 && (static_cast<unsigned char>(line[n]) & 0xC0) == 0x80) --n;  // UTF-8 boundary
    line.resize(n);
  }
  std::fputs(("\r" + line + "\x1b[K").c_str(), out_);
  std::fflush(out_);
}

void Progress::Finish() {
  if (!enabled_ || !drawn_) return;
  std::fputs("\r\x1b[K", out_);
  std::fflush(out_);
  drawn_ = false;
}

}  // namespace kamado::perf
