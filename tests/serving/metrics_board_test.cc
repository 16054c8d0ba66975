// The whole-server metrics of `serve --workers`: Prometheus texts summed,
// and a replaced worker's counts kept (MetricsBoard::Retire), in one process.
#include "serving/metrics_board.h"

#include <gtest/gtest.h>

#include "serving/metrics.h"
#include "serving/serving_test_util.h"

namespace kamado::serving {
namespace {

using testing::MetricValue;

// A worker's text: a counter, a histogram and a gauge.
std::string Text(int requests, int in_flight) {
  return "# HELP kamado_requests_total Requests.\n# TYPE kamado_requests_total counter\n"
         "kamado_requests_total{code=\"200\"} " + std::to_string(requests) + "\n"
         "# TYPE kamado_request_duration_seconds histogram\n"
         "kamado_request_duration_seconds_count " + std::to_string(requests) + "\n"
         "# TYPE kamado_in_flight_requests gauge\n"
         "kamado_in_flight_requests " + std::to_string(in_flight) + "\n";
}

TEST(SumPrometheusTexts, AddsEverySampleAndCanLeaveGaugesOut) {
  const std::string sum = SumPrometheusTexts({Text(3, 1), Text(4, 2)}, "extra 1\n");
  EXPECT_EQ(MetricValue(sum, "kamado_requests_total{code=\"200\"}"), 7);
  EXPECT_EQ(MetricValue(sum, "kamado_request_duration_seconds_count"), 7);
  EXPECT_EQ(MetricValue(sum, "kamado_in_flight_requests"), 3);
  EXPECT_EQ(MetricValue(sum, "extra"), 1);
  EXPECT_EQ(sum.find("# HELP kamado_requests_total"), sum.rfind("# HELP kamado_requests_total"))
      << "HELP once";
  const std::string counts = SumPrometheusTexts({Text(3, 1)}, "", /*drop_gauges=*/true);
  EXPECT_EQ(MetricValue(counts, "kamado_requests_total{code=\"200\"}"), 3);
  EXPECT_EQ(MetricValue(counts, "kamado_request_duration_seconds_count"), 3);
  EXPECT_EQ(MetricValue(counts, "kamado_in_flight_requests"), -1);
  EXPECT_EQ(counts.find("kamado_in_flight_requests"), std::string::npos);
}

TEST(MetricsBoard, AReplacedWorkersCountsStayAndItsGaugesGo) {
  auto board = MetricsBoard::Create(2);
  ASSERT_TRUE(board.ok()) << board.status().ToString();
  MetricsBoard& b = **board;
  const auto age = std::chrono::milliseconds(60000);
  b.Publish(0, Text(3, 5));
  std::string sum = b.Aggregate(1, Text(4, 1), age);
  EXPECT_EQ(MetricValue(sum, "kamado_requests_total{code=\"200\"}"), 7);
  EXPECT_EQ(MetricValue(sum, "kamado_in_flight_requests"), 6);
  EXPECT_EQ(MetricValue(sum, "kamado_workers_ready"), 2);

  b.Retire(0);  // worker 0 exited
  sum = b.Aggregate(1, Text(4, 1), age);
  EXPECT_EQ(MetricValue(sum, "kamado_requests_total{code=\"200\"}"), 7) << "its 3 are kept";
  EXPECT_EQ(MetricValue(sum, "kamado_request_duration_seconds_count"), 7);
  EXPECT_EQ(MetricValue(sum, "kamado_in_flight_requests"), 1) << "its gauge is gone";
  EXPECT_EQ(MetricValue(sum, "kamado_workers_ready"), 1);

  b.Publish(0, Text(1, 0));  // its replacement, counting from zero
  sum = b.Aggregate(1, Text(4, 1), age);
  EXPECT_EQ(MetricValue(sum, "kamado_requests_total{code=\"200\"}"), 8);
  EXPECT_EQ(MetricValue(sum, "kamado_workers_ready"), 2);
  // The replacement's own scrape counts the retired part of its own slot.
  sum = b.Aggregate(0, Text(1, 0), age);
  EXPECT_EQ(MetricValue(sum, "kamado_requests_total{code=\"200\"}"), 8);

  b.Retire(0);  // and it exits too: 3 + 1 retired
  sum = b.Aggregate(1, Text(4, 1), age);
  EXPECT_EQ(MetricValue(sum, "kamado_requests_total{code=\"200\"}"), 8);
}

}  // namespace
}  // namespace kamado::serving
