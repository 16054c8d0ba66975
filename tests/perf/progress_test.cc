// Progress writes to a memory stream here, on a simulated clock that only
// moves when the test moves it, so the 200 ms throttle is tested exactly.
#include "perf/progress.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "perf/simulated_clock.h"

namespace kamado::perf {
namespace {

// A FILE* backed by memory; Text() flushes and returns everything written.
class MemoryStream {
 public:
  MemoryStream() : file_(open_memstream(&buf_, &size_)) {}
  ~MemoryStream() {
    std::fclose(file_);
    std::free(buf_);
  }
  std::FILE* file() { return file_; }
  std::string Text() {
    std::fflush(file_);
    return std::string(buf_, size_);
  }

 private:
  char* buf_ = nullptr;
  size_t size_ = 0;
  std::FILE* file_;
};

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + 1)) ++n;
  return n;
}

TEST(ProgressTest, EnabledDrawsLabelBarAndPercent) {
  MemoryStream out;
  Progress p("loading", 100, /*enabled=*/1, out.file());
  EXPECT_TRUE(p.enabled());
  p.Update(50, "12 req/s");
  const std::string text = out.Text();
  EXPECT_EQ(text.rfind("\r", 0), 0u) << text;
  EXPECT_NE(text.find("loading"), std::string::npos) << text;
  EXPECT_NE(text.find("50%"), std::string::npos) << text;
  EXPECT_NE(text.find("50/100"), std::string::npos) << text;
  EXPECT_NE(text.find("[############............]"), std::string::npos) << text;
  EXPECT_NE(text.find("12 req/s"), std::string::npos) << text;
  EXPECT_EQ(text.substr(text.size() - 3), "\x1b[K") << text;
}

TEST(ProgressTest, FinishClearsTheLineOnce) {
  MemoryStream out;
  {
    Progress p("run", 10, 1, out.file());
    p.Update(3);
    const size_t before = out.Text().size();
    p.Finish();
    const std::string text = out.Text();
    EXPECT_EQ(text.substr(before), "\r\x1b[K");
    p.Finish();  // idempotent
    EXPECT_EQ(out.Text(), text);
  }  // the destructor adds nothing either
  EXPECT_EQ(Count(out.Text(), "\r\x1b[K"), 1u);
}

TEST(ProgressTest, FinishWithoutUpdateWritesNothing) {
  MemoryStream out;
  {
    Progress p("run", 10, 1, out.file());
    p.Finish();
  }
  EXPECT_EQ(out.Text(), "");
}

TEST(ProgressTest, DisabledWritesNothing) {
  MemoryStream out;
  {
    Progress p("run", 100, /*enabled=*/0, out.file());
    EXPECT_FALSE(p.enabled());
    p.Update(50, "x");
    p.Finish();
  }
  EXPECT_EQ(out.Text(), "");
}

TEST(ProgressTest, AutoIsOffWhenNotATerminal) {
  MemoryStream out;
  Progress p("run", 100, /*enabled=*/-1, out.file());
  EXPECT_FALSE(p.enabled());
  p.Update(1);
  EXPECT_EQ(out.Text(), "");
}

TEST(ProgressTest, ThrottlesRedrawsTo200Ms) {
  MemoryStream out;
  testing::SimulatedClock clock;
  Progress p("run", 100, 1, out.file(), &clock);
  p.Update(10);
  clock.Advance(std::chrono::milliseconds(199));
  p.Update(20);  // 199 ms after the first draw: skipped
  std::string text = out.Text();
  EXPECT_EQ(Count(text, "\r"), 1u) << text;
  EXPECT_NE(text.find("10%"), std::string::npos);
  EXPECT_EQ(text.find("20%"), std::string::npos);
  clock.Advance(std::chrono::milliseconds(1));
  p.Update(30);  // 200 ms: drawn, with the elapsed time
  text = out.Text();
  EXPECT_EQ(Count(text, "\r"), 2u) << text;
  EXPECT_NE(text.find("30%"), std::string::npos);
  EXPECT_NE(text.find("0.2s"), std::string::npos) << text;
  p.Update(40);  // the throttle restarts from the last draw
  EXPECT_EQ(Count(out.Text(), "\r"), 2u);
}

TEST(ProgressTest, UnknownTotalShowsCountWithoutPercent) {
  MemoryStream out;
  Progress p("warm-up", 0, 1, out.file());
  p.Update(7);
  const std::string text = out.Text();
  EXPECT_NE(text.find("warm-up  7  "), std::string::npos) << text;
  EXPECT_EQ(text.find('%'), std::string::npos) << text;
  EXPECT_EQ(text.find("  ["), std::string::npos) << text;  // no bar
}

TEST(ProgressTest, OvershootClampsTo100Percent) {
  MemoryStream out;
  Progress p("run", 10, 1, out.file());
  p.Update(15);
  EXPECT_NE(out.Text().find("100%"), std::string::npos) << out.Text();
}

TEST(ProgressTest, LongLinesAreCutSoTheyNeverWrap) {
  MemoryStream out;
  Progress p("run", 10, 1, out.file());
  p.Update(5, std::string(500, 'x'));
  const std::string text = out.Text();
  // Not a terminal: the default width of 100 columns applies.
  const size_t visible = text.size() - std::string("\r").size() - std::string("\x1b[K").size();
  EXPECT_LT(visible, 100u) << text;
}

}  // namespace
}  // namespace kamado::perf
