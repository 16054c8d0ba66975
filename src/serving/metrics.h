// Metrics: the counters, gauges and histograms GET /metrics exports, in the
// Prometheus text exposition format (version 0.0.4).
//
// Gauges that an autoscaler reads (in-flight requests, queue depth) are true
// gauges sampled at scrape time, never counters. Thread-safe: `mu_` guards
// the labelled series; in-flight is an atomic.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace kamado::serving {

class PrometheusHistogram {
 public:
  explicit PrometheusHistogram(std::vector<double> bounds);
  void Observe(double v);
  // Appends `name`_bucket/_sum/_count lines with `labels` (`k="v",...` or "").
  void Render(const std::string& name, const std::string& labels, std::string& out) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // one per bound, plus +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

// Prometheus texts summed: every sample (same name and labels) of every
// text added up, families in order of first appearance, HELP/TYPE kept from
// the first text that has them; `extra` lines appended as they are. Every
// kamado series is a counter, a histogram or a gauge that adds across
// processes (in-flight, queue depth, CPU seconds, resident bytes).
// With `drop_gauges`, families typed gauge are left out (what a process that
// has exited leaves behind: its counts, not its levels).
std::string SumPrometheusTexts(const std::vector<std::string>& texts, const std::string& extra = "",
                               bool drop_gauges = false);

class Metrics {
 public:
  Metrics();

  // One finished HTTP request. `model` is "" for requests not about a model.
  void CountRequest(const std::string& model, int http_status, double seconds);
  void ObserveQueue(const std::string& model, double seconds);
  void ObserveDecode(const std::string& model, double seconds);
  void ObserveInfer(const std::string& model, double seconds);
  void ObserveBatch(const std::string& model, int batch_size);

  // HTTP requests read and not yet answered.
  std::atomic<int>& in_flight() { return in_flight_; }
  // Requests counted so far (CountRequest calls).
  uint64_t requests_answered() const { return answered_.load(); }

  // Sampled at scrape time: the queue depth of `model`.
  void AddQueueDepthSource(const std::string& model, std::function<double()> source);
  // Sampled at scrape time: Prometheus text (whole families, HELP and TYPE
  // lines included) appended to RenderLocal — the mirror's series. Called
  // with `mu_` held: it must not call back into Metrics.
  void AddTextSource(std::function<std::string()> source);

  // What GET /metrics answers: this process's series (RenderLocal), or,
  // with an aggregator set (a worker of `serve --workers`), what it makes
  // of them (the whole server's totals, MetricsBoard).
  std::string Render() const;
  std::string RenderLocal() const;
  void SetAggregator(std::function<std::string(const std::string& local)> aggregate);

 private:
  PrometheusHistogram& Series(std::map<std::string, PrometheusHistogram>& family, const std::string& model,
                    const std::vector<double>& bounds);  // `mu_` must be held

  mutable std::mutex mu_;
  std::function<std::string(const std::string&)> aggregate_;  // set before serving
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, PrometheusHistogram> request_seconds_, queue_seconds_, decode_seconds_,
      infer_seconds_, batch_size_;
  std::vector<std::pair<std::string, std::function<double()>>> queue_depth_;
  std::vector<std::function<std::string()>> text_sources_;
  std::atomic<int> in_flight_{0};
  std::atomic<uint64_t> answered_{0};
};

}  // namespace kamado::serving
