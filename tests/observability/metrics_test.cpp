// tests/observability/metrics_test.cpp — the metrics registry and its Prometheus text exposition
// (0.0.4): HELP/TYPE lines, label escaping, histogram buckets, type conflicts, collectors, the
// /proc process collector and the per-plugin view.
#include "observability/metrics.h"

#include <chrono>
#include <cmath>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "jarvis/error.h"

using jarvis::host::MetricsRegistry;
using jarvis::host::PluginMetrics;

namespace {

// The value of the first sample line starting with `series` (e.g. `name{a="b"}`), or NaN.
double sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return std::nan("");
}

}  // namespace

TEST(Metrics, CounterAndGaugeExposition) {
  MetricsRegistry m;
  m.counter_add("jarvis_jobs_total", "Jobs run.", {{"result", "ok"}});
  m.counter_add("jarvis_jobs_total", "Jobs run.", {{"result", "ok"}}, 2);
  m.counter_add("jarvis_jobs_total", "Jobs run.", {{"result", "failed"}});
  m.gauge_set("jarvis_queue_depth", "Queued tasks.", {}, 5.5);
  EXPECT_EQ(m.render(),
            "# HELP jarvis_jobs_total Jobs run.\n"
            "# TYPE jarvis_jobs_total counter\n"
            "jarvis_jobs_total{result=\"failed\"} 1\n"
            "jarvis_jobs_total{result=\"ok\"} 3\n"
            "# HELP jarvis_queue_depth Queued tasks.\n"
            "# TYPE jarvis_queue_depth gauge\n"
            "jarvis_queue_depth 5.5\n");
  EXPECT_EQ(m.value("jarvis_jobs_total", {{"result", "ok"}}), 3);
  EXPECT_EQ(m.value("jarvis_queue_depth"), 5.5);
  EXPECT_EQ(m.value("absent"), 0);
  EXPECT_EQ(m.value("jarvis_jobs_total", {{"result", "other"}}), 0);
}

TEST(Metrics, EscapesLabelValuesAndHelp) {
  MetricsRegistry m;
  m.counter_add("x_total", "Line one\nback\\slash", {{"path", "a\"b\\c\nd"}, {"bad-name", "v"}});
  std::string text = m.render();
  EXPECT_NE(text.find("# HELP x_total Line one\\nback\\\\slash\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_total{bad_name=\"v\",path=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos)
      << text;
}

TEST(Metrics, HistogramBucketsAreCumulativeWithInf) {
  MetricsRegistry m;
  for (double v : {0.0001, 0.003, 0.003, 0.2, 42.0})
    m.histogram_observe("lat_seconds", "Latency.", {{"route", "/x"}}, v);
  std::string t = m.render();
  EXPECT_NE(t.find("# TYPE lat_seconds histogram\n"), std::string::npos);
  EXPECT_EQ(sample(t, "lat_seconds_bucket{route=\"/x\",le=\"0.0005\"}"), 1);
  EXPECT_EQ(sample(t, "lat_seconds_bucket{route=\"/x\",le=\"0.0025\"}"), 1);
  EXPECT_EQ(sample(t, "lat_seconds_bucket{route=\"/x\",le=\"0.005\"}"), 3);
  EXPECT_EQ(sample(t, "lat_seconds_bucket{route=\"/x\",le=\"0.25\"}"), 4);
  EXPECT_EQ(sample(t, "lat_seconds_bucket{route=\"/x\",le=\"10\"}"), 4);
  EXPECT_EQ(sample(t, "lat_seconds_bucket{route=\"/x\",le=\"+Inf\"}"), 5);
  EXPECT_DOUBLE_EQ(sample(t, "lat_seconds_sum{route=\"/x\"}"), 0.0001 + 0.003 + 0.003 + 0.2 + 42.0);
  EXPECT_EQ(sample(t, "lat_seconds_count{route=\"/x\"}"), 5);
  EXPECT_EQ(m.value("lat_seconds", {{"route", "/x"}}), 5);
  // Buckets come in increasing order of le.
  EXPECT_LT(t.find("le=\"0.0005\""), t.find("le=\"0.001\""));
  EXPECT_LT(t.find("le=\"10\""), t.find("le=\"+Inf\""));
}

TEST(Metrics, FamiliesSortedAndNamesSanitized) {
  MetricsRegistry m;
  m.gauge_set("b_gauge", "b", {}, 1);
  m.gauge_set("a-gauge.with dots", "a", {}, 2);
  m.gauge_set("9lives", "n", {}, 3);
  std::string t = m.render();
  EXPECT_LT(t.find("# HELP _9lives"), t.find("# HELP a_gauge_with_dots"));
  EXPECT_LT(t.find("# HELP a_gauge_with_dots"), t.find("# HELP b_gauge"));
  EXPECT_EQ(m.value("a-gauge.with dots"), 2);
  EXPECT_EQ(jarvis::host::sanitize_metric_name("ok_name:sub"), "ok_name:sub");
}

TEST(Metrics, RefusesTypeConflictsAndNegativeIncrements) {
  MetricsRegistry m;
  m.counter_add("c_total", "c");
  try {
    m.gauge_set("c_total", "c", {}, 1);
    FAIL() << "type conflict accepted";
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.code(), "metric_type_conflict");
    EXPECT_NE(std::string(e.what()).find("counter"), std::string::npos);
  }
  EXPECT_THROW(m.histogram_observe("c_total", "c", {}, 1), jarvis::Error);
  try {
    m.counter_add("c_total", "c", {}, -1);
    FAIL() << "negative increment accepted";
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.code(), "invalid_metric_value");
  }
  EXPECT_THROW(m.counter_add("c_total", "c", {}, std::nan("")), jarvis::Error);
  EXPECT_EQ(m.value("c_total"), 1);
}

