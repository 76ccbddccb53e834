// whatsapp/tests/unit_test.cpp — pure parts: payload parsing, reply splitting, MIME sniffing,
// base64, the 48→16 kHz decimator's frequency response, OGG/Opus decoding of a real recording
// and the pocketsphinx backend on it.
#include <gtest/gtest.h>

#include <cmath>

#include "audio.h"
#include "inbound.h"
#include "net/http_client.h"
#include "support/fakes/fake_evolution.h"
#include "util.h"
#include "voice.h"
#include "voice_support.h"

namespace whatsapp {
namespace {

using jarvis::test::fakes::FakeEvolution;
using nlohmann::json;

TEST(WhatsappParse, RecordsOfEveryKind) {
  auto t = parse_record(FakeEvolution::text_record("5511@s.whatsapp.net", "A", "hi"));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, "text");
  EXPECT_EQ(t->chat_jid, "5511@s.whatsapp.net");
  auto g = parse_record(FakeEvolution::group_record("1203@g.us", "5522@s.whatsapp.net", "B", "x"));
  ASSERT_TRUE(g);
  EXPECT_TRUE(g->is_group);
  EXPECT_EQ(g->chat_jid, "1203@g.us");
  EXPECT_EQ(g->sender, "5522@s.whatsapp.net");
  auto l = parse_record(FakeEvolution::lid_record("99@lid", "5533@s.whatsapp.net", "C", "x"));
  ASSERT_TRUE(l);
  EXPECT_EQ(l->chat_jid, "5533@s.whatsapp.net");
  EXPECT_EQ(l->remote_jid, "99@lid");
  auto a = parse_record(FakeEvolution::audio_record("5511@s.whatsapp.net", "D", 7));
  ASSERT_TRUE(a && a->media);
  EXPECT_TRUE(a->media->voice_note);
  EXPECT_EQ(a->media->seconds, 7);
  EXPECT_FALSE(parse_record(
      FakeEvolution::from_me(FakeEvolution::text_record("5511@s.whatsapp.net", "E", "x"))));
  json proto = FakeEvolution::text_record("5511@s.whatsapp.net", "F", "");
  proto["message"] = {{"protocolMessage", {{"type", 0}}}};
  EXPECT_FALSE(parse_record(proto));
  EXPECT_FALSE(parse_record(json{{"key", "nope"}}));
  EXPECT_FALSE(parse_record(json::array()));
  json group_no_author = FakeEvolution::text_record("1203@g.us", "G", "x");
  EXPECT_FALSE(parse_record(group_no_author));
  ParsedDelivery d = parse_delivery(
      {{"event", "MESSAGES_UPSERT"},
       {"data", json::array({FakeEvolution::text_record("5511@s.whatsapp.net", "H", "x")})}});
  EXPECT_TRUE(d.supported);
  EXPECT_EQ(d.messages.size(), 1u);
  EXPECT_FALSE(parse_delivery({{"event", "connection.update"}}).supported);
}

TEST(WhatsappUtil, SplitKeepsEveryByteAndNeverCutsAUtf8Sequence) {
  std::string text;
  for (int i = 0; i < 300; ++i) text += i % 7 == 0 ? "é " : "ab ";
  text += "\n" + std::string(250, 'z');
  auto parts = split_message(text, 100);
  std::string joined;
  for (const auto& p : parts) {
    EXPECT_TRUE(valid_utf8(p)) << p;
    joined += p;
  }
  EXPECT_EQ(joined, text);
  EXPECT_GE(parts.size(), 8u);
  EXPECT_TRUE(split_message("", 10).empty());
  EXPECT_EQ(split_message("short", 10), std::vector<std::string>{"short"});
}

TEST(WhatsappUtil, MimeComesFromTheBytes) {
  EXPECT_EQ(sniff_mime("OggS\0\x02"), "audio/ogg");
  EXPECT_EQ(sniff_mime("\xFF\xD8\xFF\xE0"), "image/jpeg");
  EXPECT_EQ(sniff_mime("%PDF-1.7"), "application/pdf");
  EXPECT_EQ(sniff_mime(std::string("RIFF\0\0\0\0WEBP", 12)), "image/webp");
  EXPECT_EQ(sniff_mime("MZ\x90\0"), "application/octet-stream");
  EXPECT_EQ(sniff_mime("<html>"), "application/octet-stream");
  EXPECT_EQ(extension_for("image/png"), "png");
  EXPECT_EQ(extension_for("text/html"), "bin");
}

TEST(WhatsappUtil, Base64RoundTripsAndRefusesGarbage) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  for (std::size_t n : {0u, 1u, 2u, 3u, 100u, 256u}) {
    auto back = base64_decode(base64_encode(bytes.substr(0, n)));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, bytes.substr(0, n));
  }
  EXPECT_EQ(*base64_decode("data:image/png;base64,aGk="), "hi");
  EXPECT_FALSE(base64_decode("a*b="));
  EXPECT_EQ(normalize_number("+55 (11) 99999-0001"), "5511999990001");
  EXPECT_EQ(normalize_number("5511999990001:12@s.whatsapp.net"), "5511999990001");
}

