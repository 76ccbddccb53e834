// whatsapp/tests/voice_media_test.cpp — the whole path for media and voice notes over real HTTP:
// webhook → whatsapp.process (media from Evolution's base64 endpoint or a mediaUrl) → the voice
// backend (pocketsphinx on a real recording, faster_whisper against FakeTranscription, a command,
// a timeout) → transcript as the message text → channel.inbound; every refusal as
// channel.inbound.degraded with the runbook's reason code, the message still delivered.
#include <signal.h>

#include "support/fakes/fake_transcription.h"
#include "voice_support.h"
#include "wa_support.h"

namespace wa_test {
namespace {

using jarvis::test::fakes::FakeTranscription;

class WhatsappVoice : public ::testing::TestWithParam<Backend> {};

json inbound_for(const WaHost& h, const std::string& key, std::size_t count) {
  for (const auto& e : h.wait_events("channel.inbound", count)) {
    if (e["payload"]["key_id"] == key) return e["payload"];
  }
  return nullptr;
}

std::string degraded_reason(const WaHost& h, const std::string& key, std::size_t count) {
  for (const auto& e : h.wait_events("channel.inbound.degraded", count)) {
    if (e["payload"]["detail"]["external_msg_id"] == key) return e["payload"]["reason"];
  }
  return "";
}

TEST_P(WhatsappVoice, PocketsphinxTranscribesARealVoiceNoteIntoChannelInbound) {
  WaHost h(GetParam(), {.env = {{"WHATSAPP_REVIEW_MODE", "off"},
                                {"WHATSAPP_VOICE_TRANSCRIBE_BACKEND", "pocketsphinx"}}});
  const std::string ogg = goforward_ogg(h.dir);
  ASSERT_FALSE(ogg.empty());
  h.evo.add_media("VN1", ogg, "audio/ogg; codecs=opus");
  auto r = h.post_webhook(WaHost::envelope(FakeEvolution::audio_record(kAna, "VN1", 3)));
  ASSERT_EQ(r.status, 200) << r.body;
  json p = inbound_for(h, "VN1", 1);
  ASSERT_TRUE(p.is_object());
  const std::string text = p["text"];
  EXPECT_NE(text.find("forward"), std::string::npos) << text;
  EXPECT_NE(text.find("meters"), std::string::npos) << text;
  ASSERT_EQ(p["attachments"].size(), 1u);
  EXPECT_EQ(p["attachments"][0]["mime"], "audio/ogg");
  EXPECT_EQ(p["attachments"][0]["transcript"], text);  // stored with the media row
  EXPECT_EQ(p["attachments"][0]["transcription_status"], "ok");
  // Evolution was asked for the bytes the documented way.
  bool asked = false;
  for (const auto& req : h.evo.requests()) {
    if (req.path == "/chat/getBase64FromMediaMessage/jarvis") {
      asked = json::parse(req.body)["message"]["key"]["id"] == "VN1";
    }
  }
  EXPECT_TRUE(asked);
}

TEST_P(WhatsappVoice, FasterWhisperSendsModelLanguageAndTheFile) {
  FakeTranscription whisper;
  whisper.set_api_key("sk-whisper");
  whisper.set_text("/status");
  WaHost h(GetParam(), {.env = {{"WHATSAPP_REVIEW_MODE", "off"},
                                {"WHATSAPP_VOICE_TRANSCRIBE_BACKEND", "faster_whisper"},
                                {"WHATSAPP_VOICE_URL", whisper.base_url()},
                                {"WHATSAPP_VOICE_API_KEY", "sk-whisper"},
                                {"WHATSAPP_VOICE_MODEL", "small"},
                                {"WHATSAPP_VOICE_LANGUAGE", "pt"}}});
  h.evo.add_media("FW1", std::string("OggS") + std::string(100, '\1'), "audio/ogg; codecs=opus");
  h.post_webhook(WaHost::envelope(FakeEvolution::audio_record(kAna, "FW1", 2)));
  json p = inbound_for(h, "FW1", 1);
  EXPECT_EQ(p["text"], "/status");  // a spoken command is a command
  auto reqs = whisper.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].fields["model"], "small");
  EXPECT_EQ(reqs[0].fields["language"], "pt");
  EXPECT_EQ(reqs[0].file_name, "voice.ogg");
  EXPECT_EQ(reqs[0].file_head.substr(0, 4), "OggS");
  EXPECT_EQ(reqs[0].authorization, "Bearer sk-whisper");
}

