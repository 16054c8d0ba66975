#include "serving/metrics.h"

#include <cstdio>
#include <cstdlib>

#include "core/process_usage.h"

namespace kamado::serving {
namespace {

const std::vector<double> kLatencyBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                            0.25,  0.5,    1,     2.5,  5,     10};
const std::vector<double> kBatchBounds = {1, 2, 4, 8, 16, 32, 64};

// The shortest decimal that reads back as `v` (0.0025, not 0.0025000000000000001).
std::string Num(double v) {
  char buf[64];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

// Prometheus label values escape \, " and newline.
std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string ModelLabel(const std::string& model) { return "model=\"" + Escape(model) + "\""; }

}  // namespace

PrometheusHistogram::PrometheusHistogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void PrometheusHistogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += v;
  ++count_;
}

void PrometheusHistogram::Render(const std::string& name, const std::string& labels, std::string& out) const {
  const std::string sep = labels.empty() ? "" : ",";
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i];
    const std::string le = i < bounds_.size() ? Num(bounds_[i]) : "+Inf";
    out += name + "_bucket{" + labels + sep + "le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out += name + "_sum" + braces + " " + Num(sum_) + "\n";
  out += name + "_count" + braces + " " + std::to_string(count_) + "\n";
}

Metrics::Metrics() = default;

PrometheusHistogram& Metrics::Series(std::map<std::string, PrometheusHistogram>& family, const std::string& model,
                           const std::vector<double>& bounds) {
  auto it = family.find(model);
  if (it == family.end()) it = family.emplace(model, PrometheusHistogram(bounds)).first;
  return it->second;
}

void Metrics::CountRequest(const std::string& model, int http_status, double seconds) {
  answered_.fetch_add(1);
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{model, http_status}];
  Series(request_seconds_, model, kLatencyBounds).Observe(seconds);
}

void Metrics::ObserveQueue(const std::string& model, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  Series(queue_seconds_, model, kLatencyBounds).Observe(seconds);
}

void Metrics::ObserveDecode(const std::string& model, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  Series(decode_seconds_, model, kLatencyBounds).Observe(seconds);
}

void Metrics::ObserveInfer(const std::string& model, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  Series(infer_seconds_, model, kLatencyBounds).Observe(seconds);
}

void Metrics::ObserveBatch(const std::string& model, int batch_size) {
  std::lock_guard<std::mutex> lock(mu_);
  Series(batch_size_, model, kBatchBounds).Observe(batch_size);
}

void Metrics::AddQueueDepthSource(const std::string& model, std::function<double()> source) {
  std::lock_guard<std::mutex> lock(mu_);
  queue_depth_.emplace_back(model, std::move(source));
}

void Metrics::AddTextSource(std::function<std::string()> source) {
  std::lock_guard<std::mutex> lock(mu_);
  text_sources_.push_back(std::move(source));
}

std::string Metrics::Render() const {
  std::function<std::string(const std::string&)> aggregate;
  {
    std::lock_guard<std::mutex> lock(mu_);
    aggregate = aggregate_;
  }
  std::string local = RenderLocal();
  return aggregate ? aggregate(local) : local;
}

void Metrics::SetAggregator(std::function<std::string(const std::string& local)> aggregate) {
  std::lock_guard<std::mutex> lock(mu_);
  aggregate_ = std::move(aggregate);
}

std::string SumPrometheusTexts(const std::vector<std::string>& texts, const std::string& extra,
                               bool drop_gauges) {
  struct Family {
    std::string help, type;
    std::vector<std::string> order;
    std::map<std::string, double> sums;
  };
  std::vector<std::string> family_order;
  std::map<std::string, Family> families;
  auto family = [&](const std::string& name) -> Family& {
    auto [it, added] = families.try_emplace(name);
    if (added) family_order.push_back(name);
    return it->second;
  };
  for (const std::string& text : texts) {
    std::string current;
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      const std::string line = text.substr(pos, end - pos);
      pos = end + 1;
      if (line.empty()) continue;
      if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
        const size_t name_end = line.find(' ', 7);
        current = line.substr(7, name_end == std::string::npos ? std::string::npos : name_end - 7);
        Family& f = family(current);
        std::string& slot = line[2] == 'H' ? f.help : f.type;
        if (slot.empty()) slot = line;
        continue;
      }
      if (line[0] == '#') continue;
      const size_t space = line.rfind(' ');
      if (space == std::string::npos) continue;
      const std::string key = line.substr(0, space);
      char* parsed_end = nullptr;
      const double v = std::strtod(line.c_str() + space + 1, &parsed_end);
      if (current.empty()) current = key.substr(0, key.find('{'));
      Family& f = family(current);
      auto [it, added] = f.sums.try_emplace(key, 0.0);
      if (added) f.order.push_back(key);
      it->second += v;
    }
  }
  std::string out;
  for (const std::string& name : family_order) {
    const Family& f = families[name];
    if (drop_gauges && f.type == "# TYPE " + name + " gauge") continue;
    if (!f.help.empty()) out += f.help + "\n";
    if (!f.type.empty()) out += f.type + "\n";
    for (const std::string& key : f.order) out += key + " " + Num(f.sums.at(key)) + "\n";
  }
  return out + extra;
}

std::string Metrics::RenderLocal() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  out += "# HELP kamado_requests_total HTTP requests answered, by model and status code.\n";
  out += "# TYPE kamado_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    out += "kamado_requests_total{" + ModelLabel(key.first) + ",code=\"" +
           std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
  }
  const std::pair<const char*, const std::map<std::string, PrometheusHistogram>*> families[] = {
      {"kamado_request_duration_seconds", &request_seconds_},
      {"kamado_queue_duration_seconds", &queue_seconds_},
      {"kamado_decode_duration_seconds", &decode_seconds_},
      {"kamado_infer_duration_seconds", &infer_seconds_},
      {"kamado_batch_size", &batch_size_},
  };
  for (const auto& [name, family] : families) {
    out += std::string("# HELP ") + name +
           (family == &batch_size_ ? " Rows (images) per model run.\n"
                                   : " Time spent, in seconds.\n");
    out += std::string("# TYPE ") + name + " histogram\n";
    for (const auto& [model, h] : *family) h.Render(name, ModelLabel(model), out);
  }
  out += "# HELP kamado_in_flight_requests HTTP requests read and not yet answered.\n";
  out += "# TYPE kamado_in_flight_requests gauge\n";
  out += "kamado_in_flight_requests " + std::to_string(in_flight_.load()) + "\n";
  out += "# HELP kamado_queue_depth Rows (images) of admitted requests not yet running: waiting to be decoded or for a worker.\n";
  out += "# TYPE kamado_queue_depth gauge\n";
  for (const auto& [model, source] : queue_depth_) {
    out += "kamado_queue_depth{" + ModelLabel(model) + "} " + Num(source()) + "\n";
  }
  out += "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n";
  out += "# TYPE process_cpu_seconds_total counter\n";
  out += "process_cpu_seconds_total " + Num(ProcessCpuSeconds()) + "\n";
  out += "# HELP process_resident_memory_bytes Resident memory size in bytes.\n";
  out += "# TYPE process_resident_memory_bytes gauge\n";
  out += "process_resident_memory_bytes " + Num(ProcessResidentBytes()) + "\n";
  for (const auto& source : text_sources_) out += source();
  return out;
}

}  // namespace kamado::serving
