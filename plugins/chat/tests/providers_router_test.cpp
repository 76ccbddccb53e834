// chat/tests/providers_router_test.cpp — the model router over scripted in-memory providers:
// order (primary, fallbacks, unknown names, unconfigured providers skipped), retries with backoff
// capped by MODEL_RETRY_MAX_BACKOFF_SECONDS and honouring Retry-After, no retry or failover after
// streamed text, cancellation during a backoff, request.provider / request.model, the
// not-configured message, and health() as a read-only snapshot.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "jarvis/cancel.h"
#include "providers_support.h"

namespace {

using chat::ModelRequest;
using chat::ProviderError;
using chat::StreamSink;
using chat::test::failure;
using chat::test::order_of;
using chat::test::Recorder;
using chat::test::ScriptedProvider;
using std::chrono::milliseconds;
using std::chrono::seconds;

ModelRequest ask() {
  ModelRequest r;
  r.messages = {{.role = "user", .content = "hi"}};
  r.thread_id = "t";
  r.trace_id = "tr";
  return r;
}

std::shared_ptr<ScriptedProvider> scripted(const std::string& name, bool configured = true) {
  return std::make_shared<ScriptedProvider>(name, name + "-model", configured);
}

TEST(ModelRouter, OrderSkipsUnknownAndUnconfiguredProviders) {
  auto a = scripted("a", false);
  auto b = scripted("b");
  auto c = scripted("c");
  Recorder rec;
  auto router = chat::make_router(rec.env(), order_of({"a", "nope", "b", "a", "c"}), {c, b, a});
  EXPECT_EQ(router->order(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(router->configured());
  chat::RouteReport report;
  auto r = router->generate(ask(), {}, &report);
  EXPECT_EQ(r.provider, "b");
  EXPECT_EQ(report.lane, "fallback");  // the primary (a) is not configured
  EXPECT_TRUE(a->calls().empty());
  EXPECT_TRUE(c->calls().empty());
  auto health = router->health();
  EXPECT_EQ(health["unknown"], (jarvis::Json{"nope"}));
  EXPECT_EQ(health["order"], (jarvis::Json{"a", "b", "c"}));
  EXPECT_NE(router->not_configured_message().find("nope"), std::string::npos);
}

TEST(ModelRouter, NothingConfiguredSaysWhichVariablesToSet) {
  auto a = scripted("a", false);
  auto b = scripted("b", false);
  Recorder rec;
  auto router = chat::make_router(rec.env(), order_of({"a"}), {a, b});
  EXPECT_FALSE(router->configured());
  std::string msg = router->not_configured_message();
  EXPECT_NE(msg.find("SET_a for a"), std::string::npos) << msg;
  EXPECT_NE(msg.find("SET_b for b"), std::string::npos) << msg;
  EXPECT_NE(msg.find("PRIMARY_PROVIDER"), std::string::npos) << msg;
  try {
    router->generate(ask(), {}, nullptr);
    FAIL() << "expected a ProviderError";
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.kind, "not_configured");
    EXPECT_EQ(e.outage_class, "provider_unavailable");
    EXPECT_EQ(std::string(e.what()), msg);
  }
  EXPECT_TRUE(rec.events().empty());
}

TEST(ModelRouter, AConfiguredProviderOutsideTheOrderIsNamed) {
  auto a = scripted("a", false);
  auto b = scripted("b");
  Recorder rec;
  auto router = chat::make_router(rec.env(), order_of({"a"}), {a, b});
  EXPECT_FALSE(router->configured());
  EXPECT_NE(router->not_configured_message().find("b is configured but not named"),
            std::string::npos);
}

TEST(ModelRouter, BackoffGrowsAndStaysUnderTheCap) {
  auto a = scripted("a");
  for (int i = 0; i < 4; ++i) a->push_error(failure("server_error", true, 500));
  a->push_text("finally");
  Recorder rec;
  auto settings = order_of({"a"}, 4);
  settings.base_backoff = milliseconds(400);
  settings.max_backoff = milliseconds(1000);
  auto router = chat::make_router(rec.env(), settings, {a});
  EXPECT_EQ(router->generate(ask(), {}, nullptr).text, "finally");
  auto sleeps = rec.sleeps();
  ASSERT_EQ(sleeps.size(), 4u);
  // Equal jitter: attempt n waits between half and all of min(cap, base * 2^n).
  EXPECT_GE(sleeps[0], milliseconds(200));
  EXPECT_LE(sleeps[0], milliseconds(400));
  EXPECT_GE(sleeps[1], milliseconds(400));
  EXPECT_LE(sleeps[1], milliseconds(800));
  for (std::size_t i = 2; i < sleeps.size(); ++i) {
    EXPECT_GE(sleeps[i], milliseconds(500));
    EXPECT_LE(sleeps[i], milliseconds(1000));
  }
}

TEST(ModelRouter, RetryAfterIsHonouredInPlaceUpToTheCap) {
  auto a = scripted("a");
  a->push_error(failure("server_error", true, 503, seconds(3)));
  a->push_text("ok");
  Recorder rec;
  auto router = chat::make_router(rec.env(), order_of({"a"}, 2), {a});
  EXPECT_EQ(router->generate(ask(), {}, nullptr).text, "ok");
  ASSERT_EQ(rec.sleeps().size(), 1u);
  EXPECT_GE(rec.sleeps()[0], seconds(3));
}

TEST(ModelRouter, RetryAfterBeyondTheCapFailsOverInstead) {
  auto a = scripted("a");
  auto b = scripted("b");
  a->push_error(failure("server_error", true, 503, seconds(600)));
  Recorder rec;
  auto router = chat::make_router(rec.env(), order_of({"a", "b"}, 2), {a, b});
  EXPECT_EQ(router->generate(ask(), {}, nullptr).provider, "b");
  EXPECT_TRUE(rec.sleeps().empty());
  EXPECT_EQ(a->calls().size(), 1u);
}

TEST(ModelRouter, RateLimitWithoutRetryAfterCoolsDownForTheConfiguredTime) {
  auto a = scripted("a");
  auto b = scripted("b");
  a->push_error(failure("rate_limited", true, 429));
  Recorder rec;
  auto settings = order_of({"a", "b"}, 2);
  settings.cooldown = seconds(120);
  auto router = chat::make_router(rec.env(), settings, {a, b});
  EXPECT_EQ(router->generate(ask(), {}, nullptr).provider, "b");
  auto cooldowns = router->health()["providers"][0]["cooldowns"];
  ASSERT_EQ(cooldowns.size(), 1u);
  EXPECT_EQ(cooldowns[0]["model"], "a-model");
  EXPECT_GT(cooldowns[0]["remaining_ms"].get<long long>(), 60000);  // well past a default retry
  EXPECT_LE(cooldowns[0]["remaining_ms"].get<long long>(), 120000);
  EXPECT_TRUE(rec.sleeps().empty());
}

TEST(ModelRouter, EveryProviderCoolingDownFailsAsRateLimited) {
  auto a = scripted("a");
  a->push_error(failure("rate_limited", true, 429, seconds(30)));
  Recorder rec;
  auto router = chat::make_router(rec.env(), order_of({"a"}, 2), {a});
  EXPECT_THROW(router->generate(ask(), {}, nullptr), ProviderError);
  try {
    router->generate(ask(), {}, nullptr);
    FAIL() << "expected a ProviderError";
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.kind, "rate_limited");
    ASSERT_TRUE(e.retry_after.has_value());
    EXPECT_LE(*e.retry_after, seconds(30));
  }
  EXPECT_EQ(a->calls().size(), 1u);
}

TEST(ModelRouter, StreamedTextStopsRetriesAndFailover) {
  auto a = scripted("a");
  auto b = scripted("b");
  a->push_error(failure("network", true), "Once upon a ");
  Recorder rec;
  auto router = chat::make_router(rec.env(), order_of({"a", "b"}, 2), {a, b});
  std::string seen;
  StreamSink sink{.on_text = [&](std::string_view t) { seen += t; }};
  try {
    router->generate(ask(), sink, nullptr);
    FAIL() << "expected a ProviderError";
  } catch (const ProviderError& e) {
    EXPECT_TRUE(e.partial);
    EXPECT_EQ(e.provider, "a");
  }
  EXPECT_EQ(seen, "Once upon a ");  // not twice
  EXPECT_EQ(a->calls().size(), 1u);
  EXPECT_TRUE(b->calls().empty());
}

TEST(ModelRouter, NonRetryableFailuresFailOverWithoutRetrying) {
  for (std::string kind : {"auth", "request_error", "malformed"}) {
    auto a = scripted("a");
    auto b = scripted("b");
    a->push_error(failure(kind, false, kind == "auth" ? 401 : 400));
    Recorder rec;
    auto router = chat::make_router(rec.env(), order_of({"a", "b"}, 3), {a, b});
    EXPECT_EQ(router->generate(ask(), {}, nullptr).provider, "b") << kind;
    EXPECT_EQ(a->calls().size(), 1u) << kind;
    EXPECT_TRUE(rec.sleeps().empty()) << kind;
  }
}

TEST(ModelRouter, CancelDuringABackoffStopsAtOnce) {
  // The first attempt asks for a 60-second wait; the cancel comes while the router waits (the
  // real, cancellable wait). Were the wait not cancellable, the second attempt would answer.
  auto a = scripted("a");
  std::atomic<bool> failed{false};
  a->push([&](const ModelRequest&, const StreamSink&) -> chat::ModelResult {
    failed = true;
    throw failure("server_error", true, 500, seconds(60));
  });
  a->push_text("too late");
  auto settings = order_of({"a"}, 2);
  settings.max_backoff = seconds(120);
  chat::RouterEnv env;  // no sleep: the real one
  auto router = chat::make_router(env, settings, {a});
  jarvis::CancelSource source;
  ModelRequest req = ask();
  req.cancel = source.token();
  std::thread canceller([&] {
    while (!failed) std::this_thread::sleep_for(milliseconds(5));
    source.cancel();
  });
  try {
    router->generate(req, {}, nullptr);
    ADD_FAILURE() << "expected a ProviderError";
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.kind, "cancelled");
  }
  canceller.join();
  EXPECT_EQ(a->calls().size(), 1u);  // the second attempt never ran
}

