// host/src/ws/ws_hub.h — the WebSocket endpoint `/ws`: authentication, the subscription protocol
// and the fan-out of stored events to subscribed connections. Beast-free: the engine lives in
// ws_hub.cpp (the only Beast translation unit of this folder).
//
// Protocol (docs/decisions/0008-lockdown-and-restart.md, original §2.9):
//   server → client on accept   {"type":"auth.ok","user_id","role"}
//   {"action":"subscribe","thread_id":T}    → {"type":"subscribed","thread_id":T}
//                                            | {"type":"error","detail":"forbidden","thread_id":T}
//   {"action":"unsubscribe","thread_id":T}  → {"type":"unsubscribed","thread_id":T}
//   {"action":"subscribe_system"}           → {"type":"subscribed.system"} (admins)
//                                            | {"type":"error","detail":"forbidden"}
//   {"action":"unsubscribe_system"}         → {"type":"unsubscribed.system"}
//   anything else                            → {"type":"error","detail":"unknown action"}
//   pushes: {"type","thread_id","created_at","id","component","payload"} (payload redacted)
//   live pushes (not stored): {"type":"live","thread_id","component","payload"}
//
//   WsHub hub(options, authenticate, may_access_thread, &metrics);
//   server.set_upgrade_handler("/ws", hub.upgrade_handler());
//   events.set_forwarder([&hub](const jarvis::Event& e) { hub.publish(e); });
//   … on shutdown: hub.close_all(std::chrono::seconds(2)); then server.shutdown(…).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "http/server.h"
#include "jarvis/events.h"
#include "jarvis/principal.h"

namespace jarvis::host {

class ConfigStore;
class MetricsRegistry;

/// Resolves a bearer/session token to a principal; nullopt when invalid or expired. Called on a
/// server thread during the handshake; may throw (the connection is then closed with 1011).
using WsAuthenticator = std::function<std::optional<jarvis::Principal>(const std::string& token)>;
/// True when `principal` may subscribe to thread `thread_id` (it exists and is theirs, or the
/// principal is an admin). Called on a server thread; may throw (answered as an error message).
using WsThreadAccess =
    std::function<bool(const jarvis::Principal& principal, const std::string& thread_id)>;
/// Re-validates the tokens of all open connections at once (e.g. AuthService::validate_tokens:
/// one query, no cache). Element i answers tokens[i]; nullopt = revoked, expired or the user is
/// disabled. Called on the hub's re-validation thread; a throw keeps every connection open.
using WsBatchValidator = std::function<std::vector<std::optional<jarvis::Principal>>(
    const std::vector<std::string>& tokens)>;

/// Limits and timeouts of the endpoint.
struct WsOptions {
  /// Browser origins allowed to open a socket: the server's public origins (WEB_PUBLIC_ORIGIN or
  /// derived from BIND_HOST/BIND_PORT) and WEB_CORS_ORIGINS, e.g. "https://app.example". Compared
  /// by scheme, host and port; the handshake's Host header is never trusted. Several Origin
  /// headers are refused (403).
  std::vector<std::string> allowed_origins;
  /// Accept handshakes without an Origin header (non-browser clients; browsers always send one).
  /// Never for cookie-authenticated handshakes: those need an allowed Origin (cross-site
  /// WebSocket hijacking), else 403 `origin_required`.
  bool allow_missing_origin = true;
  /// WS_MAX_CONNECTIONS_PER_USER (default 16, 0 = unlimited): open sockets (and handshakes in
  /// progress) per user; over it the upgrade is refused with HTTP 429 `too_many_connections`
  /// before any WebSocket is opened.
  std::size_t max_connections_per_user = 16;
  /// WS_REVALIDATE_SECONDS (default 2): how often every open socket's token is checked again
  /// (revoked or expired token, disabled user → close 1008; an admin demoted → close 1008).
  std::chrono::milliseconds revalidate_interval{2000};
  /// Outbound queue bound per connection: exceeding either limit closes the connection with
  /// 1008 "slow consumer" instead of buffering without end or slowing other clients.
  std::size_t max_queue_messages = 256;
  std::size_t max_queue_bytes = 4u << 20;
  /// Largest client message accepted (bigger ones close the connection with 1009).
  std::size_t max_inbound_message_bytes = 64u << 10;
  /// Thread subscriptions per connection (more are answered with an error).
  std::size_t max_subscriptions = 1000;
  /// Opening/closing handshake limit.
  std::chrono::milliseconds handshake_timeout{30000};
  /// A ping is sent after half of this without incoming data; a peer silent for the whole period
  /// (no pong) is disconnected.
  std::chrono::milliseconds idle_timeout{60000};
  /// How long a closing connection may take to flush its close frame before the socket is cut.
  std::chrono::milliseconds close_grace{5000};

