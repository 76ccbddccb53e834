// whatsapp/tests/webhook_test.cpp — the webhook end to end over real HTTP against a real
// `jarvis serve` and the FakeEvolution: secret checks, the callback contract the plugin sets,
// every payload kind, dedupe, unknown events; on SQLite and PostgreSQL.
#include <atomic>
#include <future>

#include "db/sql_database.h"
#include "wa_support.h"

namespace wa_test {
namespace {

class WhatsappWebhook : public ::testing::TestWithParam<Backend> {};

TEST_P(WhatsappWebhook, SecretUnsetFailsClosedWith503) {
  WaHost h(GetParam(), {.secret = false});
  auto r = h.post_webhook(WaHost::envelope(FakeEvolution::text_record(kAna, "S1", "hi")), "x");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(error_code(r), "webhook_not_configured");
  r = h.post_webhook(WaHost::envelope(FakeEvolution::text_record(kAna, "S1", "hi")), "");
  EXPECT_EQ(r.status, 503);
}

TEST_P(WhatsappWebhook, WrongOrMissingSecretIs401AndStoresNothing) {
  WaHost h(GetParam(), {.env = {{"WHATSAPP_REVIEW_MODE", "off"}}});
  const json env = WaHost::envelope(FakeEvolution::text_record(kAna, "S2", "hi"));
  for (const std::string& bad : {std::string(""), std::string("wa-secret-3f9c2"), kSecret + "x",
                                 std::string("WA-SECRET-3F9C2D")}) {
    auto r = h.post_webhook(env, bad);
    EXPECT_EQ(r.status, 401) << bad << " " << r.body;
    EXPECT_EQ(error_code(r), "invalid_webhook_secret");
  }
  auto ok = h.post_webhook(env);
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(body(ok)["counts"]["stored"], 1);  // nothing was stored by the refused calls
}

TEST_P(WhatsappWebhook, CreateConfiguresTheWebhookWithTheSecretSoDeliveriesAuthenticate) {
  WaHost h(GetParam(), {.env = {{"WHATSAPP_REVIEW_MODE", "off"}}});
  // Before create: the callback contract says the webhook is not there.
  json st = body(h.call("GET", "/api/v1/channels/whatsapp/status", h.admin));
  EXPECT_EQ(st["status"], "open");
  EXPECT_EQ(st["callback"]["configured"], false);
  h.create_instance();
  json w = h.evo.webhook("jarvis");
  ASSERT_TRUE(w.is_object());
  EXPECT_EQ(w["url"], h.webhook_url());
  EXPECT_EQ(w["headers"]["X-WhatsApp-Secret"], kSecret);
  EXPECT_EQ(w["events"], json::array({"MESSAGES_UPSERT"}));
  EXPECT_EQ(w["enabled"], true);
  for (const auto& r : h.evo.requests()) EXPECT_EQ(r.header("apikey"), "evo-global-key") << r.path;
  st = body(h.call("GET", "/api/v1/channels/whatsapp/status", h.admin));
  EXPECT_EQ(st["callback"]["enabled"], true);
  EXPECT_EQ(st["callback"]["configured"], true) << st.dump();
  EXPECT_EQ(st["callback"]["events"], json::array({"MESSAGES_UPSERT"}));
  EXPECT_EQ(st["callback"]["url"], h.webhook_url());
  EXPECT_TRUE(st["callback"]["error"].is_null());

  // The fake delivers as Evolution does, with the headers the plugin configured.
  EXPECT_EQ(h.evo.deliver("jarvis", FakeEvolution::text_record(kAna, "D1", "hello jarvis")), 200)
      << h.evo.last_delivery_body();
  json in = h.wait_events("channel.inbound", 1);
  ASSERT_EQ(in.size(), 1u);
  const json& p = in[0]["payload"];
  EXPECT_EQ(p["channel"], "whatsapp");
  EXPECT_EQ(p["external_thread"], kAna);
  EXPECT_EQ(p["sender"], kAna);
  EXPECT_EQ(p["text"], "hello jarvis");
  EXPECT_EQ(p["attachments"], json::array());
  EXPECT_TRUE(p["user_id"].get<std::string>().rfind("wa_", 0) == 0);
}

TEST_P(WhatsappWebhook, EveryPayloadKind) {
  WaHost h(GetParam(), {.env = {{"WHATSAPP_REVIEW_MODE", "off"}}});
  const std::string png = std::string("\x89PNG\r\n\x1A\n", 8) + std::string(64, '\0');
  h.evo.add_media("IMG1", png, "image/png");
  h.evo.add_media("DOC1", "%PDF-1.4\n%fake\n", "application/pdf", "invoice.pdf");
  json ext = FakeEvolution::text_record(kAna, "EXT1", "");
  ext["message"] = {{"extendedTextMessage", {{"text", "see https://example.com"}}}};
  const std::string lid = "123456789012345@lid";
  const std::string lid_phone = "5511999990009@s.whatsapp.net";
  std::vector<json> records = {
      FakeEvolution::text_record(kAna, "T1", "plain text"),
      ext,
      FakeEvolution::image_record(kAna, "IMG1", "a photo", "image/png"),
      FakeEvolution::document_record(kAna, "DOC1", "invoice.pdf", "the invoice"),
      FakeEvolution::group_record(kGroup, kBruno, "G1", "hello group"),
      FakeEvolution::lid_record(lid, lid_phone, "L1", "from a lid chat"),
      FakeEvolution::reaction_record(kAna, "R1", "T1", "👍"),
      FakeEvolution::from_me(FakeEvolution::text_record(kAna, "ME1", "my own echo")),
  };
  for (const auto& rec : records) {
    auto r = h.post_webhook(WaHost::envelope(rec));
    EXPECT_EQ(r.status, 200) << r.body;
  }
  json in = h.wait_events("channel.inbound", 6);
  std::map<std::string, json> by_key;
  for (const auto& e : in) by_key[e["payload"]["key_id"]] = e["payload"];
  ASSERT_EQ(by_key.size(), 6u) << in.dump();
  EXPECT_EQ(by_key["T1"]["text"], "plain text");
  EXPECT_EQ(by_key["EXT1"]["text"], "see https://example.com");
  EXPECT_EQ(by_key["IMG1"]["text"], "a photo");
  ASSERT_EQ(by_key["IMG1"]["attachments"].size(), 1u);
  EXPECT_EQ(by_key["IMG1"]["attachments"][0]["mime"], "image/png");
  EXPECT_EQ(by_key["IMG1"]["attachments"][0]["status"], "stored");
  EXPECT_EQ(by_key["DOC1"]["text"], "the invoice");
  EXPECT_EQ(by_key["DOC1"]["attachments"][0]["mime"], "application/pdf");
  // Groups: the thread is the group, the author is kept.
  EXPECT_EQ(by_key["G1"]["external_thread"], kGroup);
  EXPECT_EQ(by_key["G1"]["sender"], kBruno);
  EXPECT_EQ(by_key["G1"]["participant"], kBruno);
  EXPECT_EQ(by_key["G1"]["is_group"], true);
  // LID chats answer to the phone JID.
  EXPECT_EQ(by_key["L1"]["external_thread"], lid_phone);
  // Reactions are recorded, never answered; fromMe is skipped.
  EXPECT_EQ(by_key.count("R1"), 0u);
  EXPECT_EQ(by_key.count("ME1"), 0u);
  json reactions = h.wait_events("whatsapp.reaction", 1);
  EXPECT_EQ(reactions[0]["payload"]["emoji"], "👍");
  EXPECT_EQ(reactions[0]["payload"]["target_key_id"], "T1");
  // Media files landed in the media root under generated names.
  int files = 0;
  for (const auto& f : std::filesystem::directory_iterator(h.dir.file("media"))) {
    const std::string name = f.path().filename().string();
    EXPECT_TRUE(name.rfind("wmd_", 0) == 0) << name;
    ++files;
  }
  EXPECT_EQ(files, 2);
}

TEST_P(WhatsappWebhook, DuplicatesAndUnknownEvents) {
  WaHost h(GetParam(), {.env = {{"WHATSAPP_REVIEW_MODE", "off"}}});
  const json env = WaHost::envelope(FakeEvolution::text_record(kAna, "DUP1", "once"));
  EXPECT_EQ(body(h.post_webhook(env))["counts"]["stored"], 1);
  auto again = h.post_webhook(env);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(body(again)["counts"]["duplicate"], 1) << again.body;
  h.wait_events("channel.inbound", 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(h.events("channel.inbound").size(), 1u);

  auto unknown = h.post_webhook(WaHost::envelope(json::object(), "connection.update"));
  EXPECT_EQ(unknown.status, 202) << unknown.body;
  EXPECT_EQ(body(unknown)["ignored"], true);
  auto not_json = jarvis::test::http("POST", h.server->url("/api/v1/webhooks/whatsapp"), "{nope",
                                     {"X-WhatsApp-Secret: " + kSecret});
  EXPECT_EQ(not_json.status, 400);
  // byEvents deliveries name the event in the URL.
  auto by_event = jarvis::test::http(
      "POST", h.server->url("/api/v1/webhooks/whatsapp/messages-upsert"),
      json{{"instance", "jarvis"}, {"data", FakeEvolution::text_record(kAna, "BE1", "by event")}}
          .dump(),
      {"X-WhatsApp-Secret: " + kSecret, "Content-Type: application/json"});
  EXPECT_EQ(by_event.status, 200) << by_event.body;
  EXPECT_EQ(body(by_event)["counts"]["stored"], 1);
}

TEST_P(WhatsappWebhook, TheAnswerComesOnlyAfterTheCommit) {
  WaHost h(GetParam(), {.env = {{"WHATSAPP_REVIEW_MODE", "off"}}});
  // A second connection holds the write lock (SQLite) / locks the message table against
  // inserts (PostgreSQL); the delivery must not be answered 2xx before that lock is gone.
  auto db = jarvis::host::SqlDatabase::open(h.database, 1);
  auto locker = db->session();
  if (GetParam() == Backend::Sqlite) {
    *locker << "BEGIN EXCLUSIVE";
  } else {
    *locker << "BEGIN";
    *locker << "LOCK TABLE whatsapp_messages IN EXCLUSIVE MODE";
  }
  using Clock = std::chrono::steady_clock;
  auto answer = std::async(std::launch::async, [&] {
    auto r = h.post_webhook(WaHost::envelope(FakeEvolution::text_record(kAna, "C1", "commit")));
    return std::make_pair(r, Clock::now());
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(answer.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  const auto released = Clock::now();
  *locker << "ROLLBACK";
  auto [r, at] = answer.get();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_GE(at, released);
  // And the row is really there: a second delivery of the same key is a duplicate.
  EXPECT_EQ(body(h.post_webhook(WaHost::envelope(
                FakeEvolution::text_record(kAna, "C1", "commit"))))["counts"]["duplicate"],
            1);
  h.wait_events("channel.inbound", 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, WhatsappWebhook,
                         ::testing::Values(Backend::Sqlite, Backend::Postgresql),
                         jarvis::test::backend_name);

}  // namespace
}  // namespace wa_test
