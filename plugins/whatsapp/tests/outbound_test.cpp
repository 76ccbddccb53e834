// whatsapp/tests/outbound_test.cpp — replies end to end: webhook → channel.inbound → the chat
// plugin's agent step (FakeLlmServer echo) → channel.outbound → whatsapp.deliver → sendText on
// the FakeEvolution. Group threads answer in the group; 429/5xx are retried, the last attempt
// and other 4xx are dead letters; long replies are split; lockdown holds replies back.
#include "wa_support.h"

namespace wa_test {
namespace {

class WhatsappOutbound : public ::testing::TestWithParam<Backend> {};

WaOptions chat_options(std::map<std::string, std::string> extra = {}) {
  WaOptions o{.with_chat = true};
  o.env = {{"WHATSAPP_REVIEW_MODE", "off"}};
  for (auto& [k, v] : extra) o.env[k] = v;
  return o;
}

std::vector<json> wait_sent(const WaHost& h, std::size_t n) {
  std::vector<json> sent;
  bool ok = WaHost::eventually([&] {
    sent = h.evo.sent();
    return sent.size() >= n;
  });
  EXPECT_TRUE(ok) << "sent " << sent.size() << " of " << n << "\n" << h.server->output();
  return sent;
}

TEST_P(WhatsappOutbound, GroupRepliesGoToTheGroupAndDmsToTheSender) {
  WaHost h(GetParam(), chat_options());
  h.post_webhook(WaHost::envelope(FakeEvolution::group_record(kGroup, kAna, "GR1", "hi group")));
  auto sent = wait_sent(h, 1);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0]["path"], "/message/sendText/jarvis");
  EXPECT_EQ(sent[0]["body"]["number"], kGroup);  // never the participant's DM
  EXPECT_EQ(sent[0]["body"]["text"], "echo: hi group");
  h.post_webhook(WaHost::envelope(FakeEvolution::text_record(kBruno, "DM1", "hi me")));
  sent = wait_sent(h, 2);
  EXPECT_EQ(sent[1]["body"]["number"], kBruno);
  EXPECT_EQ(sent[1]["body"]["text"], "echo: hi me");
  json ok = h.wait_events("channel.outbound.sent", 2);
  EXPECT_EQ(ok[0]["payload"]["attempts"], 1);
}

// Decision 0084: whatsapp.deliver subscribes to exactly channel.outbound and chat.channel_inbound
// to exactly channel.inbound. A prefix also queued a no-op task for every channel.outbound.sent
// (and .dead_letter, .blocked) and for every channel.inbound.degraded.
TEST_P(WhatsappOutbound, OneTaskPerMessageNoneForItsFollowUpEvents) {
  WaHost h(GetParam(), chat_options({{"WHATSAPP_MEDIA_ALLOWED_MIME_PREFIXES", "image/"}}));
  h.evo.add_media("EXE1", std::string("MZ\x90\0", 4) + std::string(100, 'x'), "image/png");
  h.post_webhook(WaHost::envelope(FakeEvolution::text_record(kAna, "OT1", "first")));
  h.post_webhook(WaHost::envelope(FakeEvolution::image_record(kBruno, "EXE1", "exe", "image/png")));
  json sent = h.wait_events("channel.outbound.sent", 2);
  ASSERT_EQ(sent.size(), 2u);
  json degraded = h.wait_events("channel.inbound.degraded", 1);
  ASSERT_EQ(degraded.size(), 1u);
  EXPECT_EQ(degraded[0]["payload"]["reason"], "media_mime_denied");
  EXPECT_EQ(h.events("channel.inbound").size(), 2u);
  EXPECT_EQ(h.events("channel.outbound").size(), 2u);
  // The task rows: one per channel.inbound and one per channel.outbound, nothing for .sent or
  // .degraded (their tasks, if any, were enqueued in the same transaction as the event).
  EXPECT_EQ(h.tasks_named("chat.channel_inbound").size(), 2u);
  json deliver = h.tasks_named("whatsapp.deliver");
  EXPECT_EQ(deliver.size(), 2u) << deliver.dump();
  for (const auto& t : deliver) {
    const json& payload = t.contains("payload") ? t["payload"] : json(nullptr);
    EXPECT_EQ(payload.is_object() ? payload.value("type", "") : "", "channel.outbound") << t.dump();
  }
}

TEST_P(WhatsappOutbound, RetriesOn429And5xxThenSends) {
  WaHost h(GetParam(), chat_options());
  h.evo.fail_next_sends({429, 500, 502});
  h.post_webhook(WaHost::envelope(FakeEvolution::text_record(kAna, "RT1", "retry me")));
  auto sent = wait_sent(h, 1);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0]["body"]["text"], "echo: retry me");
  json ok = h.wait_events("channel.outbound.sent", 1);
  EXPECT_EQ(ok[0]["payload"]["attempts"], 4);
  EXPECT_TRUE(h.events("channel.outbound.dead_letter").empty());
}

