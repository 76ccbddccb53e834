// whatsapp/src/voice.h — voice-note transcription behind one interface, with four backends:
// `stub` (fixed text), `pocketsphinx` (in-process, Debian's en-us model; audio decoded by
// audio.h), `faster_whisper` (an OpenAI-compatible POST {WHATSAPP_VOICE_URL}/v1/audio/
// transcriptions, multipart with model and language) and `command` (a local program given the
// file; its process group is killed on timeout). Every failure maps to one runbook reason code.
//
//   Transcriber t(host.http(), settings);
//   Transcription r = t.transcribe("/var/media/wmd_1.ogg", "audio/ogg", cancel);
//   if (r.ok()) text = r.text; else degraded(r.reason);  // voice_transcription_timeout, …
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "jarvis/jarvis.h"
#include "settings.h"

namespace whatsapp {

/// Result of one transcription.
struct Transcription {
  std::string backend;
  std::string reason;  ///< "" on success; voice_transcription_{backend_unavailable,failed,timeout}
  std::string detail;
  std::string text;
  double audio_seconds = 0;  ///< pocketsphinx: decoded length
  long long elapsed_ms = 0;

  bool ok() const { return reason.empty(); }
  /// "ok", "failed", "timeout" or "unavailable" (stored as transcription_status).
  std::string status() const;
};

/// Runs the configured backend. Thread-safe (pocketsphinx decodes one note at a time).
class Transcriber {
 public:
  Transcriber(jarvis::HttpClient& http, const Settings& settings);
  ~Transcriber();

  /// Transcribes `path` within WHATSAPP_VOICE_TRANSCRIBE_TIMEOUT_SECONDS.
  Transcription transcribe(const std::string& path, const std::string& mime,
                           const jarvis::CancelToken& cancel);

  /// True when the pocketsphinx backend was compiled in.
  static bool pocketsphinx_available();

 private:
  Transcription pocketsphinx(const std::string& path, std::chrono::steady_clock::time_point end,
                             const jarvis::CancelToken& cancel);
  Transcription whisper(const std::string& path, const std::string& mime,
                        const jarvis::CancelToken& cancel);
  Transcription command(const std::string& path, const jarvis::CancelToken& cancel);

  jarvis::HttpClient& http_;
  const Settings& s_;
  struct Decoder;
  std::mutex decoder_mu_;
  std::unique_ptr<Decoder> decoder_;  ///< created on first use, kept
};

}  // namespace whatsapp
