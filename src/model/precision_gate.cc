#include "model/precision_gate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <ctime>
#include <fstream>
#include <numeric>
#include <sstream>

#include "core/file_util.h"

namespace kamado::model {
namespace {

std::vector<int> TopIndices(std::span<const float> p, int k) {
  std::vector<int> idx(p.size());
  std::iota(idx.begin(), idx.end(), 0);
  k = std::min<int>(k, static_cast<int>(idx.size()));
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int a, int b) {
    return p[static_cast<size_t>(a)] > p[static_cast<size_t>(b)] ||
           (p[static_cast<size_t>(a)] == p[static_cast<size_t>(b)] && a < b);
  });
  idx.resize(static_cast<size_t>(k));
  return idx;
}

std::string NowUtc() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string Key(std::string_view precision, std::string_view isa) {
  return std::string(precision) + "@" + std::string(isa);
}

std::string Percent(double v) {
  std::ostringstream s;
  s.precision(4);
  s << v * 100 << "%";
  return s.str();
}

}  // namespace

GateThresholds DefaultThresholds(runtime::Precision p) {
  GateThresholds t;
  if (p == runtime::Precision::kInt8) {
    t.min_top1_agreement = 0.98;
    t.max_mean_abs_dp = 0.02;
  }
  return t;
}

bool AgreementStats::Add(std::span<const float> reference, std::span<const float> candidate) {
  const size_t n = std::min(reference.size(), candidate.size());
  if (n == 0) return false;
  ++photos_;
  for (size_t i = 0; i < n; ++i) {
    const double d = std::abs(static_cast<double>(reference[i]) - candidate[i]);
    max_dp_ = std::max(max_dp_, d);
    sum_dp_ += d;
    ++values_;
  }
  const std::vector<int> a = TopIndices(reference.first(n), top_k_);
  const std::vector<int> b = TopIndices(candidate.first(n), top_k_);
  if (std::find(classes_.begin(), classes_.end(), a[0]) == classes_.end()) classes_.push_back(a[0]);
  int common = 0;
  for (int x : a) common += std::find(b.begin(), b.end(), x) != b.end();
  topk_sum_ += static_cast<double>(common) / static_cast<double>(a.size());
  const bool same = a[0] == b[0];
  same_top1_ += same;
  return same;
}

GateResult Judge(const AgreementStats& stats, int num_classes, runtime::Precision precision,
                 const GateThresholds& t) {
  GateResult r;
  r.precision = std::string(runtime::PrecisionName(precision));
  r.photos = stats.photos();
  r.reference_classes = stats.reference_classes();
  r.num_classes = num_classes;
  r.top1_agreement = stats.top1_agreement();
  r.topk_overlap = num_classes > 10 ? stats.topk_overlap() : -1;
  r.max_abs_dp = stats.max_abs_dp();
  r.mean_abs_dp = stats.mean_abs_dp();
  r.thresholds = t;
  if (r.photos < t.min_photos) {
    r.failures.push_back(std::to_string(r.photos) + " photos, fewer than " +
                         std::to_string(t.min_photos));
  }
  if (r.reference_classes < std::min(t.min_classes, num_classes)) {
    r.failures.push_back("fp32's top-1 covers " + std::to_string(r.reference_classes) +
                         " classes on these photos, fewer than " + std::to_string(t.min_classes) +
                         ": the set does not exercise the model");
  }
  if (r.top1_agreement < t.min_top1_agreement) {
    r.failures.push_back("top-1 agreement " + Percent(r.top1_agreement) + " < " +
                         Percent(t.min_top1_agreement));
  }
  if (r.mean_abs_dp > t.max_mean_abs_dp) {
    r.failures.push_back("mean |dp| " + std::to_string(r.mean_abs_dp) + " > " +
                         std::to_string(t.max_mean_abs_dp));
  }
  // Top-5 overlap for many-class models: the same bar as top-1 agreement.
  if (r.topk_overlap >= 0 && r.topk_overlap < t.min_top1_agreement) {
    r.failures.push_back("top-" + std::to_string(stats.top_k()) + " overlap " +
                         Percent(r.topk_overlap) + " < " + Percent(t.min_top1_agreement));
  }
  r.passed = r.failures.empty();
  r.measured_at = NowUtc();
  return r;
}

nlohmann::json GateToJson(const GateResult& r) {
  return {{"precision", r.precision},
          {"against", r.against},
          {"isa", r.isa},
          {"onednn", r.onednn},
          {"build", r.build},
          {"model_hash", r.model_hash},
          {"images", r.images},
          {"photos", r.photos},
          {"reference_classes", r.reference_classes},
          {"num_classes", r.num_classes},
          {"top1_agreement", r.top1_agreement},
          {"topk_overlap", r.topk_overlap},
          {"max_abs_dp", r.max_abs_dp},
          {"mean_abs_dp", r.mean_abs_dp},
          {"thresholds",
           {{"min_top1_agreement", r.thresholds.min_top1_agreement},
            {"max_mean_abs_dp", r.thresholds.max_mean_abs_dp},
            {"min_photos", r.thresholds.min_photos},
            {"min_classes", r.thresholds.min_classes}}},
          {"passed", r.passed},
          {"failures", r.failures},
          {"measured_at", r.measured_at}};
}

namespace {

// A field that is not a whole number an int holds (a double such as 1e300
// would be undefined behaviour to convert; found by fuzz_written_files).
struct NotAnInt {
  const char* field;
};

int IntField(const nlohmann::json& j, const char* field) {
  const nlohmann::json& v = j.at(field);
  if (!v.is_number_integer()) throw NotAnInt{field};
  if (v.is_number_unsigned() ? v.get<uint64_t>() > uint64_t{INT32_MAX}
                             : (v.get<int64_t>() < INT32_MIN || v.get<int64_t>() > INT32_MAX)) {
    throw NotAnInt{field};
  }
  return static_cast<int>(v.get<int64_t>());
}

}  // namespace

