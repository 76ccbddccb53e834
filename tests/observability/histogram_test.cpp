// tests/observability/histogram_test.cpp — histograms in the Prometheus text exposition
// (`_bucket{le=…}` cumulative up to +Inf, `_sum`, `_count`), caller-declared and default buckets,
// the naming rules shared with counters, and the plugin view (jarvis::Metrics).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "jarvis/error.h"
#include "jarvis/metrics.h"
#include "observability/metrics.h"

namespace jarvis::host {
namespace {

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

std::string code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const jarvis::Error& e) {
    return e.code();
  }
  return "";
}

TEST(Histogram, ExpositionWithDeclaredBuckets) {
  MetricsRegistry m;
  m.histogram_declare("tokens", "Reply tokens.", {10, 100, 1000});
  for (double v : {5.0, 10.0, 50.0, 5000.0}) m.histogram_observe("tokens", "", {{"model", "a"}}, v);
  const std::string out = m.render();
  EXPECT_TRUE(contains(out,
                       "# HELP tokens Reply tokens.\n"
                       "# TYPE tokens histogram\n"
                       "tokens_bucket{model=\"a\",le=\"10\"} 2\n"
                       "tokens_bucket{model=\"a\",le=\"100\"} 3\n"
                       "tokens_bucket{model=\"a\",le=\"1000\"} 3\n"
                       "tokens_bucket{model=\"a\",le=\"+Inf\"} 4\n"
                       "tokens_sum{model=\"a\"} 5065\n"
                       "tokens_count{model=\"a\"} 4\n"))
      << out;
  EXPECT_EQ(m.value("tokens", {{"model", "a"}}), 4);
}

TEST(Histogram, DefaultBucketsAreLatencySeconds) {
  MetricsRegistry m;
  m.histogram_observe("latency_seconds", "Latency.", {}, 0.003);
  const std::string out = m.render();
  EXPECT_TRUE(contains(out, "latency_seconds_bucket{le=\"0.0005\"} 0\n")) << out;
  EXPECT_TRUE(contains(out, "latency_seconds_bucket{le=\"0.005\"} 1\n")) << out;
  EXPECT_TRUE(contains(out, "latency_seconds_bucket{le=\"10\"} 1\n")) << out;
  EXPECT_TRUE(contains(out, "latency_seconds_bucket{le=\"+Inf\"} 1\n")) << out;
  EXPECT_TRUE(contains(out, "latency_seconds_sum 0.003\nlatency_seconds_count 1\n")) << out;
  EXPECT_EQ(MetricsRegistry::default_buckets().front(), 0.0005);
  EXPECT_EQ(MetricsRegistry::default_buckets().back(), 10);
}

TEST(Histogram, BadBucketsAndConflicts) {
  MetricsRegistry m;
  EXPECT_EQ(code_of([&] { m.histogram_declare("h1", "", {1, 1}); }), "invalid_metric_buckets");
  EXPECT_EQ(code_of([&] { m.histogram_declare("h2", "", {2, 1}); }), "invalid_metric_buckets");
  EXPECT_EQ(code_of([&] {
              m.histogram_declare("h3", "", {1, std::numeric_limits<double>::infinity()});
            }),
            "invalid_metric_buckets");
  EXPECT_EQ(code_of([&] { m.histogram_declare("h4", "", std::vector<double>(65, 1)); }),
            "invalid_metric_buckets");
  m.histogram_declare("h5", "", {1, 2});
  EXPECT_EQ(code_of([&] { m.histogram_declare("h5", "", {1, 2}); }), "");  // same: fine
  EXPECT_EQ(code_of([&] { m.histogram_declare("h5", "", {1, 3}); }), "metric_buckets_conflict");
  m.histogram_observe("h6", "", {}, 1);  // default buckets in use
  EXPECT_EQ(code_of([&] { m.histogram_declare("h6", "", {1, 3}); }), "metric_buckets_conflict");
  EXPECT_EQ(code_of([&] { m.histogram_observe("h6", "", {}, std::nan("")); }),
            "invalid_metric_value");
}

TEST(Histogram, NamingRulesLikeCounters) {
  MetricsRegistry m;
  m.histogram_observe("req-time seconds", "", {{"bad label", "x"}}, 1);
  const std::string out = m.render();
  EXPECT_TRUE(contains(out, "# TYPE req_time_seconds histogram\n")) << out;
  EXPECT_TRUE(contains(out, "req_time_seconds_count{bad_label=\"x\"} 1\n")) << out;
  // One name, one type; a histogram's series names are reserved.
  m.counter_add("c_total", "");
  EXPECT_EQ(code_of([&] { m.histogram_observe("c_total", "", {}, 1); }), "metric_type_conflict");
  EXPECT_EQ(code_of([&] { m.counter_add("req_time_seconds", ""); }), "metric_type_conflict");
  EXPECT_EQ(code_of([&] { m.counter_add("req_time_seconds_count", ""); }), "metric_type_conflict");
  EXPECT_EQ(code_of([&] { m.gauge_set("req_time_seconds_bucket", "", {}, 1); }),
            "metric_type_conflict");
  m.gauge_set("depth_sum", "", {}, 1);
  EXPECT_EQ(code_of([&] { m.histogram_observe("depth", "", {}, 1); }), "metric_type_conflict");
}

TEST(Histogram, PluginViewPrefixesAndDeclares) {
  MetricsRegistry m;
  PluginMetrics view(m, "chat");
  jarvis::Metrics& pm = view;
  pm.declare_histogram("reply_tokens", jarvis::exponential_buckets(16, 2, 4));
  pm.observe("reply_tokens", 100, {{"provider", "p1"}});
  pm.observe("provider seconds", 0.2);
  const std::string out = m.render();
  EXPECT_TRUE(
      contains(out, "jarvis_plugin_chat_reply_tokens_bucket{provider=\"p1\",le=\"16\"} 0\n"))
      << out;
  EXPECT_TRUE(
      contains(out, "jarvis_plugin_chat_reply_tokens_bucket{provider=\"p1\",le=\"128\"} 1\n"))
      << out;
  EXPECT_TRUE(contains(out, "jarvis_plugin_chat_reply_tokens_count{provider=\"p1\"} 1\n")) << out;
  EXPECT_TRUE(contains(out, "jarvis_plugin_chat_provider_seconds_bucket{le=\"0.25\"} 1\n")) << out;
  EXPECT_EQ(code_of([&] { pm.declare_histogram("reply_tokens", {1}); }), "metric_buckets_conflict");
}

TEST(Histogram, BucketHelpers) {
  EXPECT_EQ(jarvis::exponential_buckets(1, 10, 3), (std::vector<double>{1, 10, 100}));
  EXPECT_EQ(jarvis::linear_buckets(5, 5, 3), (std::vector<double>{5, 10, 15}));
  EXPECT_TRUE(jarvis::exponential_buckets(0, 2, 3).empty());
  EXPECT_TRUE(jarvis::linear_buckets(1, 0, 3).empty());
}

TEST(GaugeReset, DropsStaleSeries) {
  MetricsRegistry m;
  m.gauge_set("reason", "", {{"reason", "old"}}, 1);
  m.gauge_reset("reason");
  m.gauge_set("reason", "", {{"reason", "new"}}, 1);
  const std::string out = m.render();
  EXPECT_FALSE(contains(out, "old")) << out;
  EXPECT_TRUE(contains(out, "reason{reason=\"new\"} 1\n")) << out;
}

}  // namespace
}  // namespace jarvis::host
