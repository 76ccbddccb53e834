// tests/support/fakes/fake_transcription.h — a fake OpenAI-compatible transcription server on
// 127.0.0.1 (../shared/spec/transcription-api.md): POST /v1/audio/transcriptions, multipart/
// form-data with `file` (a file name whose extension names the format), `model` (required),
// optional `language`, `prompt`, `temperature`, `response_format` (json | text | verbose_json |
// srt | vtt). Answers {"text": …} (json), the bare text, or verbose_json with segments; errors
// as OpenAI sends them ({"error": {message, type, param, code}}). tests/node/transcription.test.mjs
// checks it with the official `openai` client.
//
//   FakeTranscription whisper;                 // optional: whisper.set_api_key("sk-w")
//   whisper.set_text("go forward ten meters");
//   whisper.set_delay(std::chrono::seconds(5));   // for timeouts
//   env["WHATSAPP_VOICE_URL"] = whisper.base_url();   // http://127.0.0.1:PORT
//   auto r = whisper.requests();               // fields: model, language, file_name, file_size
//
// Thread-safety: every member may be called from any thread.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/fakes/loopback_server.h"

namespace jarvis::test::fakes {

/// One part of a multipart/form-data body.
struct FormPart {
  std::string name, filename, content_type, data;
};

/// Parses a multipart/form-data body with the boundary from `content_type`; empty on failure.
std::vector<FormPart> parse_multipart(const std::string& content_type, const std::string& body);

/// One transcription request as the fake saw it.
struct TranscriptionRequest {
  std::map<std::string, std::string> fields;  ///< every non-file field
  std::string file_name, file_type;
  std::size_t file_size = 0;
  std::string file_head;  ///< the first 16 bytes of the file
  std::string authorization;
};

/// The fake server (see the file comment).
class FakeTranscription {
 public:
  explicit FakeTranscription(int port = 0);
  ~FakeTranscription();
  FakeTranscription(const FakeTranscription&) = delete;
  FakeTranscription& operator=(const FakeTranscription&) = delete;

  /// "http://127.0.0.1:PORT" (clients append /v1/audio/transcriptions).
  std::string base_url() const;
  int port() const;
  /// The transcript answered (default "hello from whisper").
  void set_text(const std::string& text);
  /// Requires "Authorization: Bearer KEY" (401 invalid_api_key otherwise).
  void set_api_key(const std::string& key);
  /// Waits this long before answering.
  void set_delay(std::chrono::milliseconds d);
  /// The next answers fail with these statuses (OpenAI error bodies).
  void fail_next(std::vector<int> statuses);
  std::vector<TranscriptionRequest> requests() const;
  /// {"text", "requests": [...]} — what GET /_fake/requests answers.
  nlohmann::json requests_json() const;

 private:
  void handle(const HttpRequest& req, Responder& out);

  mutable std::mutex mu_;
  std::string text_ = "hello from whisper";
  std::string api_key_;
  std::chrono::milliseconds delay_{0};
  std::vector<int> failures_;
  std::vector<TranscriptionRequest> requests_;
  std::unique_ptr<LoopbackServer> server_;
};

}  // namespace jarvis::test::fakes
