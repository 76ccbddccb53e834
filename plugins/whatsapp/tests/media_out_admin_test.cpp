// whatsapp/tests/media_out_admin_test.cpp — outbound media and voice notes through the agent tool
// whatsapp.send_media (deny by default, owner-scoped) and whatsapp.deliver, and the instance
// operations a stuck pairing needs (restart, recreate, a fresh QR code) — each against the
// FakeEvolution, asserting the exact wire format of ../shared/spec/evolution-api.md (method, path,
// the apikey header, every body field) and the stable error codes of gateway failures.
#include <filesystem>

#include "util.h"
#include "wa_support.h"

namespace wa_test {
namespace media_out {

using jarvis::test::fakes::HttpRequest;

class WhatsappMediaOut : public ::testing::TestWithParam<Backend> {};

const std::string kPngBytes = std::string("\x89PNG\r\n\x1A\n", 8) + std::string(300, 'p');
const std::string kOggBytes =
    std::string("OggS\0\2", 6) + std::string(58, '\0') + "OpusHead" + std::string(200, 'o');

// The requests the fake received for exactly `method` `path`, oldest first.
std::vector<HttpRequest> requests_to(const WaHost& h, const std::string& method,
                                     const std::string& path) {
  std::vector<HttpRequest> out;
  for (auto& r : h.evo.requests()) {
    if (r.method == method && r.path == path) out.push_back(r);
  }
  return out;
}

// The stored media id of the message with key `key` (from its channel.inbound).
std::string media_of(const WaHost& h, const std::string& key, std::size_t count) {
  for (const auto& e : h.wait_events("channel.inbound", count)) {
    if (e["payload"]["key_id"] == key && !e["payload"]["attachments"].empty()) {
      return e["payload"]["attachments"][0].value("media_id", "");
    }
  }
  return "";
}

json invoke_send_media(const WaHost& h, const json& args, const std::string& on_behalf_of = "") {
  json b{{"args", args}, {"as", "agent:test"}};
  if (!on_behalf_of.empty()) b["on_behalf_of"] = on_behalf_of;
  auto r = h.call("POST", "/api/v1/tools/whatsapp.send_media/invoke", h.admin, b);
  json j = body(r);
  if (!j.is_object()) j = json{{"raw", r.body}};
  j["http_status"] = r.status;
  return j;
}

std::vector<json> wait_sent_n(const WaHost& h, std::size_t n) {
  std::vector<json> sent;
  EXPECT_TRUE(WaHost::eventually([&] {
    sent = h.evo.sent();
    return sent.size() >= n;
  })) << "sent "
      << sent.size() << " of " << n << "\n"
      << h.server->output();
  return sent;
}

TEST_P(WhatsappMediaOut, TheToolSendsStoredMediaAndVoiceNotesWithTheExactWireFormat) {
  WaHost h(GetParam(), {.env = {{"WHATSAPP_REVIEW_MODE", "off"}}});
  h.evo.add_media("IMG1", kPngBytes, "image/png");
  h.evo.add_media("VN1", kOggBytes, "audio/ogg; codecs=opus");
  h.post_webhook(WaHost::envelope(FakeEvolution::image_record(kAna, "IMG1", "look", "image/png")));
  h.post_webhook(WaHost::envelope(FakeEvolution::audio_record(kAna, "VN1", 2)));
  const std::string img = media_of(h, "IMG1", 2);
  const std::string vn = media_of(h, "VN1", 2);
  ASSERT_FALSE(img.empty());
  ASSERT_FALSE(vn.empty());

  // Deny by default: no agent holds the tool until an operator grants it.
  json denied = invoke_send_media(h, {{"media_id", img}});
  EXPECT_EQ(denied["http_status"], 403) << denied.dump();
  EXPECT_TRUE(h.evo.sent().empty());
  auto grant = jarvis::test::run_jarvis(
      {"permissions", "allow", "agent:test", "whatsapp.send_media"}, h.dir.path(), h.env);
  ASSERT_EQ(grant.exit_code, 0) << grant.err;

  // Owner scope: for alice, Ana's media does not exist.
  json foreign = invoke_send_media(h, {{"media_id", img}}, "alice");
  EXPECT_EQ(foreign["result"]["error"]["code"], "media_not_found") << foreign.dump();
  json missing = invoke_send_media(h, {{"media_id", "wmd_nope"}});
  EXPECT_EQ(missing["result"]["error"]["code"], "media_not_found") << missing.dump();
  json not_audio = invoke_send_media(h, {{"media_id", img}, {"voice", true}});
  EXPECT_EQ(not_audio["result"]["error"]["code"], "not_audio") << not_audio.dump();
  json extra = invoke_send_media(h, {{"media_id", img}, {"to", "5511000000000"}});
  EXPECT_EQ(extra["http_status"], 422) << extra.dump();  // no recipient can be chosen

  json ok = invoke_send_media(h, {{"media_id", img}, {"caption", "your picture"}});
  ASSERT_EQ(ok["ok"], true) << ok.dump();
  EXPECT_EQ(ok["result"]["recipient"], kAna);
  auto sent = wait_sent_n(h, 1);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0]["path"], "/message/sendMedia/jarvis");
  EXPECT_EQ(sent[0]["body"], json({{"number", kAna},
                                   {"mediatype", "image"},
                                   {"mimetype", "image/png"},
                                   {"media", whatsapp::base64_encode(kPngBytes)},
                                   {"fileName", img + ".png"},
                                   {"caption", "your picture"}}));
  auto media_calls = requests_to(h, "POST", "/message/sendMedia/jarvis");
  ASSERT_EQ(media_calls.size(), 1u);
  EXPECT_EQ(media_calls[0].header("apikey"), "evo-global-key");
  EXPECT_EQ(media_calls[0].header("content-type"), "application/json");

