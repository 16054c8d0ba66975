#include "perf/proc_stats.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <vector>

namespace kamado::perf {
namespace {

std::vector<std::string_view> SplitWs(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')) ++i;
    const size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\n') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

// The line whose first token is `key` (e.g. "cpu", "MemTotal:"), or empty.
std::string_view FindLine(std::string_view text, std::string_view key) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (line.size() > key.size() && line.substr(0, key.size()) == key &&
        (line[key.size()] == ' ' || line[key.size()] == '\t')) {
      return line;
    }
    pos = end + 1;
  }
  return {};
}

Status FieldError(std::string_view source, std::string_view field, std::string_view what) {
  return InvalidArgument("file '" + std::string(source) + "': field '" + std::string(field) + "' " +
                         std::string(what));
}

Result<uint64_t> ToU64(std::string_view tok, std::string_view source, std::string_view field) {
  uint64_t v = 0;
  const auto [p, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
  if (ec != std::errc() || p != tok.data() + tok.size()) {
    return FieldError(source, field, "is not a non-negative integer: '" + std::string(tok) + "'");
  }
  return v;
}

Result<double> ToDouble(std::string_view tok, std::string_view source, std::string_view field) {
  double v = 0;
  const auto [p, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
  if (ec != std::errc() || p != tok.data() + tok.size()) {
    return FieldError(source, field, "is not a number: '" + std::string(tok) + "'");
  }
  return v;
}

}  // namespace

Result<uint64_t> KbField(std::string_view text, std::string_view source, std::string_view key) {
  const std::string k = std::string(key) + ":";
  const auto tokens = SplitWs(FindLine(text, k));
  if (tokens.size() < 2) return FieldError(source, key, "is missing");
  return ToU64(tokens[1], source, key);
}

double MemInfo::UsedPct() const {
  if (total_kb == 0) return 0.0;
  const uint64_t avail = std::min(available_kb, total_kb);
  return 100.0 * static_cast<double>(total_kb - avail) / static_cast<double>(total_kb);
}

Result<SystemStat> ParseProcStat(std::string_view text, std::string_view source) {
  SystemStat s;
  const auto cpu = SplitWs(FindLine(text, "cpu"));
  if (cpu.empty()) return FieldError(source, "cpu", "is missing");
  static constexpr const char* kNames[] = {"cpu.user",   "cpu.nice", "cpu.system",  "cpu.idle",
                                           "cpu.iowait", "cpu.irq",  "cpu.softirq", "cpu.steal"};
  uint64_t* dst[] = {&s.cpu.user,   &s.cpu.nice, &s.cpu.system,  &s.cpu.idle,
                     &s.cpu.iowait, &s.cpu.irq,  &s.cpu.softirq, &s.cpu.steal};
  // Kernels before 2.6.11 lack steal; everything we run on has all eight.
  if (cpu.size() < 9) {
    return FieldError(
        source, kNames[cpu.size() - 1],
        "is missing (cpu line has " + std::to_string(cpu.size() - 1) + " fields, need 8)");
  }
  for (size_t i = 0; i < 8; ++i) {
    ASSIGN_OR_RETURN(*dst[i], ToU64(cpu[i + 1], source, kNames[i]));
  }
  const auto ctxt = SplitWs(FindLine(text, "ctxt"));
  if (ctxt.size() < 2) return FieldError(source, "ctxt", "is missing");
  ASSIGN_OR_RETURN(s.ctxt, ToU64(ctxt[1], source, "ctxt"));
  return s;
}

Result<MemInfo> ParseMeminfo(std::string_view text, std::string_view source) {
  MemInfo m;
  ASSIGN_OR_RETURN(m.total_kb, KbField(text, source, "MemTotal"));
  ASSIGN_OR_RETURN(m.available_kb, KbField(text, source, "MemAvailable"));
  if (m.total_kb == 0) return FieldError(source, "MemTotal", "is zero");
  return m;
}

Result<LoadAvg> ParseLoadavg(std::string_view text, std::string_view source) {
  const auto t = SplitWs(text);
  static constexpr const char* kNames[] = {"loadavg.1min", "loadavg.5min", "loadavg.15min"};
  LoadAvg l;
  double* dst[] = {&l.one, &l.five, &l.fifteen};
  for (size_t i = 0; i < 3; ++i) {
    if (i >= t.size()) return FieldError(source, kNames[i], "is missing");
    ASSIGN_OR_RETURN(*dst[i], ToDouble(t[i], source, kNames[i]));
  }
  return l;
}

Result<PidStat> ParsePidStat(std::string_view text, std::string_view source) {
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so it
  // ends at the LAST ')'. After it, token 0 is field 3 (state), so utime
  // (field 14) is token 11 and stime (field 15) token 12.
  const size_t open = text.find('(');
  const size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return FieldError(source, "comm", "is missing (no parenthesised command name)");
  }
  PidStat p;
  const auto pid_tok = SplitWs(text.substr(0, open));
  if (pid_tok.size() != 1) return FieldError(source, "pid", "is missing");
  uint64_t pid = 0;
  ASSIGN_OR_RETURN(pid, ToU64(pid_tok[0], source, "pid"));
  p.pid = static_cast<int>(pid);
  p.comm = std::string(text.substr(open + 1, close - open - 1));
  const auto rest = SplitWs(text.substr(close + 1));
  if (rest.size() < 13) {
    return FieldError(
        source, rest.size() < 12 ? "utime" : "stime",
        "is missing (line has " + std::to_string(rest.size() + 2) + " fields, need 15)");
  }
  p.state = rest[0].front();
  ASSIGN_OR_RETURN(p.utime, ToU64(rest[11], source, "utime"));
  ASSIGN_OR_RETURN(p.stime, ToU64(rest[12], source, "stime"));
  return p;
}

Result<uint64_t> ParseVmRssKb(std::string_view text, std::string_view source) {
  return KbField(text, source, "VmRSS");
}

Result<uint64_t> ParseVmHwmKb(std::string_view text, std::string_view source) {
  return KbField(text, source, "VmHWM");
}

Result<std::string> ReadProcFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open '" + path.string() + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Internal("read error on '" + path.string() + "'");
  return ss.str();
}

}  // namespace kamado::perf