TEST(ModelRouter, AlreadyCancelledRequestCallsNobody) {
  auto a = scripted("a");
  Recorder rec;
  auto router = chat::make_router(rec.env(), order_of({"a"}), {a});
  jarvis::CancelSource source;
  source.cancel();
  ModelRequest req = ask();
  req.cancel = source.token();
  EXPECT_THROW(router->generate(req, {}, nullptr), ProviderError);
  EXPECT_TRUE(a->calls().empty());
}

TEST(ModelRouter, RequestProviderAndModelOverride) {
  auto a = scripted("a");
  auto b = scripted("b");
  auto c = scripted("c");
  Recorder rec;
  auto router = chat::make_router(rec.env(), order_of({"a", "b"}), {a, b, c});
  ModelRequest only_c = ask();
  only_c.provider = "c";  // not in the order, but asked for by name
  only_c.model = "c-large";
  auto r = router->generate(only_c, {}, nullptr);
  EXPECT_EQ(r.provider, "c");
  EXPECT_EQ(r.model, "c-large");
  EXPECT_EQ(c->calls().at(0).model, "c-large");

  // The model override applies to the first provider only; a fallback keeps its own model.
  a->push_error(failure("auth", false, 401));
  ModelRequest big = ask();
  big.model = "a-large";
  r = router->generate(big, {}, nullptr);
  EXPECT_EQ(a->calls().back().model, "a-large");
  EXPECT_EQ(r.provider, "b");
  EXPECT_EQ(r.model, "b-model");

  ModelRequest unknown = ask();
  unknown.provider = "zz";
  try {
    router->generate(unknown, {}, nullptr);
    FAIL() << "expected a ProviderError";
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.kind, "request_error");
  }
}

