// whatsapp/src/evolution.h — the Evolution API (v2) client: instances, QR and pairing codes, the
// webhook configuration, sending, and media as base64 (docs: ../shared/spec/evolution-api.md).
// Every call carries the `apikey` header; with EVOLUTION_API_URL unset nothing is sent and every
// call answers error "evolution_api_disabled".
//
//   EvolutionClient evo(host.http(), settings);
//   EvoResult r = evo.send_text("120363…@g.us", "hello");
//   if (r.retryable()) throw …;          // 429, 5xx, network: let the task retry
//   EvoResult qr = evo.connect();        // {code, base64, pairingCode, count}
#pragma once

#include <string>

#include "jarvis/jarvis.h"
#include "settings.h"

namespace whatsapp {

/// Outcome of one Evolution call.
struct EvoResult {
  int status = 0;     ///< HTTP status; 0 when no answer (or disabled)
  jarvis::Json body;  ///< the parsed answer (null when not JSON)
  /// "" on a 2xx; "evolution_api_disabled"; the http client's outage class (timeout,
  /// network_unreachable, …); or "http_<status>".
  std::string error;
  std::string message;  ///< human-readable detail (never a secret)

  bool ok() const { return error.empty(); }
  /// True for outcomes worth retrying: 429, 5xx, and transport failures.
  bool retryable() const;
  /// The stable code of a failure: "" on success, evolution_api_disabled (URL unset),
  /// evolution_api_unreachable (no HTTP answer), evolution_api_unauthorized (401: the
  /// EVOLUTION_API_KEY was refused), evolution_api_error (any other HTTP error answer).
  std::string error_code() const;
  /// {ok, status_code, error?, code?, message?} for API answers.
  jarvis::Json summary() const;
};

/// Evolution API client. Thread-safe (holds only configuration).
class EvolutionClient {
 public:
  EvolutionClient(jarvis::HttpClient& http, const Settings& settings) : http_(http), s_(settings) {}

  bool enabled() const { return s_.evolution_enabled(); }
  const std::string& instance() const { return s_.instance; }

  /// POST /instance/create with the webhook (when EVOLUTION_WEBHOOK_URL is set) nested.
  EvoResult create_instance();
  /// GET /instance/connectionState/{instance} → {instance:{instanceName, state}}.
  EvoResult connection_state();
  /// GET /instance/connect/{instance}[?number=digits] → {code, base64, count, pairingCode}.
  EvoResult connect(const std::string& number_digits = "");
  /// DELETE /instance/logout/{instance}.
  EvoResult logout();
  /// DELETE /instance/delete/{instance}.
  EvoResult remove();
  /// POST /instance/restart/{instance}.
  EvoResult restart();
  /// POST /webhook/set/{instance} with webhook_config().
  EvoResult set_webhook();
  /// GET /webhook/find/{instance}.
  EvoResult find_webhook();
  /// POST /message/sendText/{instance} {number, text}.
  EvoResult send_text(const std::string& number, const std::string& text);
  /// POST /message/sendMedia/{instance} {number, mediatype, mimetype, media, fileName, caption}.
  EvoResult send_media(const std::string& number, const std::string& mediatype,
                       const std::string& mimetype, const std::string& media_base64,
                       const std::string& file_name, const std::string& caption);
  /// POST /message/sendWhatsAppAudio/{instance} {number, audio}.
  EvoResult send_audio(const std::string& number, const std::string& audio_base64);
  /// POST /chat/getBase64FromMediaMessage/{instance} → {mediaType, fileName, size, mimetype,
  /// base64}; the answer is capped at `max_answer_bytes` (error "too_large").
  EvoResult media_base64(const std::string& key_id, std::size_t max_answer_bytes,
                         const jarvis::CancelToken& cancel);

  /// The `webhook` object set on the instance: {enabled, url, headers: {X-WhatsApp-Secret},
  /// byEvents, base64: false, events}.
  jarvis::Json webhook_config() const;

 private:
  EvoResult call(const std::string& method, const std::string& path, const jarvis::Json& body,
                 std::size_t max_bytes = 4 << 20, const jarvis::CancelToken& cancel = {},
                 long timeout_ms = 30000);

  jarvis::HttpClient& http_;
  const Settings& s_;
};

/// Percent-encodes a path segment or query value (RFC 3986 unreserved characters kept).
std::string url_encode(const std::string& s);

}  // namespace whatsapp
