// host/src/ops/dependency_probe.cpp — doctor's dependency list, one-GET probes and the outage
// classification (decision 0060).
#include "ops/dependency_probe.h"

#include <curl/curl.h>

#include <cerrno>

namespace jarvis::host::ops {
namespace dependency_probe_impl {

size_t discard_body(char*, size_t size, size_t n, void* seen) {
  auto* total = static_cast<size_t*>(seen);
  *total += size * n;
  return *total > (256u << 10) ? 0 : size * n;  // a probe needs the status, not the body
}

bool loopback_host(const std::string& host) {
  return host.rfind("127.", 0) == 0 || host == "localhost" || host == "[::1]" || host == "::1";
}

/// A CURLU handle freed on scope exit.
struct ParsedUrl {
  CURLU* h = curl_url();
  ~ParsedUrl() { curl_url_cleanup(h); }
  ParsedUrl() = default;
  ParsedUrl(const ParsedUrl&) = delete;
  ParsedUrl& operator=(const ParsedUrl&) = delete;
  /// One part, "" when absent.
  std::string part(CURLUPart what) const {
    char* v = nullptr;
    if (curl_url_get(h, what, &v, 0) != CURLUE_OK || !v) return "";
    std::string out(v);
    curl_free(v);
    return out;
  }
};

std::string trim_slash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace dependency_probe_impl

using namespace dependency_probe_impl;

std::string_view to_string(OutageClass c) {
  switch (c) {
    case OutageClass::None:
      return "";
    case OutageClass::DnsResolution:
      return "dns_resolution";
    case OutageClass::Timeout:
      return "timeout";
    case OutageClass::NetworkUnreachable:
      return "network_unreachable";
    case OutageClass::ProviderUnavailable:
      return "provider_unavailable";
    case OutageClass::TlsCertificate:
      return "tls_certificate";
    case OutageClass::TlsHandshake:
      return "tls_handshake";
    case OutageClass::ConfigInvalid:
      return "config_invalid";
  }
  return "";
}

OutageClass classify_outage(int curl_code, long os_errno, long http_status) {
  switch (curl_code) {
    case CURLE_OK:
      return (http_status >= 500 || http_status == 429) ? OutageClass::ProviderUnavailable
                                                        : OutageClass::None;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return OutageClass::DnsResolution;
    case CURLE_OPERATION_TIMEDOUT:
      return OutageClass::Timeout;
    case CURLE_COULDNT_CONNECT:
      // Nothing accepted a TCP connection: refused (no listener), no route, host or network down.
      // A connect that ran out of time is a timeout, whatever curl's code.
      return os_errno == ETIMEDOUT ? OutageClass::Timeout : OutageClass::NetworkUnreachable;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return OutageClass::ConfigInvalid;
    case CURLE_PEER_FAILED_VERIFICATION:  // also CURLE_SSL_CACERT: self-signed, unknown CA, name
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
      return OutageClass::TlsCertificate;
    case CURLE_SSL_CONNECT_ERROR:
      // A TCP peer that does not complete a TLS handshake: plain HTTP at an https:// URL, no
      // common protocol or cipher. A handshake that runs out of time is CURLE_OPERATION_TIMEDOUT.
      return OutageClass::TlsHandshake;
    default:
      // Reached a peer that did not answer sound HTTP: empty reply, reset.
      return OutageClass::ProviderUnavailable;
  }
}

ProbeTarget probe_target(const std::string& base_url, const std::string& probe_path) {
  ProbeTarget t;
  t.display = redact_probe_url(base_url) + probe_path;
  if (base_url.find("://") == std::string::npos) {
    t.error = "the URL has no scheme (http:// or https://)";
    return t;
  }
  ParsedUrl u;
  if (!u.h || curl_url_set(u.h, CURLUPART_URL, base_url.c_str(), 0) != CURLUE_OK) {
    t.error = "the URL cannot be parsed";
    return t;
  }
  // Credentials, query and fragment never leave the process: doctor's GET is unauthenticated.
  curl_url_set(u.h, CURLUPART_USER, nullptr, 0);
  curl_url_set(u.h, CURLUPART_PASSWORD, nullptr, 0);
  curl_url_set(u.h, CURLUPART_OPTIONS, nullptr, 0);
  curl_url_set(u.h, CURLUPART_QUERY, nullptr, 0);
  curl_url_set(u.h, CURLUPART_FRAGMENT, nullptr, 0);
  if (!probe_path.empty()) {
    std::string path = u.part(CURLUPART_PATH);
    while (!path.empty() && path.back() == '/') path.pop_back();
    path += probe_path;
    if (curl_url_set(u.h, CURLUPART_PATH, path.c_str(), 0) != CURLUE_OK) {
      t.error = "the URL's path cannot be used";
      return t;
    }
  }
  t.url = u.part(CURLUPART_URL);
  t.loopback = loopback_host(u.part(CURLUPART_HOST));
  t.ok = !t.url.empty();
  if (!t.ok) t.error = "the URL cannot be parsed";
  return t;
}

ProbeResult probe_http(const std::string& url, long timeout_ms) {
  ProbeResult r;
  const ProbeTarget target = probe_target(url, "");
  const std::string& clean = target.url;
  if (!target.ok) {
    r.outage = OutageClass::ConfigInvalid;
    r.detail = target.error;
    return r;
  }
  CURL* curl = curl_easy_init();
  if (!curl) {
    r.outage = OutageClass::ProviderUnavailable;
    r.detail = "curl_easy_init failed";
    return r;
  }
  size_t seen = 0;
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, clean.c_str());
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_NETRC, static_cast<long>(CURL_NETRC_IGNORED));
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "jarvis-doctor");
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &seen);
  if (target.loopback) curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_WRITE_ERROR && seen > 0) rc = CURLE_OK;  // body cut short on purpose
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.http_status);
  curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &r.os_errno);
  curl_easy_cleanup(curl);
  r.outage = classify_outage(rc, r.os_errno, r.http_status);
  r.ok = r.outage == OutageClass::None;
  if (rc != CURLE_OK) {
    r.detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    // curl's message may repeat the URL or the host; it only ever saw the cleaned URL.
    if (url != clean) {
      for (std::size_t at; (at = r.detail.find(url)) != std::string::npos;) {
        r.detail.replace(at, url.size(), clean);
      }
    }
  } else {
    r.detail = "HTTP " + std::to_string(r.http_status);
  }
  return r;
}

