// whatsapp/tests/review_admin_test.cpp — sender review (hold without consuming any row, allow →
// replay in order, deny → drop + block) and the admin API (status, create, QR, the real pairing
// code, disconnect, rate limits, admin-only, evolution_api_disabled); SQLite and PostgreSQL.
#include "wa_support.h"

namespace wa_test {
namespace {

class WhatsappReview : public ::testing::TestWithParam<Backend> {};

json open_queue(const WaHost& h) {
  return body(h.call("GET", "/api/v1/channels/whatsapp/review-queue?status=open", h.admin));
}

TEST_P(WhatsappReview, HeldMessagesAreReplayedInOrderOnAllow) {
  WaHost h(GetParam(), {.env = {{"WHATSAPP_REVIEW_MODE", "strict"},
                                {"WHATSAPP_ALLOWED_SENDERS", "+55 11 99999-0002"}}});
  for (int i = 1; i <= 3; ++i) {
    auto r = h.post_webhook(WaHost::envelope(
        FakeEvolution::text_record(kAna, "H" + std::to_string(i), "held " + std::to_string(i))));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(body(r)["queued_for_review"], true);
  }
  // An Evolution retry of a held message does not hold it twice.
  EXPECT_EQ(
      h.post_webhook(WaHost::envelope(FakeEvolution::text_record(kAna, "H1", "held 1"))).status,
      200);
  // The allow-listed sender passes at once.
  EXPECT_EQ(body(h.post_webhook(WaHost::envelope(
                FakeEvolution::text_record(kBruno, "OK1", "listed"))))["counts"]["stored"],
            1);
  json review = h.wait_events("channel.inbound.review_required", 3);
  EXPECT_EQ(review[0]["payload"]["sender"], kAna);
  json q = open_queue(h);
  ASSERT_EQ(q["total"], 3) << q.dump();
  h.wait_events("channel.inbound", 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(h.events("channel.inbound").size(), 1u);  // only Bruno's

  // Allow one row: every held message of Ana replays, oldest first.
  const std::string id = q["items"][0]["id"];
  auto res = h.call("POST", "/api/v1/channels/whatsapp/review-queue/" + id + "/resolve", h.admin,
                    {{"decision", "allow"}, {"reason", "a customer"}});
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(body(res)["replayed"].size(), 3u);
  json in = h.wait_events("channel.inbound", 4);
  std::vector<std::string> texts;
  for (const auto& e : in) {
    if (e["payload"]["sender"] == kAna) texts.push_back(e["payload"]["text"]);
  }
  EXPECT_EQ(texts, (std::vector<std::string>{"held 1", "held 2", "held 3"}));
  EXPECT_EQ(open_queue(h)["total"], 0);
  // Resolving again is a conflict; the sender is remembered: later messages pass at once.
  auto twice = h.call("POST", "/api/v1/channels/whatsapp/review-queue/" + id + "/resolve", h.admin,
                      {{"decision", "allow"}});
  EXPECT_EQ(twice.status, 409);
  EXPECT_EQ(error_code(twice), "review_already_resolved");
  EXPECT_EQ(body(h.post_webhook(WaHost::envelope(
                FakeEvolution::text_record(kAna, "H4", "now known"))))["counts"]["stored"],
            1);
  h.wait_events("channel.inbound", 5);
}

TEST_P(WhatsappReview, DenyDropsAndBlocksLaterMessages) {
  WaHost h(GetParam(), {.env = {{"WHATSAPP_REVIEW_MODE", "unknown_only"}}});
  for (const char* k : {"X1", "X2"}) {
    h.post_webhook(WaHost::envelope(FakeEvolution::text_record(kAna, k, "spam")));
  }
  json q = open_queue(h);
  ASSERT_EQ(q["total"], 2);
  auto bad = h.call("POST",
                    "/api/v1/channels/whatsapp/review-queue/" +
                        q["items"][0]["id"].get<std::string>() + "/resolve",
                    h.admin, {{"decision", "maybe"}});
  EXPECT_EQ(bad.status, 422);
  auto deny = h.call("POST",
                     "/api/v1/channels/whatsapp/review-queue/" +
                         q["items"][0]["id"].get<std::string>() + "/resolve",
                     h.admin, {{"decision", "deny"}, {"reason", "spam"}});
  ASSERT_EQ(deny.status, 200) << deny.body;
  EXPECT_EQ(body(deny)["dropped"], 2);
  auto later = h.post_webhook(WaHost::envelope(FakeEvolution::text_record(kAna, "X3", "again")));
  EXPECT_EQ(later.status, 200);
  EXPECT_EQ(body(later)["blocked_sender"], true) << later.body;
  json blocked = h.wait_events("channel.inbound.blocked", 2);
  EXPECT_EQ(blocked.back()["payload"]["reason"], "sender_denied");
  EXPECT_EQ(h.events("channel.inbound").size(), 0u);
  json denied =
      body(h.call("GET", "/api/v1/channels/whatsapp/review-queue?status=denied", h.admin));
  EXPECT_EQ(denied["total"], 2);
  auto missing = h.call("POST", "/api/v1/channels/whatsapp/review-queue/wrv_nope/resolve", h.admin,
                        {{"decision", "allow"}});
  EXPECT_EQ(missing.status, 404);
  // The CLI sees the same queue.
  auto cli = jarvis::test::run_jarvis(
      {"whatsapp", "review", "list", "--status", "denied", "--json"}, h.dir.path(), h.env);
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_EQ(json::parse(cli.out, nullptr, false)["total"], 2) << cli.out;
}

TEST_P(WhatsappReview, CliAllowReplaysLikeTheApi) {
  WaHost h(GetParam());  // strict by default
  h.post_webhook(WaHost::envelope(FakeEvolution::group_record(kGroup, kAna, "GC1", "first")));
  h.post_webhook(WaHost::envelope(FakeEvolution::group_record(kGroup, kAna, "GC2", "second")));
  json q = open_queue(h);
  ASSERT_EQ(q["total"], 2);
  auto cli = jarvis::test::run_jarvis(
      {"whatsapp", "review", "allow", q["items"][1]["id"].get<std::string>(), "--json"},
      h.dir.path(), h.env);
  ASSERT_EQ(cli.exit_code, 0) << cli.out << cli.err;
  json in = h.wait_events("channel.inbound", 2);
  EXPECT_EQ(in[0]["payload"]["text"], "first");
  EXPECT_EQ(in[1]["payload"]["text"], "second");
  EXPECT_EQ(in[0]["payload"]["external_thread"], kGroup);
}

TEST_P(WhatsappReview, AdminApiPairingQrDisconnectAndRateLimit) {
  WaHost h(GetParam(), {.env = {{"WHATSAPP_PAIRING_RATE_PER_MINUTE", "3"}}});
  // Users may not; anonymous callers may not.
  EXPECT_EQ(h.call("GET", "/api/v1/channels/whatsapp/status", h.alice).status, 403);
  EXPECT_EQ(h.call("GET", "/api/v1/channels/whatsapp/status", "").status, 401);
  EXPECT_EQ(h.call("POST", "/api/v1/channels/whatsapp/pairing-code", h.alice,
                   {{"number", "+5511999990001"}})
                .status,
            403);
  h.evo.set_state("jarvis", "close");
  auto bad = h.call("POST", "/api/v1/channels/whatsapp/pairing-code", h.admin,
                    {{"number", "55 11; rm -rf"}});
  EXPECT_EQ(bad.status, 422);
  EXPECT_EQ(error_code(bad), "invalid_number");
  auto pair = h.call("POST", "/api/v1/channels/whatsapp/pairing-code", h.admin,
                     {{"number", "+5511999990001"}});
  ASSERT_EQ(pair.status, 200) << pair.body;
  const std::string real = h.evo.pairing_code_for("5511999990001");
  ASSERT_EQ(real.size(), 8u);
  EXPECT_EQ(body(pair)["code"], real);  // the real code, not a placeholder
  auto qr = h.call("GET", "/api/v1/channels/whatsapp/qrcode", h.admin);
  ASSERT_EQ(qr.status, 200) << qr.body;
  EXPECT_TRUE(body(qr)["qrcode"].get<std::string>().rfind("data:image/png;base64,", 0) == 0);
  EXPECT_FALSE(body(qr)["code"].get<std::string>().empty());
  // The fourth pairing/QR call within a minute is refused.
  auto limited = h.call("GET", "/api/v1/channels/whatsapp/qrcode", h.admin);
  EXPECT_EQ(limited.status, 429) << limited.body;
  EXPECT_EQ(error_code(limited), "rate_limited");
  // Disconnect logs out (a second time: already disconnected).
  h.evo.set_state("jarvis", "open");
  auto d = h.call("POST", "/api/v1/channels/whatsapp/disconnect", h.admin);
  EXPECT_EQ(d.status, 200) << d.body;
  EXPECT_EQ(body(h.call("GET", "/api/v1/channels/whatsapp/status", h.admin))["state"], "close");
  EXPECT_EQ(
      body(h.call("POST", "/api/v1/channels/whatsapp/disconnect", h.admin))["already_disconnected"],
      true);
  // The CLI pairs too (a CLI process talks to Evolution itself).
  auto cli = jarvis::test::run_jarvis({"whatsapp", "pair", "+5511999990003", "--json"},
                                      h.dir.path(), h.env);
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_EQ(json::parse(cli.out, nullptr, false)["code"], h.evo.pairing_code_for("5511999990003"));
}

TEST_P(WhatsappReview, UnsetEvolutionUrlIsDisabledEverywhereAndCallsNothing) {
  WaHost h(GetParam(), {.evolution = false});
  json st = body(h.call("GET", "/api/v1/channels/whatsapp/status", h.admin));
  EXPECT_EQ(st["status"], "evolution_api_disabled");
  EXPECT_EQ(st["callback"]["error"], "evolution_api_disabled");
  for (const auto& [m, p] : std::vector<std::pair<std::string, std::string>>{
           {"POST", "/create"}, {"GET", "/qrcode"}, {"POST", "/disconnect"}}) {
    auto r = h.call(m, "/api/v1/channels/whatsapp" + p, h.admin);
    EXPECT_EQ(r.status, 503) << p << " " << r.body;
    EXPECT_EQ(error_code(r), "evolution_api_disabled");
  }
  auto cli = jarvis::test::run_jarvis({"whatsapp", "status", "--json"}, h.dir.path(), h.env);
  EXPECT_EQ(json::parse(cli.out, nullptr, false)["status"], "evolution_api_disabled") << cli.out;
  EXPECT_TRUE(h.evo.requests().empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, WhatsappReview,
                         ::testing::Values(Backend::Sqlite, Backend::Postgresql),
                         jarvis::test::backend_name);

}  // namespace
}  // namespace wa_test
