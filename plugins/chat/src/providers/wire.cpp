// What the three wire formats share (see wire.h): tool names, Retry-After, error classification
// and sanitising, non-throwing JSON access, and the streamed request driver.
#include "providers/wire.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <exception>
#include <utility>

#include "jarvis/crypto.h"
#include "jarvis/error.h"
#include "jarvis/strings.h"

namespace chat::wire {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

bool tool_char_ok(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

constexpr std::size_t kMaxToolName = 64;

}  // namespace

// --- Tool names ---------------------------------------------------------------------------------

std::string sanitize_tool_name(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) out += tool_char_ok(c) ? c : '_';
  if (out.empty()) return "tool";
  if (!((out[0] >= 'a' && out[0] <= 'z') || (out[0] >= 'A' && out[0] <= 'Z') || out[0] == '_')) {
    out = "t_" + out;
  }
  if (out.size() > kMaxToolName) out.resize(kMaxToolName);
  return out;
}

ToolNames::ToolNames(const std::vector<ToolDef>& tools, const std::vector<Message>& messages) {
  for (const auto& t : tools) add(t.name);
  for (const auto& m : messages) {
    for (const auto& c : m.tool_calls) add(c.name);
    if (!m.tool_name.empty()) add(m.tool_name);
  }
}

void ToolNames::add(const std::string& name) {
  if (to_wire_.count(name)) return;
  std::string wire = sanitize_tool_name(name);
  for (int n = 2; from_wire_.count(wire); ++n) {
    std::string suffix = "_" + std::to_string(n);
    std::string base = sanitize_tool_name(name);
    if (base.size() + suffix.size() > kMaxToolName) base.resize(kMaxToolName - suffix.size());
    wire = base + suffix;
  }
  to_wire_[name] = wire;
  from_wire_[wire] = name;
}

std::string ToolNames::to_wire(const std::string& name) const {
  auto it = to_wire_.find(name);
  return it == to_wire_.end() ? sanitize_tool_name(name) : it->second;
}

std::string ToolNames::from_wire(const std::string& name) const {
  auto it = from_wire_.find(name);
  return it == from_wire_.end() ? name : it->second;
}

// --- Errors -------------------------------------------------------------------------------------

std::optional<milliseconds> parse_retry_after(std::string_view value,
                                              std::chrono::system_clock::time_point now) {
  constexpr milliseconds kCap = std::chrono::hours(24);
  std::string v = jarvis::trimmed(value);
  if (v.empty()) return std::nullopt;
  if (std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (v.size() > 9) return kCap;
    return std::min<milliseconds>(kCap, std::chrono::seconds(std::stoll(v)));
  }
  // HTTP-date: IMF-fixdate, then the obsolete RFC 850 and asctime forms (RFC 9110 §5.6.7).
  static const char* const kFormats[] = {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT",
                                         "%a %b %e %H:%M:%S %Y"};
  for (const char* fmt : kFormats) {
    std::tm tm{};
    const char* end = ::strptime(v.c_str(), fmt, &tm);
    if (end == nullptr || *end != '\0') continue;
    std::time_t t = ::timegm(&tm);
    if (t == static_cast<std::time_t>(-1)) continue;
    auto at = std::chrono::system_clock::from_time_t(t);
    if (at <= now) return milliseconds(0);
    return std::min<milliseconds>(kCap, std::chrono::duration_cast<milliseconds>(at - now));
  }
  return std::nullopt;
}

std::string sanitize_provider_text(std::string_view text, const std::string& secret,
                                   std::size_t max_chars) {
  std::string s(text.substr(0, std::min<std::size_t>(text.size(), 4096)));
  if (secret.size() >= 6) {  // a shorter "key" would blank out ordinary words
    for (std::size_t at; (at = s.find(secret)) != std::string::npos;) {
      s.replace(at, secret.size(), "[REDACTED]");
    }
  }
  // Words that look like keys: a known key prefix, or a long run of key characters with digits.
  std::string out;
  std::size_t i = 0;
  auto key_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  };
  while (i < s.size()) {
    if (!key_char(s[i])) {
      char c = s[i++];
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
      if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
      out += c;
      continue;
    }
    std::size_t j = i;
    while (j < s.size() && key_char(s[j])) ++j;
    std::string_view word(s.data() + i, j - i);
    bool digits =
        std::any_of(word.begin(), word.end(), [](char c) { return c >= '0' && c <= '9'; });
    bool prefixed =
        (word.rfind("sk-", 0) == 0 || word.rfind("AIza", 0) == 0 || word.rfind("sk_", 0) == 0) &&
        word.size() >= 12;
    if (prefixed || (word.size() >= 32 && digits)) {
      out += "[REDACTED]";
    } else {
      out += word;
    }
    i = j;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (out.size() > max_chars) {
    std::size_t cut = max_chars;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;  // UTF-8
    out = out.substr(0, cut) + "…";
  }
  return out;
}