std::string redact_probe_url(const std::string& url) {
  // Parsed, not searched: a scheme-less "user:pw@host", a '?' or '@' inside the password and an
  // IPv6 host all come apart correctly. Only scheme, host, port and path are ever printed.
  ParsedUrl u;
  const bool has_scheme = url.find("://") != std::string::npos;
  if (!u.h ||
      curl_url_set(u.h, CURLUPART_URL, url.c_str(),
                   CURLU_NON_SUPPORT_SCHEME | (has_scheme ? 0 : CURLU_GUESS_SCHEME)) != CURLUE_OK) {
    return "<unparseable URL>";
  }
  std::string out;
  if (has_scheme) out = u.part(CURLUPART_SCHEME) + "://";
  out += u.part(CURLUPART_HOST);
  const std::string port = u.part(CURLUPART_PORT);
  if (!port.empty()) out += ":" + port;
  std::string path = u.part(CURLUPART_PATH);
  if (path == "/" &&
      url.find('/', url.find("://") == std::string::npos ? 0 : url.find("://") + 3) ==
          std::string::npos) {
    path.clear();
  }
  return out + path;
}

std::vector<Dependency> configured_dependencies(const ConfigStore& store) {
  std::vector<Dependency> out;
  auto set = [&](const char* key) {
    auto v = store.get(key);
    return v && !v->value.empty();
  };
  auto value = [&](const char* key, const char* fallback) {
    return trim_slash(store.get_or(key, fallback).empty() ? fallback : store.get_or(key, fallback));
  };
  // chat's providers (plugins/chat/plugin.yaml)
  if (set("OPENAI_MODEL") || set("OPENAI_BASE_URL") || set("OPENAI_API_KEY")) {
    out.push_back({"openai", "chat", "OPENAI_BASE_URL",
                   value("OPENAI_BASE_URL", "https://api.openai.com/v1"), "/models"});
  }
  if (set("SGLANG_BASE_URL")) {
    out.push_back({"sglang", "chat", "SGLANG_BASE_URL", value("SGLANG_BASE_URL", ""), "/models"});
  }
  if (set("GEMINI_API_KEY") || set("GEMINI_BASE_URL")) {
    out.push_back({"gemini", "chat", "GEMINI_BASE_URL",
                   value("GEMINI_BASE_URL", "https://generativelanguage.googleapis.com"),
                   "/v1beta/models"});
  }
  if (set("ANTHROPIC_API_KEY") || set("ANTHROPIC_BASE_URL")) {
    out.push_back({"anthropic", "chat", "ANTHROPIC_BASE_URL",
                   value("ANTHROPIC_BASE_URL", "https://api.anthropic.com"), "/v1/models"});
  }
  // github (plugins/github/plugin.yaml)
  if (set("GITHUB_TOKEN") || set("GITHUB_API_BASE_URL")) {
    out.push_back({"github", "github", "GITHUB_API_BASE_URL",
                   value("GITHUB_API_BASE_URL", "https://api.github.com"), "/"});
  }
  // whatsapp: the Evolution API and the faster_whisper transcription server
  if (set("EVOLUTION_API_URL")) {
    out.push_back(
        {"evolution_api", "whatsapp", "EVOLUTION_API_URL", value("EVOLUTION_API_URL", ""), "/"});
  }
  if (set("WHATSAPP_VOICE_URL") &&
      store.get_or("WHATSAPP_VOICE_TRANSCRIBE_BACKEND", "pocketsphinx") == "faster_whisper") {
    out.push_back({"transcription", "whatsapp", "WHATSAPP_VOICE_URL",
                   value("WHATSAPP_VOICE_URL", ""), "/v1/models"});
  }
  // memory's remote embedding provider
  const std::string embed = store.get_or("MEMORY_EMBED_PROVIDER", "local");
  if (embed == "openai") {
    out.push_back({"embeddings", "memory", "MEMORY_EMBED_BASE_URL",
                   value("MEMORY_EMBED_BASE_URL", "https://api.openai.com/v1"), "/models"});
  } else if (embed == "ollama") {
    out.push_back({"embeddings", "memory", "OLLAMA_BASE_URL",
                   value("OLLAMA_BASE_URL", "http://127.0.0.1:11434"), "/api/tags"});
  }
  return out;
}

}  // namespace jarvis::host::ops
