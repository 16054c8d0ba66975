// `kamado bench --images` end to end: the real binary on real photos, its
// JSON line and its HTML report; and `kamado info`.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "testutil/run_command.h"
#include "testutil/test_data.h"

namespace {

// Runs `command`, returns its stdout; `rc` gets the exit status.
using kamado::testutil::RunCommand;

// The report's rounding of a latency (perf/report.cc FormatMs).
std::string AsReported(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, ms < 10 ? "%.2f" : ms < 100 ? "%.1f" : "%.0f", ms);
  return buf;
}

// The cells of the Markdown table row that starts "| <first> |".
std::vector<std::string> MarkdownRow(const std::string& text, const std::string& first) {
  std::vector<std::string> cells;
  const size_t at = text.find("| " + first + " |");
  if (at == std::string::npos) return cells;
  std::stringstream row(text.substr(at + 1, text.find('\n', at) - at - 1));
  std::string cell;
  while (std::getline(row, cell, '|')) {
    cell.erase(0, cell.find_first_not_of(' '));
    cell.erase(cell.find_last_not_of(' ') + 1);
    cells.push_back(cell);
  }
  return cells;
}

std::string LastLine(const std::string& text) {
  std::string t = text;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  const size_t nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

TEST(BenchCliTest, ImagesGiveStagesCpuRssAndAReport) {
  KAMADO_REQUIRE_DATA("models/mobilenet_v2/kamado.yaml");
  KAMADO_REQUIRE_DATA("data/images/chelsea.png");
  const std::string report =
      (std::filesystem::temp_directory_path() / ("kamado_bench_report_" + std::to_string(getpid()) + ".html"))
          .string();
  int rc = 0;
  const std::string out = RunCommand(std::string(KAMADO_BINARY) +
                                         " bench --model models/mobilenet_v2 --images data/images"
                                         " --iterations 12 --warmup 2 --threads 1 --json --report " +
                                         report + " 2>/dev/null",
                                     rc);
  ASSERT_EQ(rc, 0) << out;
  const nlohmann::json j = nlohmann::json::parse(LastLine(out));
  EXPECT_EQ(j["iterations"], 12);
  EXPECT_GE(j["images"].get<int>(), 8);  // data/images holds 8 PNG + 3 JPEG
  for (const char* key : {"mean_ms", "p50_ms", "p90_ms", "p99_ms", "min_ms", "max_ms", "throughput_ips"}) {
    ASSERT_TRUE(j.contains(key)) << key;
    EXPECT_GT(j[key].get<double>(), 0) << key;
  }
  EXPECT_LE(j["min_ms"].get<double>(), j["p50_ms"].get<double>());
  EXPECT_LE(j["p50_ms"].get<double>(), j["p99_ms"].get<double>());
  EXPECT_LE(j["p99_ms"].get<double>(), j["max_ms"].get<double>());
  // The stages are parts of each run: their means add up to at most the total.
  double stage_sum = 0;
  for (const char* stage : {"decode", "preprocess", "infer"}) {
    ASSERT_TRUE(j["stages"].contains(stage)) << stage;
    EXPECT_GT(j["stages"][stage]["mean_ms"].get<double>(), 0) << stage;
    stage_sum += j["stages"][stage]["mean_ms"].get<double>();
  }
  EXPECT_LE(stage_sum, j["mean_ms"].get<double>() * 1.0001);
  EXPECT_GT(stage_sum, j["mean_ms"].get<double>() * 0.9);
  EXPECT_GT(j["cpu"]["avg_pct"].get<double>(), 0);
  EXPECT_GE(j["cpu"]["peak_pct"].get<double>(), j["cpu"]["avg_pct"].get<double>());
  EXPECT_GT(j["rss_mb"]["peak"].get<double>(), 10);  // the model alone is more
  EXPECT_GT(j["mem"]["avg_pct"].get<double>(), 0);
  EXPECT_LE(j["mem"]["peak_pct"].get<double>(), 100);
  // The Markdown summary went to stdout and the HTML report to the file.
  EXPECT_NE(out.find("| p50 / p90 / p99"), std::string::npos) << out;
  // The report's latency row is the JSON line's figures (one quantile rule):
  // series, requests, min, mean, p50, p90, p99, p99.9, max.
  const std::vector<std::string> row = MarkdownRow(out, "per run");
  ASSERT_EQ(row.size(), 9u) << out;
  EXPECT_EQ(row[1], "12");
  const char* keys[] = {"min_ms", "mean_ms", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms"};
  for (size_t i = 0; i < 7; ++i) {
    EXPECT_EQ(row[i + 2], AsReported(j[keys[i]].get<double>())) << keys[i] << "\n" << out;
  }
  // 12 runs: p99 and p99.9 are rank 12, the max itself (nearest rank, no interpolation).
  EXPECT_EQ(j["p99_ms"].get<double>(), j["max_ms"].get<double>());
  EXPECT_EQ(j["p999_ms"].get<double>(), j["max_ms"].get<double>());
  std::ifstream in(report);
  ASSERT_TRUE(in.good()) << report;
  std::stringstream html;
  html << in.rdbuf();
  EXPECT_EQ(html.str().rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.str().find("<svg"), std::string::npos);
  std::filesystem::remove(report);
}

TEST(BenchCliTest, MissingImageDirectoryIsAClearError) {
  KAMADO_REQUIRE_DATA("models/mobilenet_v2/kamado.yaml");
  int rc = 0;
  const std::string out = RunCommand(std::string(KAMADO_BINARY) +
                                         " bench --model models/mobilenet_v2 --images /nonexistent/photos"
                                         " --iterations 1 2>&1",
                                     rc);
  EXPECT_EQ(rc, 2);
  EXPECT_NE(out.find("/nonexistent/photos"), std::string::npos) << out;
}

// `kamado info --json` (issue 16): the CPU and its features as /proc/cpuinfo
// has them, and for each precision whether it runs here — bf16 exactly when
// the CPU has AVX512-BF16 or AMX-BF16 and oneDNN is not held below them,
// int8 everywhere.
TEST(InfoCliTest, SaysWhatTheCpuHasAndWhatEachPrecisionRunsOn) {
  for (const char* env : {"", "ONEDNN_MAX_CPU_ISA=AVX2 "}) {
    SCOPED_TRACE(env);
    int rc = 0;
    const std::string out = RunCommand(std::string(env) + KAMADO_BINARY + " info --json", rc);
    ASSERT_EQ(rc, 0) << out;
    const auto j = nlohmann::json::parse(out);
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line, flags;
    while (std::getline(cpuinfo, line)) {
      if (line.rfind("flags", 0) == 0) {
        flags = " " + line.substr(line.find(':') + 1) + " ";
        break;
      }
    }
    auto has = [&](const char* f) { return flags.find(" " + std::string(f) + " ") != std::string::npos; };
    EXPECT_EQ(j["features"]["AVX2"].get<bool>(), has("avx2"));
    EXPECT_EQ(j["features"]["AMX-BF16"].get<bool>(), has("amx_bf16"));
    EXPECT_EQ(j["features"]["AVX512-BF16"].get<bool>(), has("avx512_bf16"));
    EXPECT_GE(j["cpus"]["usable"].get<double>(), 1.0);
    EXPECT_EQ(j["onednn"]["version"].get<std::string>().rfind("2.", 0), 0u);
    EXPECT_TRUE(j["precisions"]["fp32"]["available"].get<bool>());
    const bool bf16_cpu = has("avx512_bf16") || has("amx_bf16");
    const bool held = std::string(env).find("AVX2") != std::string::npos;
    EXPECT_EQ(j["precisions"]["bf16"]["available"].get<bool>(), bf16_cpu && !held) << out;
    if (held) {
      EXPECT_EQ(j["onednn"]["isa"], "avx2");
      EXPECT_EQ(j["onednn"]["max_cpu_isa"], "AVX2");
    }
    // int8 runs on every CPU the project has (AVX2 at least): on VNNI/AMX
    // with 8-bit weights, held to AVX2 with 7-bit ones (runtime/quantization.h).
    EXPECT_TRUE(j["precisions"]["int8"]["available"].get<bool>()) << out;
    const std::string int8 = j["precisions"]["int8"]["runs_on"].get<std::string>();
    if (held) EXPECT_NE(int8.find("7-bit weights"), std::string::npos) << int8;
    if (has("amx_int8") && !held) EXPECT_NE(int8.find("AMX-INT8"), std::string::npos) << int8;
  }
}

}  // namespace
