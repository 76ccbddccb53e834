// host/src/ws/ws_protocol.cpp — credentials, Origin policy and message formats of `/ws`.
#include "ws/ws_protocol.h"

#include <algorithm>
#include <cctype>

#include "auth/auth_settings.h"
#include "auth/origin_policy.h"
#include "jarvis/strings.h"

namespace jarvis::host::ws {

namespace {

// Serialises without throwing on invalid UTF-8 (replaced by U+FFFD).
std::string dump(const jarvis::Json& j) {
  return j.dump(-1, ' ', false, jarvis::Json::error_handler_t::replace);
}

}  // namespace

std::optional<std::string> request_token(const jarvis::Request& req) {
  if (auto auth = req.headers.get("Authorization")) {
    std::string_view v = jarvis::trim(*auth);
    if (v.size() > 7 && jarvis::ascii_lower(v.substr(0, 7)) == "bearer ") {
      std::string token(jarvis::trim(v.substr(7)));
      if (!token.empty()) return token;
    }
  }
  for (const auto& [name, value] : req.headers.all()) {
    if (jarvis::ascii_lower(name) != "cookie") continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      auto semi = rest.find(';');
      std::string_view pair = jarvis::trim(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
      auto eq = pair.find('=');
      if (eq == std::string_view::npos) continue;
      if (jarvis::trim(pair.substr(0, eq)) != "jarvis_session") continue;
      std::string_view token = jarvis::trim(pair.substr(eq + 1));
      if (token.size() >= 2 && token.front() == '"' && token.back() == '"') {
        token = token.substr(1, token.size() - 2);
      }
      if (!token.empty()) return std::string(token);
    }
  }
  return std::nullopt;
}

bool has_query_token(const jarvis::Request& req) {
  for (const auto& [key, value] : req.query) {
    std::string k = jarvis::ascii_lower(key);
    if (k == "token" || k == "access_token") return true;
  }
  // A query string the server could not parse leaves `query` empty: refuse rather than guess.
  auto q = req.target.find('?');
  if (q != std::string::npos && q + 1 < req.target.size() && req.query.empty()) return true;
  return false;
}

bool origin_allowed(const jarvis::Request& req, const std::vector<std::string>& allowed,
                    bool allow_missing) {
  std::vector<std::string> normalized;
  for (const auto& a : allowed) {
    std::string n = jarvis::host::normalize_origin(a);
    if (!n.empty()) normalized.push_back(n);
  }
  switch (check_origin(req, normalized)) {
    case OriginStatus::Absent:
      return allow_missing;
    case OriginStatus::Allowed:
      return true;
    case OriginStatus::Denied:
    case OriginStatus::Multiple:
      break;
  }
  return false;
}

ClientAction parse_client_message(std::string_view text) {
  ClientAction out;
  if (jarvis::json_text_too_deep(text)) {
    out.detail = "json too deep (max " + std::to_string(jarvis::kMaxJsonDepth) + " levels)";
    return out;
  }
  jarvis::Json msg = jarvis::Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (msg.is_discarded()) {
    out.detail = "invalid json";
    return out;
  }
  if (!msg.is_object()) {
    out.detail = "message must be a JSON object";
    return out;
  }
  auto it = msg.find("action");
  if (it == msg.end() || !it->is_string()) {
    out.kind = ClientAction::Kind::Unknown;
    return out;
  }
  const std::string action = it->get<std::string>();
  if (action == "subscribe" || action == "unsubscribe") {
    auto t = msg.find("thread_id");
    if (t == msg.end() || !t->is_string() || t->get<std::string>().empty()) {
      out.detail = "thread_id required";
      return out;
    }
    std::string thread = t->get<std::string>();
    if (thread.size() > 200) {
      out.detail = "thread_id too long";
      return out;
    }
    out.kind =
        action == "subscribe" ? ClientAction::Kind::Subscribe : ClientAction::Kind::Unsubscribe;
    out.thread_id = std::move(thread);
    return out;
  }
  if (action == "subscribe_system") {
    out.kind = ClientAction::Kind::SubscribeSystem;
  } else if (action == "unsubscribe_system") {
    out.kind = ClientAction::Kind::UnsubscribeSystem;
  } else {
    out.kind = ClientAction::Kind::Unknown;
  }
  return out;
}

std::string auth_ok_message(const jarvis::Principal& principal) {
  return dump(jarvis::Json{{"type", "auth.ok"},
                           {"user_id", principal.user_id},
                           {"role", jarvis::to_string(principal.role)}});
}

std::string simple_message(const std::string& type, const std::string& thread_id) {
  jarvis::Json m{{"type", type}};
  if (!thread_id.empty()) m["thread_id"] = thread_id;
  return dump(m);
}

std::string error_message(const std::string& detail, const std::string& thread_id) {
  jarvis::Json m{{"type", "error"}, {"detail", detail}};
  if (!thread_id.empty()) m["thread_id"] = thread_id;
  return dump(m);
}

jarvis::Json event_envelope(const jarvis::Event& event) {
  jarvis::Json m;
  m["type"] = event.type;
  m["thread_id"] = event.thread_id.empty() ? jarvis::Json(nullptr) : jarvis::Json(event.thread_id);
  m["created_at"] = event.created_at;
  m["id"] = event.id;
  m["component"] = event.component;
  m["payload"] = jarvis::redact(event.payload);
  return m;
}

std::string event_message(const jarvis::Event& event) { return dump(event_envelope(event)); }

std::string live_message(const std::string& thread_id, const std::string& component,
                         const jarvis::Json& payload) {
  return dump(jarvis::Json{
      {"type", "live"}, {"thread_id", thread_id}, {"component", component}, {"payload", payload}});
}

}  // namespace jarvis::host::ws
