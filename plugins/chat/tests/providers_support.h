// chat/tests/providers_support.h — what the providers_*_test.cpp files share: a Metrics and an
// event sink that record, a sleep that records the router's backoff delays instead of waiting,
// provider settings pointing at a FakeLlmServer, and a scripted in-memory Provider.
//
//   Recorder rec;                                         // events, metrics, backoff delays
//   FakeLlmServer fake(FakeLlmServer::Dialect::openai);
//   auto p = chat::make_provider(settings_for(fake, "openai"), http());
//   auto router = chat::make_router(rec.env(), settings, {p});
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "jarvis/metrics.h"
#include "net/http_client.h"
#include "provider.h"
#include "support/fakes/fake_llm_server.h"

namespace chat::test {

using jarvis::test::fakes::FakeLlmServer;

/// The real outbound client of the host (curl), shared by the tests.
inline jarvis::HttpClient& http() {
  static jarvis::host::CurlHttpClient client;
  return client;
}

/// Counters and histogram observations, keyed "name{k=v,…}".
class RecordingMetrics : public jarvis::Metrics {
 public:
  void increment(const std::string& name, double by, const jarvis::MetricLabels& labels) override {
    std::lock_guard lock(mu_);
    counters_[key(name, labels)] += by;
  }
  void set_gauge(const std::string& name, double value,
                 const jarvis::MetricLabels& labels) override {
    std::lock_guard lock(mu_);
    counters_[key(name, labels)] = value;
  }
  void declare_histogram(const std::string& name, std::vector<double>) override {
    std::lock_guard lock(mu_);
    declared_.push_back(name);
  }
  void observe(const std::string& name, double, const jarvis::MetricLabels& labels) override {
    std::lock_guard lock(mu_);
    counters_[key(name + "_count", labels)] += 1;  // as Prometheus names it
  }
  /// The counter's value (0 when never touched).
  double value(const std::string& name, const jarvis::MetricLabels& labels = {}) const {
    std::lock_guard lock(mu_);
    auto it = counters_.find(key(name, labels));
    return it == counters_.end() ? 0 : it->second;
  }
  std::vector<std::string> declared() const {
    std::lock_guard lock(mu_);
    return declared_;
  }

 private:
  static std::string key(const std::string& name, const jarvis::MetricLabels& labels) {
    std::string k = name + "{";
    for (const auto& [n, v] : labels) k += n + "=" + v + ",";
    return k + "}";
  }
  mutable std::mutex mu_;
  std::map<std::string, double> counters_;
  std::vector<std::string> declared_;
};

/// Events, metrics and backoff delays of one router.
class Recorder {
 public:
  /// A RouterEnv recording into this object (which must outlive the router).
  chat::RouterEnv env() {
    chat::RouterEnv e;
    e.emit = [this](jarvis::Event ev) {
      std::lock_guard lock(mu_);
      events_.push_back(std::move(ev));
    };
    e.metrics = &metrics;
    e.sleep = [this](std::chrono::milliseconds d, const jarvis::CancelToken& cancel) {
      {
        std::lock_guard lock(mu_);
        sleeps_.push_back(d);
      }
      if (on_sleep) on_sleep();
      return !cancel.cancelled();
    };
    return e;
  }
  std::vector<jarvis::Event> events(const std::string& type = "") const {
    std::lock_guard lock(mu_);
    std::vector<jarvis::Event> out;
    for (const auto& e : events_) {
      if (type.empty() || e.type == type) out.push_back(e);
    }
    return out;
  }
  std::vector<std::chrono::milliseconds> sleeps() const {
    std::lock_guard lock(mu_);
    return sleeps_;
  }

  RecordingMetrics metrics;
  std::function<void()> on_sleep;  ///< runs inside each recorded sleep (e.g. to cancel)