  json voice = invoke_send_media(h, {{"media_id", vn}, {"voice", true}});
  ASSERT_EQ(voice["ok"], true) << voice.dump();
  sent = wait_sent_n(h, 2);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1]["path"], "/message/sendWhatsAppAudio/jarvis");
  EXPECT_EQ(sent[1]["body"],
            json({{"number", kAna}, {"audio", whatsapp::base64_encode(kOggBytes)}}));
  auto audio_calls = requests_to(h, "POST", "/message/sendWhatsAppAudio/jarvis");
  ASSERT_EQ(audio_calls.size(), 1u);
  EXPECT_EQ(audio_calls[0].header("apikey"), "evo-global-key");
  json done = h.wait_events("channel.outbound.sent", 2);
  EXPECT_EQ(done[0]["payload"]["attachments"], 1);

  // A file swapped for a symlink after it was stored is refused before anything is sent.
  const std::string path = h.dir.file("media") + "/" + img + ".png";
  ASSERT_TRUE(std::filesystem::exists(path));
  std::filesystem::remove(path);
  std::filesystem::create_symlink("/etc/passwd", path);
  ASSERT_EQ(invoke_send_media(h, {{"media_id", img}})["ok"], true);
  json dead = h.wait_events("channel.outbound.dead_letter", 1);
  EXPECT_EQ(dead[0]["payload"]["reason"], "media_path_unsafe");
  EXPECT_EQ(dead[0]["payload"]["error_code"], "media_path_unsafe");
  EXPECT_EQ(h.evo.sent().size(), 2u);
}

TEST_P(WhatsappMediaOut, GatewayFailuresOfMediaSendsAreRetriedOrDeadLetteredWithStableCodes) {
  WaHost h(GetParam(), {.env = {{"WHATSAPP_REVIEW_MODE", "off"}}});
  h.evo.add_media("IMG2", kPngBytes, "image/png");
  h.post_webhook(WaHost::envelope(FakeEvolution::image_record(kAna, "IMG2", "", "image/png")));
  const std::string img = media_of(h, "IMG2", 1);
  ASSERT_FALSE(img.empty());
  ASSERT_EQ(jarvis::test::run_jarvis({"permissions", "allow", "agent:test", "whatsapp.send_media"},
                                     h.dir.path(), h.env)
                .exit_code,
            0);
  // 503, then success: retried.
  h.evo.fail_next_sends({503});
  ASSERT_EQ(invoke_send_media(h, {{"media_id", img}})["ok"], true);
  json ok = h.wait_events("channel.outbound.sent", 1);
  EXPECT_EQ(ok[0]["payload"]["attempts"], 2);
  ASSERT_EQ(h.evo.sent().size(), 1u);
  EXPECT_EQ(h.evo.sent()[0]["body"].count("caption"), 0u);  // no caption: no field
  // 400 from the gateway: a dead letter at once, evolution_api_error.
  h.evo.fail_next_sends({400});
  ASSERT_EQ(invoke_send_media(h, {{"media_id", img}})["ok"], true);
  json dead = h.wait_events("channel.outbound.dead_letter", 1);
  EXPECT_EQ(dead[0]["payload"]["reason"], "http_400");
  EXPECT_EQ(dead[0]["payload"]["error_code"], "evolution_api_error");
  EXPECT_EQ(dead[0]["payload"]["attempts"], 1);
  // 401: the key was refused.
  h.evo.fail_next_sends({401});
  ASSERT_EQ(invoke_send_media(h, {{"media_id", img}, {"voice", false}})["ok"], true);
  dead = h.wait_events("channel.outbound.dead_letter", 2);
  EXPECT_EQ(dead[1]["payload"]["error_code"], "evolution_api_unauthorized");
  EXPECT_EQ(h.evo.sent().size(), 1u);
}