std::string error_body_message(std::string_view body, const std::string& secret) {
  auto j = jarvis::try_parse_json(body);
  if (!j) return "";
  const jarvis::Json* root = &*j;
  if (root->is_array() && !root->empty()) root = &(*root)[0];
  if (const auto* e = obj(*root, "error")) {
    std::string m = str(*e, "message");
    if (!m.empty()) return sanitize_provider_text(m, secret);
  }
  std::string m = str(*root, "message");
  return m.empty() ? "" : sanitize_provider_text(m, secret);
}

std::optional<milliseconds> retry_delay_from_body(std::string_view body) {
  auto j = jarvis::try_parse_json(body);
  if (!j) return std::nullopt;
  const jarvis::Json* root = &*j;
  if (root->is_array() && !root->empty()) root = &(*root)[0];
  const auto* e = obj(*root, "error");
  const auto* details = e ? arr(*e, "details") : nullptr;
  if (!details) return std::nullopt;
  for (const auto& d : *details) {
    std::string delay = str(d, "retryDelay");  // "30s" or "1.5s"
    if (delay.size() < 2 || delay.back() != 's') continue;
    delay.pop_back();
    char* end = nullptr;
    double secs = std::strtod(delay.c_str(), &end);
    if (end && *end == '\0' && secs >= 0 && secs < 86400) {
      return milliseconds(static_cast<long long>(secs * 1000));
    }
  }
  return std::nullopt;
}

ProviderError http_status_error(const std::string& provider, int status,
                                const jarvis::Headers& headers, std::string_view body,
                                const std::string& secret) {
  std::string detail = error_body_message(body, secret);
  std::optional<milliseconds> retry_after;
  if (auto h = headers.get("Retry-After")) retry_after = parse_retry_after(*h);
  if (!retry_after) retry_after = retry_delay_from_body(body);
  std::string kind;
  std::string outage = "provider_unavailable";
  bool retryable = false;
  std::string what;
  if (status == 429) {
    kind = "rate_limited";
    retryable = true;
    what = "rate limited or out of quota";
  } else if (status == 401 || status == 403 ||
             (status == 400 && body.find("API_KEY_INVALID") != std::string_view::npos)) {
    // Gemini answers a wrong key with 400 INVALID_ARGUMENT, reason API_KEY_INVALID.
    kind = "auth";
    what = "refused the credentials (check the API key)";
  } else if (status == 408) {
    kind = "timeout";
    outage = "timeout";
    retryable = true;
    what = "timed out";
  } else if (status >= 500) {
    kind = "server_error";
    retryable = true;
    what = status == 529 ? "overloaded" : "server error";
  } else {
    kind = "request_error";
    what = "refused the request";
  }
  std::string msg = provider + ": HTTP " + std::to_string(status) + " " + what;
  if (!detail.empty()) msg += ": " + detail;
  ProviderError e(msg, outage, kind, status, retryable, retry_after);
  e.provider = provider;
  return e;
}

ProviderError transport_error(const std::string& provider, const jarvis::OutboundResponse& res,
                              bool cancelled, bool idle) {
  const std::string& cls = res.error_class;
  ProviderError e = [&]() -> ProviderError {
    if (cancelled || cls == "cancelled") {
      return {provider + ": request cancelled", "", "cancelled", res.status, false};
    }
    if (cls == "timeout") {
      if (idle) {
        return {
            provider + ": the answer stalled (no data within MODEL_STREAM_IDLE_TIMEOUT_SECONDS)",
            "timeout", "stalled", res.status, true};
      }
      return {provider + ": request timed out", "timeout", "timeout", res.status, true};
    }
    if (cls == "dns_resolution") {
      return {provider + ": cannot resolve the provider's host name", "dns_resolution", "network",
              0, true};
    }
    if (cls == "network_unreachable") {
      return {provider + ": network unreachable", "network_unreachable", "network", 0, true};
    }
    if (cls == "too_large") {
      return {provider + ": answer too large", "provider_unavailable", "malformed", res.status,
              false};
    }
    if (cls == "blocked_url" || cls == "invalid_url") {
      return {provider + ": the configured base URL cannot be used (" + cls + ")",
              "provider_unavailable", "request_error", 0, false};
    }
    // provider_unavailable and anything new: refused or dropped connections.
    return {provider + (res.status ? ": connection lost during the answer"
                                   : ": cannot connect to the provider"),
            "provider_unavailable", "network", res.status, true};
  }();
  e.provider = provider;
  return e;
}

ProviderError malformed(const std::string& provider, const std::string& what) {
  ProviderError e(provider + ": unreadable answer (" + what + ")", "provider_unavailable",
                  "malformed", 0, false);
  e.provider = provider;
  return e;
}