Result<GateResult> GateFromJson(const nlohmann::json& j) {
  try {
    GateResult r;
    r.precision = j.at("precision").get<std::string>();
    r.against = j.at("against").get<std::string>();
    r.isa = j.at("isa").get<std::string>();
    r.onednn = j.at("onednn").get<std::string>();
    r.build = j.at("build").get<std::string>();
    r.model_hash = j.at("model_hash").get<std::string>();
    r.images = j.at("images").get<std::string>();
    r.photos = IntField(j, "photos");
    r.reference_classes = IntField(j, "reference_classes");
    r.num_classes = IntField(j, "num_classes");
    r.top1_agreement = j.at("top1_agreement").get<double>();
    r.topk_overlap = j.at("topk_overlap").get<double>();
    r.max_abs_dp = j.at("max_abs_dp").get<double>();
    r.mean_abs_dp = j.at("mean_abs_dp").get<double>();
    const auto& t = j.at("thresholds");
    r.thresholds.min_top1_agreement = t.at("min_top1_agreement").get<double>();
    r.thresholds.max_mean_abs_dp = t.at("max_mean_abs_dp").get<double>();
    r.thresholds.min_photos = IntField(t, "min_photos");
    r.thresholds.min_classes = IntField(t, "min_classes");
    r.passed = j.at("passed").get<bool>();
    r.failures = j.at("failures").get<std::vector<std::string>>();
    r.measured_at = j.at("measured_at").get<std::string>();
    return r;
  } catch (const NotAnInt& e) {
    return InvalidArgument(std::string("a gate entry's '") + e.field + "' is not a whole number an int holds");
  } catch (const nlohmann::json::exception&) {
    return InvalidArgument("a gate entry lacks a field or has one of the wrong type");
  }
}

std::filesystem::path GateFile(const std::filesystem::path& model_dir) {
  return model_dir / ".kamado" / "gate.json";
}

namespace {

Result<nlohmann::json> ReadGateFile(const std::filesystem::path& model_dir) {
  const std::filesystem::path path = GateFile(model_dir);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return nlohmann::json::object();
  auto text = ReadFile(path, size_t{4} << 20);
  if (!text.ok()) return text.status();
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return InvalidArgument(path.string() + ": not a JSON object");
  return j;
}

}  // namespace

Status WriteGate(const std::filesystem::path& model_dir, const GateResult& r) {
  ASSIGN_OR_RETURN(nlohmann::json all, ReadGateFile(model_dir));
  all[Key(r.precision, r.isa)] = GateToJson(r);
  const std::filesystem::path path = GateFile(model_dir);
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) return InvalidArgument("cannot create " + path.parent_path().string() + ": " + ec.message());
  return WriteFileAtomically(path, all.dump(2) + "\n");
}

Result<GateResult> ReadGate(const std::filesystem::path& model_dir, std::string_view precision,
                            std::string_view isa) {
  ASSIGN_OR_RETURN(nlohmann::json all, ReadGateFile(model_dir));
  auto it = all.find(Key(precision, isa));
  if (it == all.end()) {
    return NotFound("no gate for " + std::string(precision) + " on " + std::string(isa) + " in " +
                    GateFile(model_dir).string());
  }
  auto r = GateFromJson(*it);
  if (!r.ok()) return r.status().WithPrefix(GateFile(model_dir).string());
  return r;
}

Status CheckGate(const std::filesystem::path& dir, runtime::Precision precision,
                 std::string_view isa, std::string_view model_hash) {
  if (precision == runtime::Precision::kFp32) return Status::Ok();
  const std::string name(runtime::PrecisionName(precision));
  const std::string how = "; measure it with `kamado compare --model " + dir.string() +
                          " --images DIR --precision " + name +
                          "` (≥ 50 photos), or serve it anyway with --allow-ungated";
  auto gate = ReadGate(dir, name, isa);
  if (!gate.ok()) {
    return Unsupported("model '" + dir.string() + "' at " + name + " was never gated on this CPU (" +
                       std::string(isa) + ")" + how);
  }
  if (gate->model_hash != model_hash) {
    return Unsupported("model '" + dir.string() + "' at " + name + ": its gate (" +
                       gate->measured_at + ") was measured on other model files" + how);
  }
  if (!gate->passed) {
    std::string why;
    for (const auto& f : gate->failures) why += (why.empty() ? "" : "; ") + f;
    return Unsupported("model '" + dir.string() + "' at " + name + " failed its gate on " +
                       std::string(isa) + " (" + why + ")" + how);
  }
  return Status::Ok();
}

std::vector<runtime::Precision> GatedPrecisions(const std::filesystem::path& dir,
                                                std::string_view isa, std::string_view model_hash) {
  std::vector<runtime::Precision> out = {runtime::Precision::kFp32};
  for (runtime::Precision p : {runtime::Precision::kBf16, runtime::Precision::kInt8}) {
    if (runtime::CheckPrecisionSupported(p).ok() && CheckGate(dir, p, isa, model_hash).ok()) {
      out.push_back(p);
    }
  }
  return out;
}

runtime::Precision Fastest(const std::vector<TimedPrecision>& timed) {
  const TimedPrecision* best = &timed.front();
  for (const TimedPrecision& t : timed) {
    if (t.ms < best->ms) best = &t;
  }
  return best->precision;
}

}  // namespace kamado::model