TEST_P(WhatsappMediaOut, RestartRecreateAndAFreshQrSpeakTheWireContract) {
  WaHost h(GetParam(), {.env = {{"WHATSAPP_PAIRING_RATE_PER_MINUTE", "100"}}});
  h.create_instance();
  EXPECT_EQ(h.call("POST", "/api/v1/channels/whatsapp/restart", h.alice).status, 403);
  EXPECT_EQ(h.call("POST", "/api/v1/channels/whatsapp/recreate", h.alice).status, 403);

  auto rs = h.call("POST", "/api/v1/channels/whatsapp/restart", h.admin);
  ASSERT_EQ(rs.status, 200) << rs.body;
  EXPECT_EQ(body(rs)["ok"], true);
  auto restarts = requests_to(h, "POST", "/instance/restart/jarvis");
  ASSERT_EQ(restarts.size(), 1u);
  EXPECT_EQ(restarts[0].header("apikey"), "evo-global-key");

  const std::size_t creates_before = requests_to(h, "POST", "/instance/create").size();
  auto rc = h.call("POST", "/api/v1/channels/whatsapp/recreate", h.admin);
  ASSERT_EQ(rc.status, 200) << rc.body;
  EXPECT_EQ(body(rc)["deleted"], true);
  EXPECT_EQ(body(rc)["webhook"]["ok"], true);
  auto deletes = requests_to(h, "DELETE", "/instance/delete/jarvis");
  ASSERT_EQ(deletes.size(), 1u);
  EXPECT_EQ(deletes[0].header("apikey"), "evo-global-key");
  auto creates = requests_to(h, "POST", "/instance/create");
  ASSERT_EQ(creates.size(), creates_before + 1);
  json cb = json::parse(creates.back().body);
  EXPECT_EQ(creates.back().header("apikey"), "evo-global-key");
  EXPECT_EQ(cb["instanceName"], "jarvis");
  EXPECT_EQ(cb["integration"], "WHATSAPP-BAILEYS");
  EXPECT_EQ(cb["qrcode"], true);
  EXPECT_EQ(cb["webhook"], json({{"enabled", true},
                                 {"url", h.webhook_url()},
                                 {"headers", {{"X-WhatsApp-Secret", kSecret}}},
                                 {"byEvents", false},
                                 {"base64", false},
                                 {"events", {"MESSAGES_UPSERT"}}}));
  auto sets = requests_to(h, "POST", "/webhook/set/jarvis");
  ASSERT_FALSE(sets.empty());
  EXPECT_EQ(json::parse(sets.back().body)["webhook"], cb["webhook"]);
  // The recreated instance's deliveries authenticate; a fresh QR code is there to pair.
  EXPECT_EQ(h.evo.deliver("jarvis", FakeEvolution::text_record(kAna, "RC1", "hello")), 200);
  auto qr = h.call("GET", "/api/v1/channels/whatsapp/qrcode", h.admin);
  ASSERT_EQ(qr.status, 200) << qr.body;
  EXPECT_EQ(body(qr)["qrcode"].get<std::string>().rfind("data:image/png;base64,", 0), 0u);

  // Gateway failures map to stable codes.
  struct Case {
    int status;
    int http;
    std::string code;
  };
  for (const Case& c :
       {Case{500, 502, "evolution_api_error"}, Case{0, 502, "evolution_api_unreachable"},
        Case{401, 502, "evolution_api_unauthorized"}, Case{404, 404, "instance_not_found"}}) {
    h.evo.fail_next("/instance/restart/", {c.status});
    auto r = h.call("POST", "/api/v1/channels/whatsapp/restart", h.admin);
    EXPECT_EQ(r.status, c.http) << c.status << " " << r.body;
    EXPECT_EQ(error_code(r), c.code) << c.status << " " << r.body;
  }
  h.evo.fail_next("/instance/delete/", {500});
  auto failed = h.call("POST", "/api/v1/channels/whatsapp/recreate", h.admin);
  EXPECT_EQ(failed.status, 502);
  EXPECT_EQ(error_code(failed), "evolution_api_error");
  // A missing instance is simply created.
  h.evo.remove_instance("jarvis");
  auto fresh = h.call("POST", "/api/v1/channels/whatsapp/recreate", h.admin);
  ASSERT_EQ(fresh.status, 200) << fresh.body;
  EXPECT_EQ(body(fresh)["deleted"], false);
  // The CLI does the same.
  auto cli = jarvis::test::run_jarvis({"whatsapp", "restart", "--json"}, h.dir.path(), h.env);
  EXPECT_EQ(cli.exit_code, 0) << cli.out << cli.err;
  EXPECT_EQ(json::parse(cli.out, nullptr, false)["ok"], true);
}

INSTANTIATE_TEST_SUITE_P(Backends, WhatsappMediaOut,
                         ::testing::Values(Backend::Sqlite, Backend::Postgresql),
                         jarvis::test::backend_name);

}  // namespace media_out
}  // namespace wa_test