TEST_P(WhatsappOutbound, LastAttemptAndOther4xxAreDeadLetters) {
  WaHost h(GetParam(), chat_options({{"WHATSAPP_SEND_MAX_ATTEMPTS", "2"}}));
  h.evo.fail_next_sends({503, 503});
  h.post_webhook(WaHost::envelope(FakeEvolution::text_record(kAna, "DL1", "never arrives")));
  json dead = h.wait_events("channel.outbound.dead_letter", 1);
  EXPECT_EQ(dead[0]["payload"]["reason"], "http_503");
  EXPECT_EQ(dead[0]["payload"]["attempts"], 2);
  h.evo.fail_next_sends({400});
  h.post_webhook(WaHost::envelope(FakeEvolution::text_record(kAna, "DL2", "bad request")));
  dead = h.wait_events("channel.outbound.dead_letter", 2);
  EXPECT_EQ(dead[1]["payload"]["reason"], "http_400");
  EXPECT_EQ(dead[1]["payload"]["attempts"], 1);  // not retried
  EXPECT_TRUE(h.evo.sent().empty());
}

TEST_P(WhatsappOutbound, LongRepliesAreSplitAtTheLimit) {
  WaHost h(GetParam(), chat_options({{"WHATSAPP_MAX_MESSAGE_CHARS", "100"}}));
  std::string text;
  for (int i = 0; i < 50; ++i) text += "word" + std::to_string(i % 10) + " ";
  text += "ünïcødé";
  h.post_webhook(WaHost::envelope(FakeEvolution::text_record(kAna, "LONG1", text)));
  json ok = h.wait_events("channel.outbound.sent", 1);
  auto sent = h.evo.sent();
  ASSERT_EQ(sent.size(), 4u);
  std::string joined;
  for (const auto& s : sent) {
    const std::string part = s["body"]["text"];
    EXPECT_LE(part.size(), 100u * 2);
    joined += part;
  }
  EXPECT_EQ(joined, "echo: " + text);
  EXPECT_EQ(ok[0]["payload"]["parts"], 4);
}

TEST_P(WhatsappOutbound, NothingIsSentInLockdownUnlessAllowed) {
  WaHost h(GetParam(), chat_options());
  auto lock = h.call("POST", "/api/v1/system/lockdown", h.admin, {{"lockdown", true}});
  ASSERT_EQ(lock.status, 200) << lock.body;
  h.post_webhook(WaHost::envelope(FakeEvolution::text_record(kAna, "LK1", "during lockdown")));
  json blocked = h.wait_events("channel.outbound.blocked", 1);
  EXPECT_EQ(blocked[0]["payload"]["reason"], "lockdown");
  EXPECT_TRUE(h.evo.sent().empty());

  WaHost allowed(GetParam(), chat_options({{"WHATSAPP_SEND_DURING_LOCKDOWN", "1"}}));
  allowed.call("POST", "/api/v1/system/lockdown", allowed.admin, {{"lockdown", true}});
  allowed.post_webhook(WaHost::envelope(FakeEvolution::text_record(kAna, "LK2", "still")));
  EXPECT_EQ(wait_sent(allowed, 1).size(), 1u);
}

TEST_P(WhatsappOutbound, RotatedUnlockCodesReachTheAdminNumbers) {
  WaHost h(GetParam(), {.env = {{"ADMIN_WHATSAPP_IDS", "+55 11 99999-0009"}}});
  // A fresh host rotates its unlock code at start (lockdown.code_rotated).
  auto sent = wait_sent(h, 1);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0]["body"]["number"], "5511999990009@s.whatsapp.net");
  json rotated = h.wait_events("lockdown.code_rotated", 1);
  std::string code = jarvis::test::read_file(rotated.back()["payload"]["path"]);
  code = code.substr(0, code.find_first_of("\r\n"));
  ASSERT_EQ(code.size(), 6u);
  EXPECT_NE(sent[0]["body"]["text"].get<std::string>().find(code), std::string::npos);
  // The code never lands in an event.
  for (const auto& e : h.events("whatsapp.unlock_code.delivered")) {
    EXPECT_EQ(e.dump().find(code), std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, WhatsappOutbound,
                         ::testing::Values(Backend::Sqlite, Backend::Postgresql),
                         jarvis::test::backend_name);

}  // namespace
}  // namespace wa_test