TEST_P(WhatsappVoice, CommandBackendFailureAndTimeoutKillTheProcessGroup) {
  jarvis::test::TempDir scripts;
  const std::string ok = scripts.file("ok.sh");
  jarvis::test::write_file(ok, "#!/bin/sh\ntest -s \"$1\" && echo \"turn left at $2\"\n");
  const std::string slow = scripts.file("slow.sh");
  const std::string pidfile = scripts.file("child.pid");
  jarvis::test::write_file(slow, "#!/bin/sh\nsleep 60 &\necho $! > " + pidfile + "\nwait\n");
  std::filesystem::permissions(ok, std::filesystem::perms::owner_all);
  std::filesystem::permissions(slow, std::filesystem::perms::owner_all);
  {
    WaHost h(GetParam(), {.env = {{"WHATSAPP_REVIEW_MODE", "off"},
                                  {"WHATSAPP_VOICE_TRANSCRIBE_BACKEND", "command"},
                                  {"WHATSAPP_VOICE_COMMAND", ok + " {file} {language}"},
                                  {"WHATSAPP_VOICE_LANGUAGE", "en"}}});
    h.evo.add_media("CM1", std::string("OggS") + std::string(50, '\2'), "audio/ogg");
    h.post_webhook(WaHost::envelope(FakeEvolution::audio_record(kAna, "CM1", 1)));
    EXPECT_EQ(inbound_for(h, "CM1", 1)["text"], "turn left at en");
  }
  WaHost h(GetParam(), {.env = {{"WHATSAPP_REVIEW_MODE", "off"},
                                {"WHATSAPP_VOICE_TRANSCRIBE_BACKEND", "command"},
                                {"WHATSAPP_VOICE_COMMAND", slow},
                                {"WHATSAPP_VOICE_TRANSCRIBE_TIMEOUT_SECONDS", "1"}}});
  h.evo.add_media("CM2", std::string("OggS") + std::string(50, '\2'), "audio/ogg");
  h.post_webhook(WaHost::envelope(FakeEvolution::audio_record(kAna, "CM2", 1)));
  EXPECT_EQ(degraded_reason(h, "CM2", 1), "voice_transcription_timeout");
  json p = inbound_for(h, "CM2", 1);
  EXPECT_NE(p["text"].get<std::string>().find("voice_transcription_timeout"), std::string::npos);
  // The transcriber's own child was in the killed process group.
  const int child = std::stoi(jarvis::test::read_file(pidfile));
  EXPECT_TRUE(WaHost::eventually([&] { return ::kill(child, 0) != 0; }, std::chrono::seconds(10)))
      << "pid " << child << " still alive";
}

TEST_P(WhatsappVoice, BackendUnavailableAndFailedAreDegradedButDelivered) {
  WaHost h(GetParam(), {.env = {{"WHATSAPP_REVIEW_MODE", "off"},
                                {"WHATSAPP_VOICE_TRANSCRIBE_BACKEND", "faster_whisper"}}});
  h.evo.add_media("BU1", std::string("OggS") + std::string(50, '\3'), "audio/ogg");
  h.post_webhook(WaHost::envelope(FakeEvolution::audio_record(kAna, "BU1", 1)));
  EXPECT_EQ(degraded_reason(h, "BU1", 1), "voice_transcription_backend_unavailable");
  EXPECT_TRUE(inbound_for(h, "BU1", 1).is_object());

  WaHost f(GetParam(), {.env = {{"WHATSAPP_REVIEW_MODE", "off"},
                                {"WHATSAPP_VOICE_TRANSCRIBE_BACKEND", "command"},
                                {"WHATSAPP_VOICE_COMMAND", "false"}}});
  f.evo.add_media("VF1", std::string("OggS") + std::string(50, '\3'), "audio/ogg");
  f.post_webhook(WaHost::envelope(FakeEvolution::audio_record(kAna, "VF1", 1)));
  EXPECT_EQ(degraded_reason(f, "VF1", 1), "voice_transcription_failed");
  json p = inbound_for(f, "VF1", 1);
  EXPECT_NE(p["text"].get<std::string>().find("could not be transcribed"), std::string::npos);
}

