#include "common/metrics.h"

#include <gtest/gtest.h>

#include <string>

namespace viewpipe {
namespace {

bool Contains(const std::string& text, const std::string& line) {
  return text.find(line) != std::string::npos;
}

TEST(MetricsTest, CounterAndGauge) {
  MetricsRegistry reg;
  Counter* c = reg.GetCounter("vp_requests_total", "Requests.", {{"path", "/v1/events"}});
  c->Inc();
  c->Inc(4);
  EXPECT_EQ(reg.GetCounter("vp_requests_total", "Requests.", {{"path", "/v1/events"}}), c);
  Gauge* g = reg.GetGauge("vp_temperature", "Temp.");
  g->Set(2.5);
  g->Add(-1);
  std::string out = reg.RenderPrometheus();
  EXPECT_TRUE(Contains(out, "# HELP vp_requests_total Requests.\n"));
  EXPECT_TRUE(Contains(out, "# TYPE vp_requests_total counter\n"));
  EXPECT_TRUE(Contains(out, "vp_requests_total{path=\"/v1/events\"} 5\n"));
  EXPECT_TRUE(Contains(out, "# TYPE vp_temperature gauge\n"));
  EXPECT_TRUE(Contains(out, "vp_temperature 1.5\n"));
}

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  MetricsRegistry reg;
  Histogram* h = reg.GetHistogram("vp_latency_seconds", "Latency.", {0.1, 1}, {{"op", "x"}});
  h->Observe(0.05);
  h->Observe(0.5);
  h->Observe(0.5);
  h->Observe(5);
  std::string out = reg.RenderPrometheus();
  EXPECT_TRUE(Contains(out, "# TYPE vp_latency_seconds histogram\n"));
  EXPECT_TRUE(Contains(out, "vp_latency_seconds_bucket{op=\"x\",le=\"0.1\"} 1\n"))
      << out;
  EXPECT_TRUE(Contains(out, "vp_latency_seconds_bucket{op=\"x\",le=\"1\"} 3\n"));
  EXPECT_TRUE(Contains(out, "vp_latency_seconds_bucket{op=\"x\",le=\"+Inf\"} 4\n"));
  EXPECT_TRUE(Contains(out, "vp_latency_seconds_sum{op=\"x\"} 6.05\n")) << out;
  EXPECT_TRUE(Contains(out, "vp_latency_seconds_count{op=\"x\"} 4\n"));
  EXPECT_EQ(h->Quantile(0.5), 1);
  EXPECT_EQ(h->Quantile(0.25), 0.1);
}

TEST(MetricsTest, NumbersAreTheShortestTextThatReadsBackExactly) {
  MetricsRegistry reg;
  reg.GetHistogram("vp_fsync_seconds", "Fsync.", {0.02, 0.05})->Observe(0.03);
  reg.GetGauge("vp_sum", "A sum.")->Set(0.1 + 0.2);
  reg.GetGauge("vp_nan", "Not a number.")->Set(std::nan(""));
  reg.GetGauge("vp_bytes", "Bytes.")->Set(1e6);
  reg.GetGauge("vp_small", "Small.")->Set(0.0005);
  reg.GetGauge("vp_tiny", "Tiny.")->Set(2.5e-9);
  reg.GetGauge("vp_huge", "Huge.")->Set(-3e20);
  std::string out = reg.RenderPrometheus();
  EXPECT_TRUE(Contains(out, "vp_fsync_seconds_bucket{le=\"0.05\"} 1\n")) << out;
  EXPECT_TRUE(Contains(out, "vp_fsync_seconds_sum 0.03\n")) << out;
  // 0.1 + 0.2 is not the double nearest 0.3: all the digits it needs.
  EXPECT_TRUE(Contains(out, "vp_sum 0.30000000000000004\n")) << out;
  EXPECT_TRUE(Contains(out, "vp_nan NaN\n")) << out;
  EXPECT_TRUE(Contains(out, "vp_bytes 1000000\n")) << out;
  EXPECT_TRUE(Contains(out, "vp_small 0.0005\n")) << out;
  EXPECT_TRUE(Contains(out, "vp_tiny 2.5e-09\n")) << out;
  EXPECT_TRUE(Contains(out, "vp_huge -3e+20\n")) << out;
}

TEST(MetricsTest, HistogramWithoutLabels) {
  MetricsRegistry reg;
  reg.GetHistogram("vp_size", "Size.", {10})->Observe(3);
  std::string out = reg.RenderPrometheus();
  EXPECT_TRUE(Contains(out, "vp_size_bucket{le=\"10\"} 1\n"));
  EXPECT_TRUE(Contains(out, "vp_size_count 1\n"));
}

TEST(MetricsTest, SamplerIsCalledAtRenderTime) {
  MetricsRegistry reg;
  int calls = 0;
  reg.AddSampler("vp_lag", "Lag.", MetricsRegistry::Type::kGauge, [&calls] {
    ++calls;
    return std::vector<std::pair<Labels, double>>{{{{"group", "ops"}}, 7}, {{}, 1}};
  });
  EXPECT_EQ(calls, 0);
  std::string out = reg.RenderPrometheus();
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(Contains(out, "# TYPE vp_lag gauge\n"));
  EXPECT_TRUE(Contains(out, "vp_lag{group=\"ops\"} 7\n"));
  EXPECT_TRUE(Contains(out, "vp_lag 1\n"));
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  EXPECT_EQ(RenderLabels({}), "");
  EXPECT_EQ(RenderLabels({{"a", "x"}, {"b", "y"}}), "{a=\"x\",b=\"y\"}");
  EXPECT_EQ(RenderLabels({{"v", "q\"b\\s\nn"}}), "{v=\"q\\\"b\\\\s\\nn\"}");
  MetricsRegistry reg;
  reg.GetCounter("vp_c", "C.", {{"title", "say \"hi\""}})->Inc();
  EXPECT_TRUE(Contains(reg.RenderPrometheus(), "vp_c{title=\"say \\\"hi\\\"\"} 1\n"));
}

TEST(MetricsTest, FamiliesRenderInNameOrderWithOneHeader) {
  MetricsRegistry reg;
  reg.GetCounter("vp_b", "B.", {{"k", "1"}})->Inc();
  reg.GetCounter("vp_b", "B.", {{"k", "2"}})->Inc();
  reg.GetCounter("vp_a", "A.")->Inc();
  std::string out = reg.RenderPrometheus();
  EXPECT_LT(out.find("vp_a"), out.find("vp_b"));
  EXPECT_EQ(out.find("# TYPE vp_b"), out.rfind("# TYPE vp_b"));
}

}  // namespace
}  // namespace viewpipe
