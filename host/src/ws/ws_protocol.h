// host/src/ws/ws_protocol.h — the Beast-free parts of `/ws`: credentials and Origin checks on the
// upgrade request, parsing client messages and building server messages. Unit-testable without
// sockets; the engine (ws_hub.cpp) calls these.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jarvis/events.h"
#include "jarvis/http.h"
#include "jarvis/json.h"

namespace jarvis::host::ws {

/// The session token of an upgrade request: `Authorization: Bearer <t>` first, else the
/// `jarvis_session` cookie; nullopt when neither is present (or empty).
std::optional<std::string> request_token(const jarvis::Request& req);

/// True when the request carries credentials in its query string (`token` or `access_token`,
/// any case), or a query string that could not be parsed: such handshakes are refused (close
/// 1008) without looking at the value — query strings end up in proxy and access logs.
bool has_query_token(const jarvis::Request& req);

/// Origin policy (the hub's, see auth/origin_policy.h): an absent Origin passes when
/// `allow_missing`; otherwise exactly one Origin equal (scheme, host, port; default ports and case
/// ignored) to one of `allowed`. The Host header is never trusted; "null" and several Origin
/// headers never pass.
bool origin_allowed(const jarvis::Request& req, const std::vector<std::string>& allowed,
                    bool allow_missing);

/// A parsed client message.
struct ClientAction {
  enum class Kind { Subscribe, Unsubscribe, SubscribeSystem, UnsubscribeSystem, Unknown, Invalid };
  Kind kind = Kind::Invalid;
  std::string thread_id;  ///< for Subscribe / Unsubscribe
  std::string detail;     ///< why the message is Invalid
};

/// Parses one text frame. Malformed JSON, a non-object, or a (un)subscribe without a non-empty
/// string `thread_id` (≤ 200 bytes) give Invalid with a detail; an unrecognised or missing
/// `action` gives Unknown. Never throws.
ClientAction parse_client_message(std::string_view text);

/// `{"type":"auth.ok","user_id","role"}`.
std::string auth_ok_message(const jarvis::Principal& principal);
/// `{"type":type}` plus `thread_id` when not empty.
std::string simple_message(const std::string& type, const std::string& thread_id = "");
/// `{"type":"error","detail":detail}` plus `thread_id` when not empty.
std::string error_message(const std::string& detail, const std::string& thread_id = "");
/// The push envelope `{type, thread_id (null for system events), created_at, id, component,
/// payload}` with the payload redacted.
jarvis::Json event_envelope(const jarvis::Event& event);
/// event_envelope() serialised (invalid UTF-8 replaced, never throws on content).
std::string event_message(const jarvis::Event& event);
/// A transient push: `{"type":"live","thread_id","component","payload"}` (not stored, not
/// redacted: see jarvis::ThreadRegistry::publish), serialised.
std::string live_message(const std::string& thread_id, const std::string& component,
                         const jarvis::Json& payload);

}  // namespace jarvis::host::ws
