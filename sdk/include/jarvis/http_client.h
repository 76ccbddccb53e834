// jarvis/http_client.h — outbound HTTP (libcurl in the host) with timeouts, size caps, an SSRF
// guard for user-supplied URLs, and deterministic outage classes.
//
//   OutboundRequest r{.method = "GET", .url = provider_url + "/models"};
//   OutboundResponse res = host.http().send(r);
//   if (!res.ok()) log->warn("provider down: {} ({})", res.error_class, res.error_message);
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "jarvis/http.h"
#include "jarvis/version.h"

namespace jarvis {

/// Restrictions for fetching URLs that came from users or the network (not from operator config).
struct UrlGuard {
  bool enabled = false;
  std::vector<std::string> allowed_schemes{"https"};
  /// If non-empty, the host (exact or a subdomain of an entry) must be listed.
  std::vector<std::string> allowed_hosts;
  /// Private, loopback, link-local and other non-public addresses are refused unless true.
  bool allow_private_addresses = false;
};

/// An outbound request.
struct OutboundRequest {
  std::string method = "GET";
  std::string url;
  Headers headers;
  std::string body;
  long connect_timeout_ms = 5000;
  long timeout_ms = 30000;                    ///< whole transfer
  std::size_t max_response_bytes = 10 << 20;  ///< larger bodies fail with "too_large"
  int max_redirects = 0;                      ///< each hop is re-checked by the guard
  UrlGuard guard;
  /// If set, the body is streamed to this file instead of memory (still size-capped).
  std::string output_file;
};

/// Result of an outbound request. Transport failures never throw; they set `error_class`.
struct OutboundResponse {
  int status = 0;  ///< 0 when no HTTP response was received
  Headers headers;
  std::string body;
  /// "" on success, else one of: dns_resolution, timeout, network_unreachable,
  /// provider_unavailable, too_large, blocked_url, invalid_url.
  std::string error_class;
  std::string error_message;
  std::string final_url;

  bool ok() const { return error_class.empty() && status >= 200 && status < 300; }
};

/// Outbound HTTP client. Thread-safe.
class JARVIS_API HttpClient {
 public:
  virtual ~HttpClient();
  virtual OutboundResponse send(const OutboundRequest& request) = 0;
};

}  // namespace jarvis