 private:
  mutable std::mutex mu_;
  std::vector<jarvis::Event> events_;
  std::vector<std::chrono::milliseconds> sleeps_;
};

/// Settings of provider `name` (dialect from the fake) pointing at `fake`, configured, with a key.
inline chat::ProviderSettings settings_for(const FakeLlmServer& fake, const std::string& name,
                                           const std::string& model = "fake-model",
                                           const std::string& key = "test-key-123") {
  chat::ProviderSettings s;
  s.name = name;
  s.dialect = FakeLlmServer::dialect_name(fake.dialect());
  s.base_url = fake.base_url();
  s.api_key = jarvis::Secret(key);
  s.model = model;
  s.timeout = std::chrono::seconds(60);
  s.idle_timeout = std::chrono::seconds(30);
  s.max_output_tokens = 256;
  s.configured = true;
  s.setup_hint = name + "_SETTING";
  return s;
}

/// Router settings: `order` (primary first), `retries` retries, no real waiting needed (the
/// Recorder's sleep records).
inline chat::RouterSettings order_of(std::vector<std::string> order, int retries = 2) {
  chat::RouterSettings s;
  s.primary = order.empty() ? "" : order.front();
  s.fallbacks.assign(order.begin() + (order.empty() ? 0 : 1), order.end());
  s.max_retries = retries;
  s.max_backoff = std::chrono::seconds(10);
  s.cooldown = std::chrono::seconds(60);
  return s;
}

/// A Provider answering from a script of steps (FIFO); each step returns a result or throws.
class ScriptedProvider : public chat::Provider {
 public:
  using Step = std::function<chat::ModelResult(const chat::ModelRequest&, const chat::StreamSink&)>;

  ScriptedProvider(std::string name, std::string model, bool configured = true)
      : name_(std::move(name)), model_(std::move(model)), configured_(configured) {}

  const std::string& name() const override { return name_; }
  const std::string& default_model() const override { return model_; }
  bool configured() const override { return configured_; }
  std::string setup_hint() const override { return "SET_" + name_; }

  chat::ModelResult generate(const chat::ModelRequest& r, const chat::StreamSink& sink) override {
    Step step;
    {
      std::lock_guard lock(mu_);
      calls_.push_back(r);
      if (script_.empty()) {
        step = [](const chat::ModelRequest&, const chat::StreamSink& s) {
          if (s.on_text) s.on_text("default");
          chat::ModelResult out;
          out.text = "default";
          return out;
        };
      } else {
        step = std::move(script_.front());
        script_.pop_front();
      }
    }
    return step(r, sink);
  }

  void push(Step s) {
    std::lock_guard lock(mu_);
    script_.push_back(std::move(s));
  }
  /// A step answering `text` (streamed in one delta) with the given usage.
  void push_text(std::string text, long in = 3, long out = 4) {
    push([text, in, out](const chat::ModelRequest&, const chat::StreamSink& s) {
      if (s.on_text) s.on_text(text);
      chat::ModelResult r;
      r.text = text;
      r.finish_reason = "stop";
      r.input_tokens = in;
      r.output_tokens = out;
      return r;
    });
  }
  /// A step failing with `e` (after streaming `streamed` first, when given).
  void push_error(chat::ProviderError e, std::string streamed = "") {
    push([e, streamed](const chat::ModelRequest&, const chat::StreamSink& s) -> chat::ModelResult {
      chat::ProviderError copy = e;
      if (!streamed.empty()) {
        if (s.on_text) s.on_text(streamed);
        copy.partial = true;
      }
      throw copy;
    });
  }
  std::vector<chat::ModelRequest> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  std::string name_;
  std::string model_;
  bool configured_;
  mutable std::mutex mu_;
  std::deque<Step> script_;
  std::vector<chat::ModelRequest> calls_;
};

/// A ProviderError as a provider would throw it.
inline chat::ProviderError failure(const std::string& kind, bool retryable, int status = 0,
                                   std::optional<std::chrono::milliseconds> retry_after = {}) {
  std::string outage = kind == "timeout" || kind == "stalled" ? "timeout" : "provider_unavailable";
  return chat::ProviderError("scripted " + kind, outage, kind, status, retryable, retry_after);
}

}  // namespace chat::test
