// whatsapp/src/media.h — fetching an inbound media item safely and storing it under
// WHATSAPP_MEDIA_DIR. Runs in the whatsapp.process task, never inside a transaction.
//
// Where the bytes come from, in order: `message.base64` in the payload (webhook base64: true);
// `mediaUrl` when the payload carries one — fetched with the SDK's guarded client (https only,
// WHATSAPP_MEDIA_ALLOWED_HOSTS, private/loopback/link-local/metadata addresses refused after
// resolving, the addresses pinned, every redirect re-checked, the size capped while streaming);
// else Evolution's POST /chat/getBase64FromMediaMessage. The MIME type is sniffed from the bytes
// (the declared one is ignored); the file gets a generated name (<media id>.<ext>) created with
// O_EXCL|O_NOFOLLOW inside the media root. Every refusal carries one runbook reason code.
//
//   MediaFetcher f(host.http(), evo, MediaPolicy::from(settings));
//   MediaOutcome o = f.fetch({.key_id = m.key_id, .ref = *m.media, .inline_base64 = b64,
//                             .media_id = jarvis::new_id("wmd")});
//   if (!o.stored()) degraded(o.reason);   // media_host_denied, media_size_exceeded, …
#pragma once

#include <string>
#include <vector>

#include "evolution.h"
#include "inbound.h"
#include "jarvis/jarvis.h"
#include "settings.h"

namespace whatsapp {

/// The rules one fetch follows.
struct MediaPolicy {
  std::string dir;
  long long max_bytes = 16 << 20;
  std::vector<std::string> mime_prefixes;
  std::vector<std::string> hosts;             ///< empty: no URL is fetched
  std::vector<std::string> schemes{"https"};  ///< tests of the guard over loopback use http
  long timeout_ms = 60000;
  int max_redirects = 3;

  static MediaPolicy from(const Settings& s);
};

/// What to fetch.
struct MediaRequest {
  std::string key_id;         ///< for Evolution's base64 endpoint
  MediaRef ref;               ///< from the payload
  std::string inline_base64;  ///< message.base64 ("" when absent)
  std::string media_id;       ///< names the file
  jarvis::CancelToken cancel;
};

/// Result of one fetch.
struct MediaOutcome {
  std::string reason;  ///< "" when stored, else a runbook reason code
  std::string detail;  ///< short explanation (no secrets)
  std::string path;    ///< absolute path of the stored file
  std::string mime;    ///< sniffed
  std::string sha256;
  long long size = 0;
  std::string source;  ///< inline | url | evolution
  /// True for a refusal worth another attempt: Evolution answered 429 or 5xx, or not at all.
  bool retryable = false;

  bool stored() const { return reason.empty(); }
};

/// Fetches and stores media items (thread-safe).
class MediaFetcher {
 public:
  MediaFetcher(jarvis::HttpClient& http, EvolutionClient& evo, MediaPolicy policy)
      : http_(http), evo_(evo), p_(std::move(policy)) {}

  MediaOutcome fetch(const MediaRequest& r) const;

 private:
  MediaOutcome from_url(const MediaRequest& r, const std::string& root) const;
  MediaOutcome from_bytes(const std::string& bytes, const MediaRequest& r,
                          const std::string& root) const;
  MediaOutcome finish(const std::string& part, const MediaRequest& r, const std::string& root,
                      MediaOutcome o) const;

  jarvis::HttpClient& http_;
  EvolutionClient& evo_;
  MediaPolicy p_;
};

}  // namespace whatsapp