double tone_gain(double hz) {
  std::vector<float> in(48000);
  for (std::size_t i = 0; i < in.size(); ++i)
    in[i] = static_cast<float>(0.5 * std::sin(2 * M_PI * hz * i / 48000.0));
  auto out = decimate_48k_to_16k(in);
  double sum = 0;
  for (std::size_t i = 1000; i < out.size() - 1000; ++i) sum += out[i] * out[i];
  return std::sqrt(sum / static_cast<double>(out.size() - 2000)) / (0.5 / std::sqrt(2.0));
}

TEST(WhatsappAudio, TheDecimatorPassesSpeechAndRemovesWhatWouldAlias) {
  EXPECT_NEAR(tone_gain(1000), 1.0, 0.01);
  EXPECT_NEAR(tone_gain(4000), 1.0, 0.02);
  EXPECT_LT(tone_gain(10000), 0.01);  // would fold onto 6 kHz without the filter
  EXPECT_LT(tone_gain(15000), 0.01);
  EXPECT_EQ(decimate_48k_to_16k(std::vector<float>(4800)).size(), 1600u);
}

TEST(WhatsappAudio, ARealRecordingDecodesAndPocketsphinxHearsIt) {
  jarvis::test::TempDir dir;
  const std::string ogg = wa_test::goforward_ogg(dir);
  ASSERT_FALSE(ogg.empty());
  std::string why;
  auto pcm = decode_to_16k_mono(dir.file("goforward.ogg"), &why);
  ASSERT_TRUE(pcm) << why;
  const double raw_seconds =
      static_cast<double>(std::filesystem::file_size(wa_test::kGoForwardRaw)) / 2 / 16000;
  EXPECT_NEAR(pcm->size() / 16000.0, raw_seconds, 0.1);
  EXPECT_FALSE(decode_to_16k_mono(dir.file("missing.ogg"), &why));
  if (!Transcriber::pocketsphinx_available()) GTEST_SKIP() << "built without pocketsphinx";
  Settings s;
  s.voice_backend = "pocketsphinx";
  jarvis::host::CurlHttpClient http;
  Transcriber t(http, s);
  Transcription r = t.transcribe(dir.file("goforward.ogg"), "audio/ogg", {});
  ASSERT_TRUE(r.ok()) << r.reason << " " << r.detail;
  EXPECT_NE(r.text.find("forward"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("meters"), std::string::npos) << r.text;
  Transcription warm = t.transcribe(dir.file("goforward.ogg"), "audio/ogg", {});
  ASSERT_TRUE(warm.ok());
  EXPECT_EQ(warm.text, r.text);
  std::printf(
      "pocketsphinx: \"%s\" %.2f s of audio; first call %lld ms (decoder load), warm %lld ms, "
      "real-time factor %.3f\n",
      r.text.c_str(), r.audio_seconds, r.elapsed_ms, warm.elapsed_ms,
      static_cast<double>(warm.elapsed_ms) / 1000.0 / warm.audio_seconds);
}

}  // namespace
}  // namespace whatsapp