TEST(Metrics, CollectorsRunOnRenderAndFailuresAreIsolated) {
  MetricsRegistry m;
  int runs = 0;
  m.add_collector([&](MetricsRegistry& r) { r.gauge_set("depth", "d", {}, ++runs); });
  m.add_collector([](MetricsRegistry&) { throw std::runtime_error("collector broke"); });
  m.render();
  std::string t = m.render();
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(sample(t, "depth"), 2);
}

TEST(Metrics, ConcurrentIncrementsAreExact) {
  MetricsRegistry m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&m, t] {
      for (int i = 0; i < 5000; ++i) {
        m.counter_add("hits_total", "h", {{"t", std::to_string(t % 2)}});
        m.histogram_observe("h_seconds", "h", {}, 0.001);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(m.value("hits_total", {{"t", "0"}}) + m.value("hits_total", {{"t", "1"}}), 20000);
  EXPECT_EQ(m.value("h_seconds"), 20000);
}

TEST(Metrics, ProcessCollectorReadsProc) {
  MetricsRegistry m;
  jarvis::host::register_process_collector(m);
  std::string t = m.render();
  EXPECT_NE(t.find("# TYPE process_cpu_seconds_total counter\n"), std::string::npos) << t;
  EXPECT_NE(t.find("# TYPE process_resident_memory_bytes gauge\n"), std::string::npos) << t;
  EXPECT_GT(sample(t, "process_resident_memory_bytes"), 0);
  EXPECT_GT(sample(t, "process_virtual_memory_bytes"),
            sample(t, "process_resident_memory_bytes") - 1);
  EXPECT_GE(sample(t, "process_cpu_seconds_total"), 0);
  EXPECT_GE(sample(t, "process_open_fds"), 3);  // stdin, stdout, stderr at least
  double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  double start = sample(t, "process_start_time_seconds");
  EXPECT_GT(start, now - 24 * 3600 * 365) << "started within the last year";
  EXPECT_LE(start, now + 1);
  EXPECT_FALSE(std::isnan(sample(t, "process_max_fds")));
}

TEST(Metrics, PluginMetricsArePrefixedAndSanitized) {
  MetricsRegistry m;
  PluginMetrics p(m, "my-plugin");
  p.increment("messages.sent", 2, {{"channel", "wa"}});
  p.set_gauge("queue depth", 4, {});
  std::string t = m.render();
  EXPECT_NE(t.find("# TYPE jarvis_plugin_my_plugin_messages_sent counter\n"), std::string::npos)
      << t;
  EXPECT_EQ(sample(t, "jarvis_plugin_my_plugin_messages_sent{channel=\"wa\"}"), 2);
  EXPECT_EQ(sample(t, "jarvis_plugin_my_plugin_queue_depth"), 4);
  jarvis::Metrics& sdk_view = p;
  sdk_view.increment("messages.sent");
  EXPECT_EQ(m.value("jarvis_plugin_my_plugin_messages_sent", {{"channel", "wa"}}), 2);
  EXPECT_EQ(m.value("jarvis_plugin_my_plugin_messages_sent"), 1);
  EXPECT_THROW(p.increment("messages.sent", -3, {}), jarvis::Error);
}