TEST_P(WhatsappVoice, EveryMediaRefusalCodeThroughTheWebhook) {
  WaHost h(GetParam(), {.env = {{"WHATSAPP_REVIEW_MODE", "off"},
                                {"WHATSAPP_MEDIA_MAX_BYTES", "2000"},
                                {"WHATSAPP_MEDIA_ALLOWED_MIME_PREFIXES", "image/,audio/"},
                                {"WHATSAPP_MEDIA_ALLOWED_HOSTS", "cdn.example.com,localhost"}}});
  const std::string png = std::string("\x89PNG\r\n\x1A\n", 8);
  h.evo.add_media("BIG", png + std::string(5000, 'x'), "image/png");
  h.evo.add_media("PDF", "%PDF-1.4 not an image", "application/pdf");
  h.evo.add_media("EXE", std::string("MZ\x90\0", 4) + std::string(100, 'x'), "image/png");
  struct Case {
    json record;
    std::string key, reason;
  };
  std::vector<Case> cases = {
      {FakeEvolution::image_record(kAna, "BIG", "big", "image/png"), "BIG", "media_size_exceeded"},
      {FakeEvolution::document_record(kAna, "PDF", "a.pdf", "doc"), "PDF", "media_mime_denied"},
      {FakeEvolution::image_record(kAna, "EXE", "exe", "image/png"), "EXE", "media_mime_denied"},
      {FakeEvolution::image_record(kAna, "GONE", "gone", "image/png"), "GONE",
       "media_download_failed"},
      {FakeEvolution::image_record(kAna, "HTTP", "http", "image/png",
                                   "http://cdn.example.com/a.png"),
       "HTTP", "media_url_invalid"},
      {FakeEvolution::image_record(kAna, "EVIL", "evil", "image/png",
                                   "https://evil.example.net/a.png"),
       "EVIL", "media_host_denied"},
      {FakeEvolution::image_record(kAna, "PRIV", "private", "image/png",
                                   "https://localhost:" + std::to_string(h.port) + "/healthz"),
       "PRIV", "media_host_denied"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(h.post_webhook(WaHost::envelope(c.record)).status, 200);
  }
  h.wait_events("channel.inbound", cases.size());
  for (const auto& c : cases) {
    EXPECT_EQ(degraded_reason(h, c.key, cases.size()), c.reason) << c.key;
    json p = inbound_for(h, c.key, cases.size());
    // Still delivered: the caption and a note naming the refusal.
    EXPECT_NE(p["text"].get<std::string>().find(c.reason), std::string::npos) << p.dump();
    EXPECT_EQ(p["attachments"][0]["status"], "refused");
    EXPECT_EQ(p["attachments"][0]["reason"], c.reason);
  }
  std::error_code ec;
  std::size_t files = 0;
  for (auto it = std::filesystem::directory_iterator(h.dir.file("media"), ec);
       !ec && it != std::filesystem::directory_iterator(); ++it) {
    ++files;
  }
  EXPECT_EQ(files, 0u);

  WaHost bad_dir(GetParam(), {.env = {{"WHATSAPP_REVIEW_MODE", "off"},
                                      {"WHATSAPP_MEDIA_DIR", "/proc/version/media"}}});
  bad_dir.evo.add_media("PATH", png + "x", "image/png");
  bad_dir.post_webhook(
      WaHost::envelope(FakeEvolution::image_record(kAna, "PATH", "p", "image/png")));
  EXPECT_EQ(degraded_reason(bad_dir, "PATH", 1), "media_path_unsafe");
}

INSTANTIATE_TEST_SUITE_P(Backends, WhatsappVoice,
                         ::testing::Values(Backend::Sqlite, Backend::Postgresql),
                         jarvis::test::backend_name);

}  // namespace
}  // namespace wa_test