  /// Reads WEB_PUBLIC_ORIGIN (or BIND_HOST/BIND_PORT), WEB_CORS_ORIGINS (comma-separated),
  /// WS_MAX_QUEUE_MESSAGES, WS_MAX_QUEUE_BYTES, WS_IDLE_TIMEOUT_SECONDS,
  /// WS_MAX_CONNECTIONS_PER_USER and WS_REVALIDATE_SECONDS; throws std::runtime_error naming the
  /// key on an invalid value.
  static WsOptions from(const ConfigStore& store);
};

/// Counters of the endpoint (also exported as jarvis_ws_* metrics when a registry is given).
struct WsStats {
  std::size_t connections = 0;            ///< authenticated, open connections
  std::uint64_t accepted_total = 0;       ///< connections that received auth.ok
  std::uint64_t refused_total = 0;        ///< origin, query token or authentication refusals
  std::uint64_t messages_sent_total = 0;  ///< frames fully written
  std::uint64_t slow_consumer_closes_total = 0;
  std::uint64_t revoked_closes_total = 0;  ///< closed because the token or role changed
  std::uint64_t over_user_cap_total = 0;   ///< upgrades refused by WS_MAX_CONNECTIONS_PER_USER
};

/// The `/ws` hub: owns every WebSocket connection and routes events to subscribers.
/// Thread-safe. Connections keep the hub's internal state alive, so destroying the hub before
/// the HTTP server's io_context is safe (close_all() first for a clean close frame).
class WsHub {
 public:
  /// `authenticate` and `may_access_thread` are required; `metrics` may be null. `validate`
  /// re-checks every open socket's token each revalidate_interval; without it `authenticate` is
  /// called per socket (which may answer from a token cache).
  WsHub(WsOptions options, WsAuthenticator authenticate, WsThreadAccess may_access_thread,
        MetricsRegistry* metrics = nullptr, WsBatchValidator validate = nullptr);
  /// Calls close_all(0) and stops the re-validation thread.
  ~WsHub();
  WsHub(const WsHub&) = delete;
  WsHub& operator=(const WsHub&) = delete;

  /// The handler to register with HttpServer::set_upgrade_handler("/ws", …).
  UpgradeHandler upgrade_handler();

  /// Queues `event` for every connection subscribed to its thread (events with a thread_id) or
  /// to the system channel (events without one). Never blocks on a connection: each delivery is
  /// posted to that connection's strand. The payload is redacted again before sending.
  void publish(const jarvis::Event& event);

  /// Queues a transient push (ws::live_message) for every connection subscribed to `thread_id`
  /// — the same audience as the thread's stored events. Never blocks on a connection.
  void publish_live(const std::string& thread_id, const std::string& component,
                    const jarvis::Json& payload);

  /// Re-validates every open socket now instead of at the next interval (call after a revocation,
  /// a disable or a role change made in this process). Never blocks.
  void revalidate_now();

  /// Authenticated connections currently open.
  std::size_t connection_count() const;
  /// Counters for tests and status pages.
  WsStats stats() const;

  /// Sends 1001 "server shutting down" to every connection and waits up to `grace` for them to
  /// close; new upgrades are refused with 503 from then on. Idempotent. Do not call from a server
  /// thread.
  void close_all(std::chrono::milliseconds grace = std::chrono::milliseconds(0));

  struct Core;

 private:
  std::shared_ptr<Core> core_;
  std::thread revalidator_;
};

}  // namespace jarvis::host
