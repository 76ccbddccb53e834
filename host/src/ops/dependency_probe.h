// host/src/ops/dependency_probe.h — the external dependencies `jarvis doctor` probes (model
// providers, GitHub, the Evolution API, the transcription server, the embedding server) and the
// outage class of a failed probe (decision 0060): dns_resolution, timeout, network_unreachable,
// provider_unavailable, and for TLS tls_certificate (the peer's certificate failed verification)
// and tls_handshake (no TLS session could be negotiated).
//
//   using namespace jarvis::host::ops;
//   for (const Dependency& d : configured_dependencies(store)) {
//     ProbeResult r = probe_http(d.url + d.probe_path, 3000);
//     if (!r.ok) std::cout << d.name << ": " << to_string(r.outage) << " (" << r.detail << ")\n";
//   }
//
// A probe is one unauthenticated GET with a short timeout: any HTTP answer below 500 (401 and 404
// included) proves the provider is reachable and serving; no API key is ever sent, so doctor
// spends no quota and never hands a key to a misconfigured URL. Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace jarvis::host::ops {

/// Why a dependency could not be used. None = it answered.
enum class OutageClass {
  None,
  DnsResolution,        ///< the name does not resolve (curl 5/6)
  Timeout,              ///< no answer within the timeout: connect or response (curl 28, ETIMEDOUT)
  NetworkUnreachable,   ///< no TCP connection: ECONNREFUSED, ENETUNREACH, EHOSTUNREACH, …
  ProviderUnavailable,  ///< reached, but 5xx / 429, or no sound HTTP answer
  TlsCertificate,  ///< TLS: the certificate failed verification (self-signed, unknown CA, name)
  TlsHandshake,    ///< TLS: the handshake failed (not TLS at that port, no common protocol)
  ConfigInvalid,   ///< not an outage: the URL itself is unusable
};

/// "dns_resolution", "timeout", "network_unreachable", "provider_unavailable", "tls_certificate",
/// "tls_handshake", "config_invalid", "" for None.
std::string_view to_string(OutageClass c);

/// Maps a libcurl result, the OS errno curl saw (CURLINFO_OS_ERRNO) and the HTTP status (0 when
/// none) to an outage class. The table is decision 0060.
OutageClass classify_outage(int curl_code, long os_errno, long http_status);

/// Outcome of one probe.
struct ProbeResult {
  bool ok = false;
  OutageClass outage = OutageClass::None;
  long http_status = 0;
  long os_errno = 0;
  std::string detail;  ///< curl's message or "HTTP 503"; never contains a credential
};

/// One unauthenticated GET of `url` bounded by `timeout_ms` (connect and whole request). The URL
/// is parsed first (curl_url): user, password, query and fragment are dropped before curl sees
/// it, so no Authorization header is ever sent; a URL without a scheme or that does not parse is
/// ConfigInvalid without any request. `.netrc` is ignored.
ProbeResult probe_http(const std::string& url, long timeout_ms);

/// The URL doctor probes for a base URL and a probe path: parsed, without user-info, query or
/// fragment, `probe_path` appended to the path (never after a query string).
struct ProbeTarget {
  bool ok = false;
  std::string url;      ///< what is requested (ok only)
  std::string display;  ///< redact_probe_url(base) + probe_path: safe to print, even when !ok
  std::string error;    ///< why it cannot be probed ("the URL has no scheme …")
  bool loopback = false;
};
ProbeTarget probe_target(const std::string& base_url, const std::string& probe_path);

/// A configured external dependency.
struct Dependency {
  std::string name;        ///< "openai", "gemini", "anthropic", "sglang", "github", …
  std::string plugin;      ///< the plugin that uses it
  std::string env;         ///< the variable naming its URL (or that configures it)
  std::string url;         ///< base URL (credentials in it are never printed: see redact)
  std::string probe_path;  ///< appended to url for the probe
};

/// The dependencies this configuration uses, from the plugins' manifest variables (an entry only
/// when configured: e.g. openai when OPENAI_MODEL, OPENAI_BASE_URL or OPENAI_API_KEY is set).
std::vector<Dependency> configured_dependencies(const ConfigStore& store);

/// `url` as scheme://host:port/path only (parsed with curl_url, so also for a scheme-less URL and
/// a password holding '?' or '@'); "<unparseable URL>" when it does not parse — never the input.
std::string redact_probe_url(const std::string& url);

}  // namespace jarvis::host::ops