TEST(ModelRouter, HealthIsAReadOnlySnapshot) {
  auto a = scripted("a");
  auto b = scripted("b");
  a->push_error(failure("server_error", true, 500));
  Recorder rec;
  auto router = chat::make_router(rec.env(), order_of({"a", "b"}, 0), {a, b});
  auto before = router->health();
  EXPECT_TRUE(before["providers"][0]["last_failure"].is_null());
  EXPECT_EQ(router->health(), before);  // asking twice changes nothing
  EXPECT_TRUE(rec.events().empty());

  router->generate(ask(), {}, nullptr);
  auto after = router->health();
  EXPECT_EQ(router->health()["providers"], after["providers"]);
  const auto& pa = after["providers"][0];
  EXPECT_EQ(pa["name"], "a");
  EXPECT_EQ(pa["last_error"]["kind"], "server_error");
  EXPECT_EQ(pa["last_failure"]["model"], "a-model");
  EXPECT_EQ(pa["models"][0]["model"], "a-model");
  const auto& pb = after["providers"][1];
  EXPECT_EQ(pb["last_success"]["model"], "b-model");
  EXPECT_TRUE(pb["last_failure"].is_null());
  EXPECT_EQ(a->calls().size(), 1u);  // max_retries 0: no retry
}

TEST(ModelRouter, EventAndMetricFailuresNeverBreakTheAnswer) {
  auto a = scripted("a");
  a->push_text("still here");
  chat::RouterEnv env;
  env.emit = [](jarvis::Event) { throw std::runtime_error("event store down"); };
  auto router = chat::make_router(env, order_of({"a"}), {a});
  EXPECT_EQ(router->generate(ask(), {}, nullptr).text, "still here");
}

}  // namespace
