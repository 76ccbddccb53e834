// The model router: PRIMARY_PROVIDER then FALLBACK_PROVIDERS (unknown names reported, unconfigured
// providers skipped); per provider up to MODEL_MAX_RETRIES retries of retryable failures with
// exponential backoff and jitter, capped by MODEL_RETRY_MAX_BACKOFF_SECONDS and honouring
// Retry-After; a 429 puts that (provider, model) on a cooldown and fails over at once; no retry
// or failover once text was streamed; cancellation stops at once, also during a backoff. Emits
// model.run.start|end|error and model.fallback, records metrics and a read-only health snapshot.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <spdlog/logger.h>

#include "jarvis/host.h"
#include "jarvis/metrics.h"
#include "provider.h"
#include "providers/wire.h"

namespace chat {

namespace {

using jarvis::Json;
using std::chrono::milliseconds;
using SystemClock = std::chrono::system_clock;
using SteadyClock = std::chrono::steady_clock;

std::string iso(SystemClock::time_point t) {
  auto ms = std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[96];  // room for any int the compiler cannot rule out
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

bool real_sleep(milliseconds delay, const jarvis::CancelToken& cancel) {
  const auto until = SteadyClock::now() + delay;
  while (SteadyClock::now() < until) {
    if (cancel.cancelled()) return false;
    auto left = std::chrono::duration_cast<milliseconds>(until - SteadyClock::now());
    std::this_thread::sleep_for(std::clamp(left, milliseconds(0), milliseconds(20)));
  }
  return !cancel.cancelled();
}

Json error_json(const ProviderError& e) {
  Json j{{"kind", e.kind},
         {"outage_class", e.outage_class},
         {"status", e.http_status},
         {"message", e.what()},
         {"retryable", e.retryable}};
  if (e.retry_after) j["retry_after_ms"] = e.retry_after->count();
  return j;
}

ProviderError cancelled_error(const std::string& provider, const std::string& model) {
  ProviderError e("model request cancelled", "", "cancelled");
  e.provider = provider;
  e.model = model;
  return e;
}

/// Latency buckets (seconds) of model_latency_seconds: 50 ms … 2 min.
const std::vector<double> kLatencyBuckets = {0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120};

class Router : public ModelRouter {
 public:
  Router(RouterEnv env, RouterSettings settings, std::vector<std::shared_ptr<Provider>> providers)
      : env_(std::move(env)), settings_(std::move(settings)), all_(std::move(providers)) {
    if (!env_.sleep) env_.sleep = real_sleep;
    std::vector<std::string> names{settings_.primary};
    names.insert(names.end(), settings_.fallbacks.begin(), settings_.fallbacks.end());
    std::set<std::string> seen;
    for (const auto& n : names) {
      if (n.empty() || !seen.insert(n).second) continue;
      if (auto p = find(n)) {
        order_.push_back(p);
      } else {
        unknown_.push_back(n);
      }
    }
    if (env_.log && !unknown_.empty()) {
      std::string list;
      for (const auto& u : unknown_) list += (list.empty() ? "" : ", ") + u;
      env_.log->warn(
          "model router: unknown provider name(s) in PRIMARY_PROVIDER / "
          "FALLBACK_PROVIDERS skipped: {}",
          list);
    }
    if (env_.metrics) {
      try {
        env_.metrics->declare_histogram("model_latency_seconds", kLatencyBuckets);
      } catch (const std::exception& e) {
        if (env_.log) env_.log->warn("model router: latency histogram: {}", e.what());
      }
    }
  }

  bool configured() const override {
    return std::any_of(order_.begin(), order_.end(), [](const auto& p) { return p->configured(); });
  }

  std::string not_configured_message() const override {
    std::string msg =
        "No language model provider is configured, so only slash commands work (try /help). "
        "To enable replies, set ";
    std::string hints;
    for (std::size_t i = 0; i < all_.size(); ++i) {
      std::string h = all_[i]->setup_hint();
      if (h.empty()) continue;
      if (!hints.empty()) hints += i + 1 == all_.size() ? " or " : ", ";
      hints += h + " for " + all_[i]->name();
    }
    msg += hints.empty() ? "a provider's settings" : hints;
    msg += ", and choose the order with PRIMARY_PROVIDER (now: " + settings_.primary +
           ") and FALLBACK_PROVIDERS.";
    for (const auto& p : all_) {
      bool in_order = std::find(order_.begin(), order_.end(), p) != order_.end();
      if (p->configured() && !in_order) {
        msg += " " + p->name() +
               " is configured but not named in PRIMARY_PROVIDER or FALLBACK_PROVIDERS.";
      }
    }
    if (!unknown_.empty()) {
      std::string list;
      for (const auto& u : unknown_) list += (list.empty() ? "" : ", ") + u;
      msg += " Unknown provider name(s) ignored: " + list + ".";
    }
    return msg;
  }

  std::vector<std::string> order() const override {
    std::vector<std::string> out;
    for (const auto& p : order_) out.push_back(p->name());
    return out;
  }

  ModelResult generate(const ModelRequest& request, const StreamSink& sink,
                       RouteReport* report) override {
    RouteReport local;
    RouteReport& rep = report ? *report : local;
    std::vector<std::shared_ptr<Provider>> candidates;
    if (!request.provider.empty()) {
      auto p = find(request.provider);
      if (!p) {
        ProviderError e("unknown model provider '" +
                            wire::sanitize_provider_text(request.provider, "", 40) + "'",
                        "provider_unavailable", "request_error");
        rep.failures.push_back(e);
        throw e;
      }
      if (p->configured()) candidates.push_back(p);
    } else {
      for (const auto& p : order_) {
        if (p->configured()) candidates.push_back(p);
      }
    }
    if (candidates.empty()) {
      ProviderError e(not_configured_message(), "provider_unavailable", "not_configured");
      rep.failures.push_back(e);
      throw e;
    }

    std::optional<ProviderError> last;
    std::shared_ptr<Provider> previous;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      const auto& p = candidates[i];
      const std::string model =
          i == 0 && !request.model.empty() ? request.model : p->default_model();
      const std::string lane = !request.provider.empty() || (!order_.empty() && p == order_.front())
                                   ? "primary"
                                   : "fallback";
      if (request.cancel.cancelled()) throw cancelled_error(p->name(), model);
      if (previous && last) on_fallback(request, *previous, *p, model, *last);
      previous = p;

      if (auto left = cooldown_left(p->name(), model)) {
        ProviderError e(p->name() + ": model " + wire::sanitize_provider_text(model, "", 80) +
                            " is cooling down after a rate limit",
                        "provider_unavailable", "rate_limited", 429, true, *left);
        e.provider = p->name();
        e.model = model;
        rep.failures.push_back(e);
        last = e;
        continue;
      }

      for (int attempt = 0;; ++attempt) {
        if (request.cancel.cancelled()) throw cancelled_error(p->name(), model);
        ModelRequest req = request;
        req.model = model;
        emit(request, "model.run.start",
             {{"provider", p->name()}, {"model", model}, {"lane", lane}, {"attempt", attempt + 1}});
        if (sink.on_attempt) sink.on_attempt(p->name());
        const auto started = SteadyClock::now();
        try {
          ModelResult r = p->generate(req, sink);
          r.provider = p->name();
          if (r.model.empty()) r.model = model;
          r.latency_ms = static_cast<long>(
              std::chrono::duration_cast<milliseconds>(SteadyClock::now() - started).count());
          on_success(request, r, lane, attempt);
          rep.lane = lane;
          return r;
        } catch (ProviderError& e) {
          if (e.provider.empty()) e.provider = p->name();
          if (e.model.empty()) e.model = model;
          rep.failures.push_back(e);
          on_error(request, e, lane, attempt);
          if (e.kind == "cancelled" || request.cancel.cancelled()) {
            throw cancelled_error(p->name(), model);
          }
          if (e.partial) throw;  // the caller has seen part of this answer
          last = e;
          if (e.kind == "rate_limited") {
            start_cooldown(p->name(), model, e.retry_after.value_or(settings_.cooldown));
            break;  // fail over at once; retrying in place would meet the same limit
          }
          if (!e.retryable || attempt >= settings_.max_retries) break;
          milliseconds delay = backoff(attempt);
          if (e.retry_after) {
            if (*e.retry_after > settings_.max_backoff) break;  // longer than we wait: fail over
            delay = std::max(delay, *e.retry_after);
          }
          if (!env_.sleep(delay, request.cancel)) throw cancelled_error(p->name(), model);
        }
      }
    }
    // Every provider failed. When the last failure is a rate limit, say when the soonest of the
    // rate-limited models may be asked again.
    if (last->kind == "rate_limited") {
      for (const auto& f : rep.failures) {
        if (f.kind == "rate_limited" && f.retry_after &&
            (!last->retry_after || *f.retry_after < *last->retry_after)) {
          last->retry_after = f.retry_after;
        }
      }
    }
    throw *last;
  }

  Json health() const override {
    std::lock_guard lock(mu_);
    const auto now = SystemClock::now();
    Json providers = Json::array();
    for (const auto& p : all_) {
      Json h{{"name", p->name()},
             {"model", p->default_model()},
             {"configured", p->configured()},
             {"in_order", std::find(order_.begin(), order_.end(), p) != order_.end()},
             {"last_success", nullptr},
             {"last_failure", nullptr},
             {"last_error", nullptr},
             {"models", Json::array()},
             {"cooldowns", Json::array()}};
      if (auto it = health_.find(p->name()); it != health_.end()) {
        const ProviderHealth& ph = it->second;
        if (ph.last_success) h["last_success"] = *ph.last_success;
        if (ph.last_failure) h["last_failure"] = *ph.last_failure;
        if (ph.last_failure) h["last_error"] = (*ph.last_failure)["error"];
        for (const auto& [model, mh] : ph.models) {
          h["models"].push_back({{"model", model},
                                 {"last_success", mh.last_success.value_or(Json(nullptr))},
                                 {"last_failure", mh.last_failure.value_or(Json(nullptr))}});
        }
      }
      for (const auto& [key, until] : cooldowns_) {
        if (key.first != p->name() || until <= now) continue;
        h["cooldowns"].push_back(
            {{"model", key.second},
             {"until", iso(until)},
             {"remaining_ms", std::chrono::duration_cast<milliseconds>(until - now).count()}});
      }
      providers.push_back(std::move(h));
    }
    return Json{{"primary", settings_.primary},
                {"order", order()},
                {"unknown", unknown_},
                {"configured", configured()},
                {"providers", std::move(providers)}};
  }

 private:
  struct ModelHealth {
    std::optional<Json> last_success;
    std::optional<Json> last_failure;
  };
  struct ProviderHealth {
    std::optional<Json> last_success;
    std::optional<Json> last_failure;
    std::map<std::string, ModelHealth> models;
  };

  std::shared_ptr<Provider> find(const std::string& name) const {
    for (const auto& p : all_) {
      if (p->name() == name) return p;
    }
    return nullptr;
  }

  std::optional<milliseconds> cooldown_left(const std::string& provider, const std::string& model) {
    std::lock_guard lock(mu_);
    auto it = cooldowns_.find({provider, model});
    if (it == cooldowns_.end()) return std::nullopt;
    auto now = SystemClock::now();
    if (it->second <= now) {
      cooldowns_.erase(it);
      return std::nullopt;
    }
    return std::chrono::duration_cast<milliseconds>(it->second - now);
  }

  void start_cooldown(const std::string& provider, const std::string& model, milliseconds d) {
    if (d <= milliseconds(0)) d = settings_.cooldown;
    std::lock_guard lock(mu_);
    auto until = SystemClock::now() + d;
    auto& slot = cooldowns_[{provider, model}];
    slot = std::max(slot, until);
  }

  milliseconds backoff(int attempt) {
    const double base = static_cast<double>(settings_.base_backoff.count());
    double d = std::min(static_cast<double>(settings_.max_backoff.count()),
                        base * static_cast<double>(1LL << std::min(attempt, 20)));
    thread_local std::mt19937_64 rng{std::random_device{}()};
    std::uniform_real_distribution<double> jitter(0.5, 1.0);  // "equal jitter": d/2 … d
    return milliseconds(static_cast<long long>(d * jitter(rng)));
  }

  void emit(const ModelRequest& r, const std::string& type, Json payload) {
    if (!env_.emit) return;
    if (!r.purpose.empty()) payload["purpose"] = r.purpose;
    try {
      env_.emit(jarvis::Event{.type = type,
                              .payload = std::move(payload),
                              .thread_id = r.thread_id,
                              .trace_id = r.trace_id,
                              .actor_type = "system",
                              .actor_id = "chat.router"});
    } catch (const std::exception& e) {
      // The answer matters more than its event: note it and go on.
      if (env_.log) env_.log->warn("model router: emitting {} failed: {}", type, e.what());
    }
  }

  template <class F>
  void metric(F&& f) {
    if (!env_.metrics) return;
    try {
      f(*env_.metrics);
    } catch (const std::exception& e) {
      if (env_.log) env_.log->warn("model router: metric failed: {}", e.what());
    }
  }

  void on_success(const ModelRequest& req, const ModelResult& r, const std::string& lane,
                  int attempt) {
    Json outcome{{"at", iso(SystemClock::now())}, {"model", r.model}, {"latency_ms", r.latency_ms}};
    {
      std::lock_guard lock(mu_);
      auto& ph = health_[r.provider];
      ph.last_success = outcome;
      ph.models[r.model].last_success = outcome;
    }
    emit(req, "model.run.end",
         {{"provider", r.provider},
          {"model", r.model},
          {"lane", lane},
          {"attempt", attempt + 1},
          {"latency_ms", r.latency_ms},
          {"input_tokens", r.input_tokens},
          {"output_tokens", r.output_tokens},
          {"tokens", r.input_tokens + r.output_tokens},
          {"finish_reason", r.finish_reason},
          {"tool_calls", r.tool_calls.size()}});
    metric([&](jarvis::Metrics& m) {
      m.observe("model_latency_seconds", static_cast<double>(r.latency_ms) / 1000.0,
                {{"provider", r.provider}, {"model", r.model}});
      m.increment("model_tokens_total", static_cast<double>(std::max(0L, r.input_tokens)),
                  {{"provider", r.provider}, {"model", r.model}, {"direction", "input"}});
      m.increment("model_tokens_total", static_cast<double>(std::max(0L, r.output_tokens)),
                  {{"provider", r.provider}, {"model", r.model}, {"direction", "output"}});
      m.increment("model_requests_total", 1,
                  {{"provider", r.provider}, {"model", r.model}, {"outcome", "ok"}});
      if (!req.purpose.empty()) {
        m.increment("model_purpose_tokens_total", static_cast<double>(std::max(0L, r.input_tokens)),
                    {{"purpose", req.purpose}, {"direction", "input"}});
        m.increment("model_purpose_tokens_total",
                    static_cast<double>(std::max(0L, r.output_tokens)),
                    {{"purpose", req.purpose}, {"direction", "output"}});
      }
    });
  }

  void on_error(const ModelRequest& req, const ProviderError& e, const std::string& lane,
                int attempt) {
    if (e.kind != "cancelled") {
      Json outcome{{"at", iso(SystemClock::now())}, {"model", e.model}, {"error", error_json(e)}};
      std::lock_guard lock(mu_);
      auto& ph = health_[e.provider];
      ph.last_failure = outcome;
      ph.models[e.model].last_failure = outcome;
    }
    Json payload{
        {"provider", e.provider},  {"model", e.model},         {"lane", lane},
        {"attempt", attempt + 1},  {"kind", e.kind},           {"outage_class", e.outage_class},
        {"status", e.http_status}, {"retryable", e.retryable}, {"partial", e.partial},
        {"message", e.what()}};
    if (e.retry_after) payload["retry_after_ms"] = e.retry_after->count();
    emit(req, "model.run.error", std::move(payload));
    metric([&](jarvis::Metrics& m) {
      m.increment("model_errors_total", 1, {{"provider", e.provider}, {"kind", e.kind}});
      m.increment("model_requests_total", 1,
                  {{"provider", e.provider}, {"model", e.model}, {"outcome", "error"}});
    });
    if (env_.log) {
      env_.log->warn("model {}/{} failed (attempt {}): {} [{} {}]", e.provider, e.model,
                     attempt + 1, e.what(), e.kind, e.outage_class);
    }
  }

  void on_fallback(const ModelRequest& req, const Provider& from, const Provider& to,
                   const std::string& to_model, const ProviderError& why) {
    emit(req, "model.fallback",
         {{"from", from.name()},
          {"from_model", why.model},
          {"to", to.name()},
          {"to_model", to_model},
          {"primary_error", error_json(why)}});
    metric([&](jarvis::Metrics& m) {
      m.increment("model_fallbacks_total", 1, {{"from", from.name()}, {"to", to.name()}});
    });
  }

  RouterEnv env_;
  RouterSettings settings_;
  std::vector<std::shared_ptr<Provider>> all_;    // every provider, for request.provider
  std::vector<std::shared_ptr<Provider>> order_;  // primary, then fallbacks
  std::vector<std::string> unknown_;

  mutable std::mutex mu_;  // guards health_ and cooldowns_
  std::map<std::string, ProviderHealth> health_;
  std::map<std::pair<std::string, std::string>, SystemClock::time_point> cooldowns_;
};

RouterEnv host_env(jarvis::Host& host) {
  RouterEnv env;
  env.emit = [&host](jarvis::Event e) { host.events().emit(std::move(e)); };
  env.metrics = &host.metrics();
  env.log = host.log();
  return env;
}

}  // namespace

std::unique_ptr<ModelRouter> make_router(RouterEnv env, RouterSettings settings,
                                         std::vector<std::shared_ptr<Provider>> providers) {
  return std::make_unique<Router>(std::move(env), std::move(settings), std::move(providers));
}

std::unique_ptr<ModelRouter> make_router(jarvis::Host& host) {
  std::vector<std::shared_ptr<Provider>> providers;
  for (auto& s : provider_settings(host.config())) {
    providers.push_back(make_provider(std::move(s), host.http()));
  }
  return make_router(host_env(host), router_settings(host.config()), std::move(providers));
}

std::unique_ptr<ModelRouter> make_router(jarvis::Host& host,
                                         std::vector<std::shared_ptr<Provider>> providers) {
  RouterSettings settings = router_settings(host.config());
  settings.fallbacks.clear();
  settings.primary = providers.empty() ? "" : providers.front()->name();
  for (std::size_t i = 1; i < providers.size(); ++i) {
    settings.fallbacks.push_back(providers[i]->name());
  }
  return make_router(host_env(host), std::move(settings), std::move(providers));
}

}  // namespace chat
