// chat/tests/chat_status_view_test.cpp — what a non-admin's /status shows of the providers'
// health: an allow-list of fields, never a provider's error text (which can name endpoints,
// accounts or quotas), wherever in the document the router puts it.
#include <gtest/gtest.h>

#include "slash_env.h"

namespace {

TEST(ChatStatusView, UsersSeeKindsAndTimesNeverProviderTexts) {
  const jarvis::Json failure = {
      {"at", "2026-12-01T00:00:00Z"},
      {"model", "m1"},
      {"error",
       {{"kind", "auth"},
        {"outage_class", "provider_unavailable"},
        {"status", 401},
        {"message", "401 at https://llm.internal.example:8443 for account acme-prod"}}}};
  const jarvis::Json health = {
      {"primary", "openai"},
      {"order", {"openai"}},
      {"configured", true},
      {"unknown", {"bogus"}},
      {"providers",
       {{{"name", "openai"},
         {"model", "m1"},
         {"configured", true},
         {"in_order", true},
         {"base_url", "https://llm.internal.example:8443/v1"},
         {"last_success", {{"at", "2026-11-30T23:00:00Z"}, {"latency_ms", 12}}},
         {"last_failure", failure},
         {"last_error", failure["error"]},
         {"models", {{{"model", "m1"}, {"last_failure", failure}}}},
         {"cooldowns", {{{"model", "m1"}, {"until", "2026-12-01T00:01:00Z"}, {"why", "x"}}}}}}}};
  const jarvis::Json v = chat::user_view_of_providers(health);
  const std::string text = v.dump();
  EXPECT_EQ(text.find("llm.internal"), std::string::npos) << text;
  EXPECT_EQ(text.find("acme"), std::string::npos) << text;
  EXPECT_EQ(text.find("\"message\""), std::string::npos) << text;
  EXPECT_EQ(v["primary"], "openai");
  ASSERT_EQ(v["providers"].size(), 1u);
  const jarvis::Json& p = v["providers"][0];
  EXPECT_EQ(p["name"], "openai");
  EXPECT_EQ(p["last_success"]["at"], "2026-11-30T23:00:00Z");
  EXPECT_FALSE(p["last_success"].contains("latency_ms"));
  EXPECT_EQ(p["last_failure"]["error"]["kind"], "auth");
  EXPECT_EQ(p["last_failure"]["error"]["status"], 401);
  EXPECT_EQ(p["cooldowns"][0]["until"], "2026-12-01T00:01:00Z");
  EXPECT_FALSE(p["cooldowns"][0].contains("why"));
  EXPECT_FALSE(p.contains("models"));
  EXPECT_FALSE(p.contains("base_url"));
  // Not a document at all: an empty view, no throw.
  EXPECT_TRUE(chat::user_view_of_providers(jarvis::Json("x"))["providers"].empty());
}

}  // namespace
