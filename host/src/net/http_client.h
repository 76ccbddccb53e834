// net/http_client.h — the host's outbound HTTP client (libcurl) behind jarvis::HttpClient:
// timeouts, response size caps, streaming to a file, an SSRF guard for user-supplied URLs, and
// deterministic outage classes. Decisions: docs/decisions/0004-outbound-http-and-ssrf.md.
//
//   CurlHttpClient client;
//   OutboundRequest req{.url = "https://example.com/media/1", .max_redirects = 3,
//                       .guard = {.enabled = true, .allowed_hosts = {"example.com"}},
//                       .output_file = "/var/jarvis/media/1.ogg"};
//   OutboundResponse res = client.send(req);   // never throws for network outcomes
//   if (!res.ok()) log->warn("fetch failed: {} ({})", res.error_class, res.error_message);
//
// Error classes (OutboundResponse::error_class):
//   dns_resolution        the host name did not resolve (or the resolver timed out)
//   timeout               connect or whole-transfer timeout
//   network_unreachable   ENETUNREACH / EHOSTUNREACH on connect
//   provider_unavailable  refused connection, TLS/protocol failure, or HTTP 502/503/504
//                         (`status` stays set for the HTTP case)
//   too_large             body above max_response_bytes (announced or actually received)
//   blocked_url           refused by the guard; the message names the reason
//   invalid_url           unparseable URL or a scheme other than http/https
//   cancelled             the request's cancel token fired, or on_chunk returned false
// Programming errors in the request (bad method or header bytes, bad multipart names, several
// body sources) throw std::invalid_argument; local file errors with `output_file`, `body_file`
// or a multipart file part throw std::system_error; an exception from `on_chunk` is rethrown.
// Decisions for streaming, cancellation and uploads:
// docs/decisions/0016-outbound-cancellation-streaming-subprocess-env.md.
#pragma once

#include <string>
#include <vector>

#include "jarvis/http_client.h"

namespace jarvis::host {

/// Construction options of CurlHttpClient.
struct HttpClientOptions {
  /// User-Agent sent when the request sets none.
  std::string user_agent = "jarvis";
  /// Numeric addresses the guard treats as public even though they are in a refused range.
  /// For tests and for operators who deliberately let plugins reach one internal service;
  /// empty by default.
  std::vector<std::string> guard_address_exemptions;
};

/// libcurl-backed jarvis::HttpClient. Thread-safe: every send() uses its own easy handle.
class CurlHttpClient : public jarvis::HttpClient {
 public:
  /// Initialises libcurl once per process (thread-safe).
  explicit CurlHttpClient(HttpClientOptions options = {});
  ~CurlHttpClient() override;

  /// Performs the request, following redirects manually (each hop re-checked by the guard).
  OutboundResponse send(const OutboundRequest& request) override;

 private:
  HttpClientOptions options_;
};

/// Outage class of a libcurl transfer error (`curl_code` is a CURLcode, `os_errno` the value of
/// CURLINFO_OS_ERRNO); "" for CURLE_OK. Exposed for tests and for callers that use libcurl.
std::string outage_class_for_curl_error(int curl_code, long os_errno);

/// `url` without userinfo, query and fragment — the only form of a URL that may be logged.
std::string url_for_log(const std::string& url);

}  // namespace jarvis::host
