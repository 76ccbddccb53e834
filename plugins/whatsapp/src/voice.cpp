// whatsapp/src/voice.cpp — see voice.h.
#include "voice.h"

#include <filesystem>

#include "audio.h"

#ifdef WHATSAPP_HAVE_POCKETSPHINX
#include <pocketsphinx.h>
#endif

namespace whatsapp {
namespace {

using Clock = std::chrono::steady_clock;

Transcription fail(const std::string& backend, std::string reason, std::string detail) {
  Transcription t;
  t.backend = backend;
  t.reason = std::move(reason);
  t.detail = std::move(detail);
  if (t.detail.size() > 300) t.detail.resize(300);
  return t;
}

std::string file_name_for(const std::string& mime) {
  if (mime == "audio/ogg") return "voice.ogg";
  if (mime == "audio/mpeg") return "voice.mp3";
  if (mime == "audio/wav") return "voice.wav";
  if (mime == "audio/mp4") return "voice.m4a";
  if (mime == "video/webm") return "voice.webm";
  return "voice.ogg";
}

// The command line split on blanks (no shell: quoting is not interpreted).
std::vector<std::string> split_words(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : line) {
    if (jarvis::is_ascii_space(c)) {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

}  // namespace

std::string Transcription::status() const {
  if (reason.empty()) return "ok";
  if (reason == "voice_transcription_timeout") return "timeout";
  if (reason == "voice_transcription_backend_unavailable") return "unavailable";
  return "failed";
}

#ifdef WHATSAPP_HAVE_POCKETSPHINX
struct Transcriber::Decoder {
  ps_decoder_t* ps = nullptr;
  ~Decoder() {
    if (ps) ps_free(ps);
  }
};
bool Transcriber::pocketsphinx_available() { return true; }
#else
struct Transcriber::Decoder {};
bool Transcriber::pocketsphinx_available() { return false; }
#endif

Transcriber::Transcriber(jarvis::HttpClient& http, const Settings& settings)
    : http_(http), s_(settings) {}
Transcriber::~Transcriber() = default;

Transcription Transcriber::transcribe(const std::string& path, const std::string& mime,
                                      const jarvis::CancelToken& cancel) {
  const auto start = Clock::now();
  const auto end = start + std::chrono::seconds(s_.voice_timeout_seconds);
  Transcription t;
  const std::string& b = s_.voice_backend;
  if (b == "stub") {
    t.backend = b;
    t.text = "voice note received";
  } else if (b == "pocketsphinx") {
    t = pocketsphinx(path, end, cancel);
  } else if (b == "faster_whisper") {
    t = whisper(path, mime, cancel);
  } else if (b == "command") {
    t = command(path, cancel);
  } else {
    t = fail(b, "voice_transcription_backend_unavailable", "unknown backend " + b);
  }
  t.elapsed_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  if (t.ok()) {
    t.text = jarvis::trimmed(t.text);
    if (t.text.empty()) return fail(t.backend, "voice_transcription_failed", "empty transcript");
  }
  return t;
}

Transcription Transcriber::pocketsphinx(const std::string& path, Clock::time_point end,
                                        const jarvis::CancelToken& cancel) {
#ifndef WHATSAPP_HAVE_POCKETSPHINX
  (void)path;
  (void)end;
  (void)cancel;
  return fail("pocketsphinx", "voice_transcription_backend_unavailable",
              "built without pocketsphinx");
#else
  std::string why;
  auto pcm = decode_to_16k_mono(path, &why);
  if (!pcm) return fail("pocketsphinx", "voice_transcription_failed", why);
  std::lock_guard lock(decoder_mu_);
  if (!decoder_) {
    const std::string base = WHATSAPP_POCKETSPHINX_MODELDIR;
    const std::string hmm = s_.voice_model.empty() ? base + "/en-us/en-us" : s_.voice_model;
    const std::string lm = base + "/en-us/en-us.lm.bin";
    const std::string dict = base + "/en-us/cmudict-en-us.dict";
    for (const auto& p : {hmm, lm, dict}) {
      if (!std::filesystem::exists(p)) {
        return fail("pocketsphinx", "voice_transcription_backend_unavailable",
                    "model file missing: " + p + " (install pocketsphinx-en-us)");
      }
    }
    cmd_ln_t* config = cmd_ln_init(nullptr, ps_args(), TRUE, "-hmm", hmm.c_str(), "-lm", lm.c_str(),
                                   "-dict", dict.c_str(), "-logfn", "/dev/null", nullptr);
    if (!config) {
      return fail("pocketsphinx", "voice_transcription_backend_unavailable", "bad configuration");
    }
    auto d = std::make_unique<Decoder>();
    d->ps = ps_init(config);
    cmd_ln_free_r(config);
    if (!d->ps) {
      return fail("pocketsphinx", "voice_transcription_backend_unavailable",
                  "the decoder did not start");
    }
    decoder_ = std::move(d);
  }
  ps_decoder_t* ps = decoder_->ps;
  Transcription t;
  t.backend = "pocketsphinx";
  t.audio_seconds = static_cast<double>(pcm->size()) / 16000.0;
  // Continuous decoding: one utterance per stretch of speech (as pocketsphinx_continuous).
  auto collect = [&] {
    ps_end_utt(ps);
    if (const char* hyp = ps_get_hyp(ps, nullptr); hyp && *hyp) {
      if (!t.text.empty()) t.text += ' ';
      t.text += hyp;
    }
  };
  ps_start_utt(ps);
  bool in_utt = false;
  constexpr std::size_t kChunk = 2048;
  for (std::size_t off = 0; off < pcm->size(); off += kChunk) {
    if (Clock::now() > end) {
      ps_end_utt(ps);
      return fail("pocketsphinx", "voice_transcription_timeout",
                  "longer than WHATSAPP_VOICE_TRANSCRIBE_TIMEOUT_SECONDS");
    }
    if (cancel.cancelled()) {
      ps_end_utt(ps);
      return fail("pocketsphinx", "voice_transcription_failed", "stopped (host shutting down)");
    }
    const std::size_t n = std::min(kChunk, pcm->size() - off);
    if (ps_process_raw(ps, pcm->data() + off, n, FALSE, FALSE) < 0) {
      ps_end_utt(ps);
      return fail("pocketsphinx", "voice_transcription_failed", "decoding failed");
    }
    const bool speech = ps_get_in_speech(ps) != 0;
    if (speech && !in_utt) in_utt = true;
    if (!speech && in_utt) {
      collect();
      ps_start_utt(ps);
      in_utt = false;
    }
  }
  collect();
  return t;
#endif
}

Transcription Transcriber::whisper(const std::string& path, const std::string& mime,
                                   const jarvis::CancelToken& cancel) {
  if (s_.voice_url.empty()) {
    return fail("faster_whisper", "voice_transcription_backend_unavailable",
                "WHATSAPP_VOICE_URL is not set");
  }
  jarvis::OutboundRequest up{.method = "POST", .url = s_.voice_url + "/v1/audio/transcriptions"};
  up.timeout_ms = static_cast<long>(s_.voice_timeout_seconds * 1000);
  up.cancel = cancel;
  if (!s_.voice_api_key.empty()) {
    up.headers.set("Authorization", "Bearer " + s_.voice_api_key.reveal());
  }
  up.multipart = {{.name = "model", .data = s_.voice_model.empty() ? "base" : s_.voice_model},
                  {.name = "response_format", .data = "json"}};
  if (!s_.voice_language.empty()) {
    up.multipart.push_back({.name = "language", .data = s_.voice_language});
  }
  up.multipart.push_back({.name = "file",
                          .filename = file_name_for(mime),
                          .content_type = mime.empty() ? "audio/ogg" : mime,
                          .file = path});
  jarvis::OutboundResponse res = http_.send(up);
  if (res.error_class == "timeout") {
    return fail("faster_whisper", "voice_transcription_timeout",
                "the whisper server did not answer in time");
  }
  if (res.status == 0) {
    return fail("faster_whisper", "voice_transcription_backend_unavailable",
                res.error_class + ": " + res.error_message);
  }
  if (!res.ok()) {
    std::string msg = "HTTP " + std::to_string(res.status);
    if (auto j = jarvis::try_parse_json(res.body);
        j && j->is_object() && j->contains("error") && (*j)["error"].is_object()) {
      msg += ": " + (*j)["error"].value("message", "");
    }
    return fail("faster_whisper", "voice_transcription_failed", msg);
  }
  auto j = jarvis::try_parse_json(res.body);
  if (!j || !j->is_object() || !(*j)["text"].is_string()) {
    return fail("faster_whisper", "voice_transcription_failed", "answer without text");
  }
  Transcription t;
  t.backend = "faster_whisper";
  t.text = (*j)["text"].get<std::string>();
  return t;
}

Transcription Transcriber::command(const std::string& path, const jarvis::CancelToken& cancel) {
  std::vector<std::string> argv;
  for (const auto& word : split_words(s_.voice_command)) {
    std::string w = word;
    auto sub = [&w](const std::string& key, const std::string& value) {
      for (std::size_t p; (p = w.find(key)) != std::string::npos;) w.replace(p, key.size(), value);
    };
    sub("{file}", path);
    sub("{language}", s_.voice_language);
    sub("{model}", s_.voice_model);
    sub("{device}", s_.voice_device);
    sub("{compute_type}", s_.voice_compute_type);
    argv.push_back(w);
  }
  if (argv.empty()) {
    return fail("command", "voice_transcription_backend_unavailable",
                "WHATSAPP_VOICE_COMMAND is not set");
  }
  if (s_.voice_command.find("{file}") == std::string::npos) argv.push_back(path);
  jarvis::ProcessOptions o{.argv = argv, .timeout_ms = s_.voice_timeout_seconds * 1000};
  o.cancel = cancel;
  jarvis::ProcessResult r = jarvis::run_process(o);
  if (r.timed_out) {
    return fail("command", "voice_transcription_timeout",
                "the command ran longer than WHATSAPP_VOICE_TRANSCRIBE_TIMEOUT_SECONDS (killed)");
  }
  if (r.exit_code == 127 || r.exit_code == 126) {
    return fail("command", "voice_transcription_backend_unavailable", "cannot run " + argv.front());
  }
  if (r.exit_code != 0) {
    return fail("command", "voice_transcription_failed",
                "exit code " + std::to_string(r.exit_code));
  }
  Transcription t;
  t.backend = "command";
  t.text = r.stdout_text;
  return t;
}

}  // namespace whatsapp
