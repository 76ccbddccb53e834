// whatsapp/tests/ssrf_release_test.cpp — through the real webhook and whatsapp.process:
// (1) media URLs naming private, loopback, link-local and metadata addresses (literally or by a
// DNS name) are refused with media_host_denied / media_url_invalid and nothing is fetched — not
// from the URL (a recording server counts the hits) and not from Evolution instead; (2) a media
// message whose processing keeps failing does not hold the later messages of its chat forever:
// it is retried, then released degraded (media_download_failed, channel.inbound.degraded) and the
// chat goes on in order — also when the worker died on the last attempt (decision 0064).
#include <filesystem>

#include "support/fakes/loopback_server.h"
#include "wa_support.h"

namespace wa_test {
namespace ssrf_release {

using jarvis::test::fakes::HttpRequest;
using jarvis::test::fakes::LoopbackServer;
using jarvis::test::fakes::Responder;

class WhatsappSsrfRelease : public ::testing::TestWithParam<Backend> {};

const std::string kPngData = std::string("\x89PNG\r\n\x1A\n", 8) + std::string(100, 'q');

json payload_of_key(const json& events, const std::string& key) {
  for (const auto& e : events) {
    if (e["payload"].value("key_id", "") == key) return e["payload"];
  }
  return nullptr;
}

std::string degraded_of_key(const json& events, const std::string& key) {
  for (const auto& e : events) {
    if (e["payload"]["detail"].value("external_msg_id", "") == key) return e["payload"]["reason"];
  }
  return "";
}

std::size_t base64_calls(const WaHost& h) {
  std::size_t n = 0;
  for (const auto& r : h.evo.requests()) {
    if (r.path == "/chat/getBase64FromMediaMessage/jarvis") ++n;
  }
  return n;
}

TEST_P(WhatsappSsrfRelease, PrivateAddressMediaUrlsAreRefusedAndNothingIsFetched) {
  // Would serve an image to anyone who asked: it must never be asked. (A redirect from an
  // allowed host to a private one needs a first hop that passes the address check, which no
  // hermetic test has: MediaGuard.ARedirectFromTheAllowedHostTo127001IsRefused covers it with
  // the host's real client and 127.0.0.2 exempted.)
  LoopbackServer internal([](const HttpRequest&, Responder& out) { out.respond(200, kPngData); });
  const std::string port = std::to_string(internal.port());
  WaHost h(
      GetParam(),
      {.env = {{"WHATSAPP_REVIEW_MODE", "off"},
               // Every name is on the allow-list: the address check alone must refuse them.
               {"WHATSAPP_MEDIA_ALLOWED_HOSTS",
                "127.0.0.1,10.0.0.7,169.254.169.254,localhost,cdn.example.com,192.168.1.20"}}});
  struct Case {
    std::string key, url, reason;
  };
  const std::vector<Case> cases = {
      {"LOOP", "https://127.0.0.1:" + port + "/a.png", "media_host_denied"},
      {"TEN", "https://10.0.0.7/a.png", "media_host_denied"},
      {"META", "https://169.254.169.254/latest/meta-data/iam/security-credentials/",
       "media_host_denied"},
      {"LAN", "https://192.168.1.20/a.png", "media_host_denied"},
      {"DNS", "https://localhost:" + port + "/a.png", "media_host_denied"},  // name → loopback
      {"PLAIN", "http://127.0.0.1:" + port + "/a.png", "media_url_invalid"},
      {"CREDS", "https://user:pw@cdn.example.com/a.png", "media_url_invalid"},
      {"NOHOST", "https:///a.png", "media_url_invalid"},
  };
  for (const auto& c : cases) {
    // Evolution holds the bytes too: a refused URL must not fall back to fetching them there.
    h.evo.add_media(c.key, kPngData, "image/png");
    auto r = h.post_webhook(WaHost::envelope(
        FakeEvolution::image_record(kAna, c.key, "cap " + c.key, "image/png", c.url)));
    EXPECT_EQ(r.status, 200) << r.body;
  }
  json inbound = h.wait_events("channel.inbound", cases.size());
  json degraded = h.wait_events("channel.inbound.degraded", cases.size());
  for (const auto& c : cases) {
    EXPECT_EQ(degraded_of_key(degraded, c.key), c.reason) << c.key << " " << c.url;
    json p = payload_of_key(inbound, c.key);
    ASSERT_TRUE(p.is_object()) << c.key;
    EXPECT_NE(p["text"].get<std::string>().find("cap " + c.key), std::string::npos);
    EXPECT_NE(p["text"].get<std::string>().find(c.reason), std::string::npos) << p.dump();
    EXPECT_EQ(p["attachments"][0]["status"], "refused");
  }
  EXPECT_TRUE(internal.requests().empty()) << internal.requests().size() << " hit(s)";
  EXPECT_EQ(base64_calls(h), 0u);
  std::error_code ec;
  EXPECT_TRUE(std::filesystem::is_empty(h.dir.file("media"), ec) || ec);
}

TEST_P(WhatsappSsrfRelease, AFailingMediaTaskIsReleasedDegradedAndLaterMessagesProceed) {
  WaHost h(GetParam(), {.env = {{"WHATSAPP_REVIEW_MODE", "off"}}});
  h.evo.add_media("STUCK", kPngData, "image/png");
  // Evolution answers every attempt of the media fetch with 503 (5 attempts in all).
  h.evo.fail_next("/chat/getBase64FromMediaMessage/", {503, 503, 503, 503, 503});
  ASSERT_EQ(h.post_webhook(
                 WaHost::envelope(FakeEvolution::image_record(kAna, "STUCK", "photo", "image/png")))
                .status,
            200);
  ASSERT_EQ(
      h.post_webhook(WaHost::envelope(FakeEvolution::text_record(kAna, "AFTER1", "after one")))
          .status,
      200);
  ASSERT_EQ(
      h.post_webhook(WaHost::envelope(FakeEvolution::text_record(kBruno, "OTHER", "other chat")))
          .status,
      200);
  // Another chat is not held at all; Ana's text waits behind her image while it is retried
  // (the retries' backoff alone is 15 s, so nothing of Ana's can have left yet).
  json first = h.wait_events("channel.inbound", 1);
  EXPECT_EQ(first[0]["payload"]["key_id"], "OTHER");
  EXPECT_TRUE(payload_of_key(h.events("channel.inbound"), "AFTER1").is_null());
  ASSERT_EQ(
      h.post_webhook(WaHost::envelope(FakeEvolution::text_record(kAna, "AFTER2", "after two")))
          .status,
      200);

  json all;
  ASSERT_TRUE(WaHost::eventually(
      [&] {
        all = h.events("channel.inbound");
        return all.size() >= 4;
      },
      std::chrono::seconds(90)))
      << all.dump() << h.server->output();
  std::vector<std::string> ana;
  for (const auto& e : all) {
    if (e["payload"]["external_thread"] == kAna) ana.push_back(e["payload"]["key_id"]);
  }
  EXPECT_EQ(ana, (std::vector<std::string>{"STUCK", "AFTER1", "AFTER2"}));  // still in order
  json stuck = payload_of_key(all, "STUCK");
  EXPECT_NE(stuck["text"].get<std::string>().find("photo"), std::string::npos);
  EXPECT_NE(stuck["text"].get<std::string>().find("[image not delivered: media_download_failed]"),
            std::string::npos)
      << stuck.dump();
  EXPECT_EQ(stuck["attachments"][0]["status"], "refused");
  EXPECT_EQ(stuck["attachments"][0]["reason"], "media_download_failed");
  json degraded = h.wait_events("channel.inbound.degraded", 1);
  EXPECT_EQ(degraded_of_key(degraded, "STUCK"), "media_download_failed");
  EXPECT_EQ(base64_calls(h), 5u);  // retried, not given up at the first 503
}

TEST_P(WhatsappSsrfRelease, ATaskDeadLetteredWithoutItsLastAttemptReleasesItsMessage) {
  // The worker dies during the last attempt (kill -9 while Evolution hangs): the host
  // dead-letters the task on re-claim without running the handler again, and the
  // task.dead_letter subscription releases the message.
  WaHost h(GetParam(),
           {.env = {{"WHATSAPP_REVIEW_MODE", "off"}, {"TASK_RUNNER_LEASE_SECONDS", "2"}}});
  h.evo.add_media("KILLED", kPngData, "image/png");
  h.evo.fail_next("/chat/getBase64FromMediaMessage/", {503, 503, 503, 503, -1});
  ASSERT_EQ(h.post_webhook(
                 WaHost::envelope(FakeEvolution::image_record(kAna, "KILLED", "pic", "image/png")))
                .status,
            200);
  ASSERT_EQ(
      h.post_webhook(WaHost::envelope(FakeEvolution::text_record(kAna, "BEHIND", "behind it")))
          .status,
      200);
  ASSERT_TRUE(WaHost::eventually([&] { return base64_calls(h) >= 5; }, std::chrono::seconds(90)))
      << base64_calls(h) << " fetches\n"
      << h.server->output();
  EXPECT_TRUE(h.events("channel.inbound").empty());  // both still held by the hung attempt
  h.server->kill9();
  h.server = std::make_unique<jarvis::test::ServerProcess>(h.dir.path(), h.env);
  ASSERT_TRUE(h.server->ready()) << h.server->output();

  json all;
  ASSERT_TRUE(WaHost::eventually(
      [&] {
        all = h.events("channel.inbound");
        return all.size() >= 2;
      },
      std::chrono::seconds(60)))
      << all.dump() << h.server->output();
  EXPECT_EQ(all[0]["payload"]["key_id"], "KILLED");
  EXPECT_EQ(all[1]["payload"]["key_id"], "BEHIND");
  EXPECT_NE(all[0]["payload"]["text"].get<std::string>().find(
                "[image not delivered: media_download_failed]"),
            std::string::npos);
  json dead = h.wait_events("task.dead_letter", 1);
  EXPECT_EQ(dead[0]["payload"]["name"], "whatsapp.process");
  json degraded = h.wait_events("channel.inbound.degraded", 1);
  EXPECT_EQ(degraded[0]["payload"]["reason"], "media_download_failed");
  EXPECT_EQ(degraded[0]["payload"]["detail"]["released"], true);
  EXPECT_NE(degraded[0]["payload"]["detail"]["message"].get<std::string>().find("dead-lettered"),
            std::string::npos)
      << degraded.dump();
  EXPECT_EQ(base64_calls(h), 5u);  // the dead task was not run a sixth time
}

INSTANTIATE_TEST_SUITE_P(Backends, WhatsappSsrfRelease,
                         ::testing::Values(Backend::Sqlite, Backend::Postgresql),
                         jarvis::test::backend_name);

}  // namespace ssrf_release
}  // namespace wa_test