// --- JSON without exceptions
// ----------------------------------------------------------------------

std::string str(const jarvis::Json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

const jarvis::Json* obj(const jarvis::Json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it != j.end() && it->is_object() ? &*it : nullptr;
}

const jarvis::Json* arr(const jarvis::Json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it != j.end() && it->is_array() ? &*it : nullptr;
}

long long num(const jarvis::Json& j, const char* key, long long fallback) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return fallback;
  if (it->is_number_float()) return static_cast<long long>(it->get<double>());
  return it->is_number_unsigned() ? static_cast<long long>(it->get<unsigned long long>())
                                  : it->get<long long>();
}

jarvis::Json parse_arguments(std::string_view text) {
  if (jarvis::trim(text).empty()) return jarvis::Json::object();
  auto j = jarvis::try_parse_json(text);
  if (j && j->is_object()) return *j;
  return jarvis::Json{{"_raw", std::string(text)}};
}

// --- Streaming
// ------------------------------------------------------------------------------------

void StreamState::text(std::string_view delta) {
  if (delta.empty()) return;
  result.text += delta;
  partial_ = true;
  if (sink_.on_text) sink_.on_text(delta);
}

void StreamState::reasoning(std::string_view delta) {
  if (delta.empty()) return;
  result.reasoning += delta;
  if (sink_.on_reasoning) sink_.on_reasoning(delta);
}

void StreamState::tool_call(ToolCall call) {
  if (call.id.empty()) call.id = synthetic_call_id();
  result.tool_calls.push_back(std::move(call));
}

void StreamState::finish() {
  if (!sink_.on_tool_call) return;
  for (const auto& c : result.tool_calls) sink_.on_tool_call(c);
}

ModelResult stream_sse(jarvis::HttpClient& http, const ProviderSettings& settings,
                       jarvis::OutboundRequest out, const ModelRequest& request,
                       const std::string& model, StreamState& state, StreamDecoder& decoder) {
  const std::string& name = settings.name;
  out.method = "POST";
  out.headers.set("Content-Type", "application/json");
  out.headers.set("Accept", "text/event-stream");
  out.timeout_ms = static_cast<long>(settings.timeout.count());
  out.idle_timeout_ms = static_cast<long>(settings.idle_timeout.count());
  out.connect_timeout_ms = std::min<long>(10000, out.timeout_ms);
  out.max_response_bytes = 64u << 20;
  out.cancel = request.cancel;

  jarvis::SseParser sse;
  out.on_chunk = [&](std::string_view bytes) {
    std::vector<jarvis::SseEvent> events;
    try {
      events = sse.feed(bytes);
    } catch (const jarvis::Error&) {
      throw malformed(name, "an event exceeds the size limit");
    }
    for (const auto& ev : events) decoder.on_event(ev, state);
    return true;
  };

  const auto started = Clock::now();
  auto mark = [&](ProviderError e) {
    e.provider = name;
    e.model = model;
    e.partial = state.partial();
    return e;
  };
  jarvis::OutboundResponse res;
  try {
    res = http.send(out);
  } catch (ProviderError& e) {
    throw mark(std::move(e));
  }
  const auto elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - started);
  const std::string secret = settings.api_key.reveal();
  if (res.status >= 300 && (res.error_class.empty() || res.error_class == "provider_unavailable")) {
    throw mark(http_status_error(name, res.status, res.headers, res.body, secret));
  }
  if (!res.error_class.empty()) {
    // The host says "timeout" both for the idle limit and for the whole-request deadline.
    bool idle = elapsed + milliseconds(200) < settings.timeout;
    throw mark(transport_error(name, res, request.cancel.cancelled(), idle));
  }
  if (res.status < 200 || res.status >= 300) {
    throw mark(http_status_error(name, res.status, res.headers, res.body, secret));
  }
  if (!decoder.complete()) {
    ProviderError e(name + ": the answer ended before it was complete", "provider_unavailable",
                    "network", res.status, true);
    throw mark(std::move(e));
  }
  decoder.end(state);
  state.finish();
  ModelResult r = std::move(state.result);
  r.provider = name;
  r.model = model;  // the model asked for (health, cooldowns and metrics are keyed by it)
  r.latency_ms = static_cast<long>(elapsed.count());
  return r;
}

SplitPrompt split_system(const std::vector<Message>& messages) {
  SplitPrompt p;
  for (const auto& m : messages) {
    if (m.role == "system") {
      if (!m.content.empty()) p.system += (p.system.empty() ? "" : "\n\n") + m.content;
    } else {
      p.rest.push_back(&m);
    }
  }
  return p;
}

std::string synthetic_call_id() { return "call_" + jarvis::to_hex(jarvis::random_bytes(8)); }

}  // namespace chat::wire
