// host/src/ws/ws_hub.cpp — the `/ws` engine: Boost.Beast WebSocket sessions on the HTTP server's
// io_context, the subscription index and the non-blocking fan-out. The only Beast translation
// unit of host/src/ws/ (one Beast TU costs ~13 s to compile).
//
// Each session lives on the strand of its connection. Every mutation of a session (its outbound
// queue, its subscriptions, closing) happens on that strand; the hub's index is guarded by one
// mutex and holds weak pointers, so publish() only locks, copies the targets and posts.
#include "ws/ws_hub.h"

#include <utility>  // before Asio/Beast (Boost 1.74 + GCC 12 + C++20)

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket.hpp>
#include <spdlog/spdlog.h>

#include "auth/auth_settings.h"
#include "auth/origin_policy.h"
#include "config/config.h"
#include "http/upgrade.h"
#include "observability/metrics.h"
#include "ws/ws_protocol.h"

namespace jarvis::host {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
namespace net = boost::asio;

class WsSession;

struct WsHub::Core {
  using Members = std::unordered_map<std::uint64_t, std::weak_ptr<WsSession>>;

  Core(WsOptions o, WsAuthenticator a, WsThreadAccess t, MetricsRegistry* m, WsBatchValidator v)
      : options(std::move(o)),
        authenticate(std::move(a)),
        may_access(std::move(t)),
        validate(std::move(v)),
        metrics(m) {
    for (const auto& a : options.allowed_origins) {
      std::string n = normalize_origin(a);
      if (!n.empty()) origins.push_back(n);
    }
  }

  const WsOptions options;
  const WsAuthenticator authenticate;
  const WsThreadAccess may_access;
  const WsBatchValidator validate;
  MetricsRegistry* const metrics;
  std::vector<std::string> origins;  // normalised allowed_origins

  mutable std::mutex mu;
  std::condition_variable cv;
  bool closing_all = false;
  std::uint64_t next_id = 1;
  Members sessions;                                       // authenticated, not yet destroyed
  std::unordered_map<std::string, Members> threads;       // thread id → subscribers
  Members system;                                         // system-channel subscribers
  std::unordered_map<std::uint64_t, std::string> tokens;  // session id → its token
  std::unordered_map<std::string, std::size_t> per_user;  // user id → sockets (and handshakes)

  // Re-validation thread (see WsHub::revalidate_now).
  std::condition_variable revalidate_cv;
  bool revalidate_stop = false;
  bool revalidate_wake = false;

  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> slow{0};
  std::atomic<std::uint64_t> revoked{0};
  std::atomic<std::uint64_t> over_cap{0};

  /// Takes one of the user's WS_MAX_CONNECTIONS_PER_USER slots; false when none is left.
  bool reserve_user(const std::string& user) {
    std::lock_guard lock(mu);
    auto& n = per_user[user];
    if (options.max_connections_per_user > 0 && n >= options.max_connections_per_user) {
      if (n == 0) per_user.erase(user);
      return false;
    }
    ++n;
    return true;
  }
  void release_user(const std::string& user) {
    std::lock_guard lock(mu);
    auto it = per_user.find(user);
    if (it == per_user.end()) return;
    if (--it->second == 0) per_user.erase(it);
  }

  bool closing() const {
    std::lock_guard lock(mu);
    return closing_all;
  }

  /// Registers an authenticated session and its token; 0 when the hub is closing.
  std::uint64_t add(const std::shared_ptr<WsSession>& s, const std::string& token) {
    std::lock_guard lock(mu);
    if (closing_all) return 0;
    std::uint64_t id = next_id++;
    sessions.emplace(id, s);
    tokens.emplace(id, token);
    return id;
  }

  void remove(std::uint64_t id, const std::set<std::string>& subscribed, bool system_sub) {
    {
      std::lock_guard lock(mu);
      sessions.erase(id);
      tokens.erase(id);
      for (const auto& t : subscribed) {
        auto it = threads.find(t);
        if (it == threads.end()) continue;
        it->second.erase(id);
        if (it->second.empty()) threads.erase(it);
      }
      if (system_sub) system.erase(id);
    }
    cv.notify_all();
  }

  void subscribe(std::uint64_t id, const std::string& thread, std::weak_ptr<WsSession> s) {
    std::lock_guard lock(mu);
    threads[thread].emplace(id, std::move(s));
  }

  void unsubscribe(std::uint64_t id, const std::string& thread) {
    std::lock_guard lock(mu);
    auto it = threads.find(thread);
    if (it == threads.end()) return;
    it->second.erase(id);
    if (it->second.empty()) threads.erase(it);
  }

  void set_system(std::uint64_t id, std::weak_ptr<WsSession> s, bool on) {
    std::lock_guard lock(mu);
    if (on) {
      system.emplace(id, std::move(s));
    } else {
      system.erase(id);
    }
  }
};

/// One WebSocket connection. All member functions except the constructor and executor() run on
/// the connection's strand.
class WsSession : public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(std::shared_ptr<WsHub::Core> core, UpgradeConnection& conn)
      : core_(std::move(core)),
        conn_slot_(std::move(conn.slot)),
        ws_(std::move(conn.stream)),
        req_(std::move(conn.request)),
        jreq_(std::move(conn.jarvis_request)),
        close_timer_(ws_.get_executor()) {}

  ~WsSession() {
    if (id_ != 0) core_->remove(id_, threads_, system_);
    if (!slot_user_.empty()) core_->release_user(slot_user_);
  }

  net::any_io_executor executor() { return ws_.get_executor(); }

  /// Checks the Origin, authenticates, takes a per-user slot, then performs the WebSocket
  /// handshake. Refusals before the upgrade are plain HTTP answers.
  void start() {
    const auto& o = core_->options;
    auto token = ws::request_token(jreq_);
    // A browser attaches the session cookie to a cross-site handshake: the cookie needs an
    // Origin of ours. A bearer token cannot be attached cross-site.
    bool cookie = token && !jreq_.headers.has("Authorization");
    OriginStatus origin = check_origin(jreq_, core_->origins);
    if (origin == OriginStatus::Multiple || origin == OriginStatus::Denied) {
      spdlog::info("ws: refused handshake from {} (origin {} not allowed)", jreq_.remote_address,
                   jreq_.headers.get("Origin").value_or(""));
      return refuse_http(http::status::forbidden, "origin_not_allowed",
                         "the Origin of this WebSocket handshake is not allowed");
    }
    if (origin == OriginStatus::Absent && (cookie || !o.allow_missing_origin)) {
      return refuse_http(http::status::forbidden, "origin_required",
                         "a cookie-authenticated WebSocket handshake needs an Origin header");
    }
    if (core_->closing()) {
      return refuse_http(http::status::service_unavailable, "shutting_down",
                         "the server is shutting down");
    }
    // Authenticate before upgrading, so that the per-user cap can answer 429 (the refusals of a
    // missing or invalid token stay close frames after the handshake, as before).
    if (token && !ws::has_query_token(jreq_)) {
      token_ = *token;
      try {
        auto p = core_->authenticate(token_);
        if (p && p->authenticated && !p->user_id.empty()) pre_principal_ = std::move(p);
      } catch (const std::exception& e) {
        spdlog::error("ws: authentication failed with an exception: {}", e.what());
        auth_failed_ = true;
      } catch (...) {
        spdlog::error("ws: authentication failed with a non-standard exception");
        auth_failed_ = true;
      }
      if (pre_principal_) {
        if (!core_->reserve_user(pre_principal_->user_id)) {
          core_->over_cap++;
          spdlog::warn("ws: refused {} (user {}): WS_MAX_CONNECTIONS_PER_USER={} reached",
                       jreq_.remote_address, pre_principal_->user_id, o.max_connections_per_user);
          return refuse_http(http::status::too_many_requests, "too_many_connections",
                             "this user has too many open WebSocket connections (limit " +
                                 std::to_string(o.max_connections_per_user) + ")");
        }
        slot_user_ = pre_principal_->user_id;
      }
    }
    websocket::stream_base::timeout t{};
    t.handshake_timeout = o.handshake_timeout;
    t.idle_timeout = o.idle_timeout;
    t.keep_alive_pings = true;
    ws_.set_option(t);
    ws_.read_message_max(o.max_inbound_message_bytes);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "jarvis"); }));
    ws_.async_accept(req_,
                     [self = shared_from_this()](beast::error_code ec) { self->on_accept(ec); });
  }

  /// Queues one outbound message, or closes a consumer that fell too far behind.
  void deliver(std::shared_ptr<const std::string> msg) {
    if (closing_) return;
    const auto& o = core_->options;
    bool over = pending_count() >= o.max_queue_messages ||
                (pending_count() > 0 && queued_bytes_ + msg->size() > o.max_queue_bytes);
    if (over) {
      core_->slow++;
      if (core_->metrics) {
        core_->metrics->counter_add("jarvis_ws_slow_consumer_closes_total",
                                    "WebSocket connections closed because they fell behind.");
      }
      spdlog::warn("ws: closing slow consumer {} (user {}): {} messages / {} bytes queued",
                   jreq_.remote_address, principal_.user_id, pending_count(), queued_bytes_);
      return begin_close(websocket::close_code::policy_error, "slow consumer");
    }
    queued_bytes_ += msg->size();
    queue_.push_back(std::move(msg));
    if (!current_) do_write();
  }

  /// Starts the closing handshake; the socket is cut after close_grace if it does not finish
  /// (e.g. a peer that stopped reading).
  void begin_close(websocket::close_code code, const std::string& reason) {
    if (closing_) return;
    closing_ = true;
    queue_.clear();
    queued_bytes_ = current_ ? current_->size() : 0;
    close_timer_.expires_after(core_->options.close_grace);
    close_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return;  // cancelled: the close finished
      beast::get_lowest_layer(self->ws_).close();
    });
    ws_.async_close(
        websocket::close_reason(code, reason),
        [self = shared_from_this()](beast::error_code) { self->close_timer_.cancel(); });
  }

 private:
  std::size_t pending_count() const { return queue_.size() + (current_ ? 1 : 0); }

  void refuse_http(http::status status, const std::string& code, const std::string& message) {
    core_->refused++;
    response_ = std::make_unique<http::response<http::string_body>>(status, req_.version());
    response_->set(http::field::server, "jarvis");
    response_->set(http::field::content_type, "application/json");
    response_->set("X-Request-Id", jreq_.request_id);
    response_->keep_alive(false);
    response_->body() =
        jarvis::Json{
            {"error", {{"code", code}, {"message", message}, {"request_id", jreq_.request_id}}}}
            .dump();
    response_->prepare_payload();
    auto& stream = ws_.next_layer();
    stream.expires_after(core_->options.handshake_timeout);
    http::async_write(stream, *response_,
                      [self = shared_from_this()](beast::error_code, std::size_t) {
                        beast::error_code ignored;
                        auto& s = beast::get_lowest_layer(self->ws_);
                        s.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
                        s.close();
                      });
  }

  void refuse_ws(websocket::close_code code, const std::string& reason) {
    core_->refused++;
    spdlog::info("ws: refused {} after handshake: {}", jreq_.remote_address, reason);
    begin_close(code, reason);
  }

  void on_accept(beast::error_code ec) {
    if (ec) {
      spdlog::debug("ws: handshake with {} failed: {}", jreq_.remote_address, ec.message());
      return;
    }
    // Never look at (or log) a token passed in the query string.
    if (ws::has_query_token(jreq_)) {
      return refuse_ws(websocket::close_code::policy_error, "token in query string refused");
    }
    if (token_.empty()) {
      return refuse_ws(websocket::close_code::policy_error, "authentication required");
    }
    if (auth_failed_) {
      return refuse_ws(websocket::close_code::internal_error, "authentication unavailable");
    }
    if (!pre_principal_) return refuse_ws(websocket::close_code::policy_error, "invalid token");
    principal_ = std::move(*pre_principal_);
    pre_principal_.reset();
    id_ = core_->add(shared_from_this(), token_);
    if (id_ == 0) return begin_close(websocket::close_code::going_away, "server shutting down");
    core_->accepted++;
    send(ws::auth_ok_message(principal_));
    do_read();
  }

  void do_read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_read(ec);
    });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      // closed by the peer, idle timeout (no pong), message too big (Beast answered 1009), or
      // the socket was cut: nothing left to do, the session ends with its last handler.
      if (ec != websocket::error::closed) {
        spdlog::debug("ws: connection {} ended: {}", jreq_.remote_address, ec.message());
      }
      return;
    }
    std::string text = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    if (closing_) return;
    if (!ws_.got_text()) {
      send(ws::error_message("binary messages are not supported"));
    } else {
      handle(text);
    }
    if (!closing_) do_read();
  }

  void handle(const std::string& text) {
    using Kind = ws::ClientAction::Kind;
    ws::ClientAction a = ws::parse_client_message(text);
    switch (a.kind) {
      case Kind::Invalid:
        return send(ws::error_message(a.detail));
      case Kind::Unknown:
        return send(ws::error_message("unknown action"));
      case Kind::Subscribe: {
        if (threads_.count(a.thread_id)) return send(ws::simple_message("subscribed", a.thread_id));
        if (threads_.size() >= core_->options.max_subscriptions) {
          return send(ws::error_message("too many subscriptions", a.thread_id));
        }
        bool allowed = false;
        try {
          allowed = core_->may_access(principal_, a.thread_id);
        } catch (const std::exception& e) {
          spdlog::error("ws: thread access check failed: {}", e.what());
          return send(ws::error_message("subscription check failed", a.thread_id));
        } catch (...) {
          return send(ws::error_message("subscription check failed", a.thread_id));
        }
        // One answer for "missing" and "not yours": thread ids of others are not revealed.
        if (!allowed) return send(ws::error_message("forbidden", a.thread_id));
        threads_.insert(a.thread_id);
        core_->subscribe(id_, a.thread_id, weak_from_this());
        return send(ws::simple_message("subscribed", a.thread_id));
      }
      case Kind::Unsubscribe:
        if (threads_.erase(a.thread_id)) core_->unsubscribe(id_, a.thread_id);
        return send(ws::simple_message("unsubscribed", a.thread_id));
      case Kind::SubscribeSystem:
        if (!principal_.is_admin()) return send(ws::error_message("forbidden"));
        system_ = true;
        core_->set_system(id_, weak_from_this(), true);
        return send(ws::simple_message("subscribed.system"));
      case Kind::UnsubscribeSystem:
        if (system_) core_->set_system(id_, {}, false);
        system_ = false;
        return send(ws::simple_message("unsubscribed.system"));
    }
  }

  void send(std::string msg) { deliver(std::make_shared<const std::string>(std::move(msg))); }

 public:
  /// The periodic re-check of this socket's token (on the strand): a revoked or expired token or
  /// a disabled user closes with 1008; so does an admin demoted to user (its system and foreign
  /// thread subscriptions relied on the role). Other changes are taken over.
  void revalidated(const std::optional<jarvis::Principal>& now) {
    if (closing_ || id_ == 0) return;
    if (!now || !now->authenticated || now->user_id != principal_.user_id) {
      core_->revoked++;
      spdlog::info("ws: closing {} (user {}): token revoked, expired or user disabled",
                   jreq_.remote_address, principal_.user_id);
      return begin_close(websocket::close_code::policy_error, "token revoked or user disabled");
    }
    if (principal_.is_admin() && !now->is_admin()) {
      core_->revoked++;
      spdlog::info("ws: closing {} (user {}): role changed", jreq_.remote_address,
                   principal_.user_id);
      return begin_close(websocket::close_code::policy_error, "role changed");
    }
    principal_ = *now;
  }

 private:
  void do_write() {
    current_ = std::move(queue_.front());
    queue_.pop_front();
    ws_.text(true);
    ws_.async_write(
        net::buffer(*current_),
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    std::size_t size = current_ ? current_->size() : 0;
    current_.reset();
    queued_bytes_ = queued_bytes_ >= size ? queued_bytes_ - size : 0;
    if (ec) {
      queue_.clear();
      queued_bytes_ = 0;
      return;
    }
    core_->sent++;
    if (!closing_ && !queue_.empty()) do_write();
  }

  std::shared_ptr<WsHub::Core> core_;
  // The connection's place under JARVIS_HTTP_MAX_CONNECTIONS(_PER_IP): held for the socket's
  // whole life and released after it (declared before ws_, so destroyed after it).
  ConnectionSlot conn_slot_;
  websocket::stream<beast::tcp_stream> ws_;
  http::request<http::string_body> req_;
  jarvis::Request jreq_;
  net::steady_timer close_timer_;
  beast::flat_buffer buffer_;
  std::unique_ptr<http::response<http::string_body>> response_;
  jarvis::Principal principal_;
  std::string token_;                               // kept for the periodic re-validation
  std::optional<jarvis::Principal> pre_principal_;  // authenticated before the upgrade
  bool auth_failed_ = false;
  std::string slot_user_;  // the user whose per-user slot this session holds
  std::uint64_t id_ = 0;
  std::set<std::string> threads_;
  bool system_ = false;
  bool closing_ = false;
  std::deque<std::shared_ptr<const std::string>> queue_;
  std::shared_ptr<const std::string> current_;  // the frame being written
  std::size_t queued_bytes_ = 0;                // queue_ plus current_
};

namespace {

std::size_t parse_size(const ConfigStore& store, const std::string& key, std::size_t fallback,
                       std::size_t min) {
  auto v = store.get(key);
  if (!v || v->value.empty()) return fallback;
  std::size_t pos = 0;
  unsigned long long n = 0;
  try {
    n = std::stoull(v->value, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos != v->value.size() || v->value[0] == '-' || n < min) {
    throw std::runtime_error("invalid " + key + "=" + v->value + " (from " + v->origin +
                             "): expected an integer >= " + std::to_string(min));
  }
  return static_cast<std::size_t>(n);
}

}  // namespace

WsOptions WsOptions::from(const ConfigStore& store) {
  WsOptions o;
  o.allowed_origins = public_origins(store);
  std::string origins = store.get_or("WEB_CORS_ORIGINS", "");
  std::size_t start = 0;
  while (start <= origins.size()) {
    auto comma = origins.find(',', start);
    std::string item =
        origins.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    auto b = item.find_first_not_of(" \t");
    auto e = item.find_last_not_of(" \t");
    if (b != std::string::npos) o.allowed_origins.push_back(item.substr(b, e - b + 1));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  o.max_queue_messages = parse_size(store, "WS_MAX_QUEUE_MESSAGES", o.max_queue_messages, 1);
  o.max_queue_bytes = parse_size(store, "WS_MAX_QUEUE_BYTES", o.max_queue_bytes, 1024);
  o.idle_timeout =
      std::chrono::seconds(parse_size(store, "WS_IDLE_TIMEOUT_SECONDS",
                                      static_cast<std::size_t>(o.idle_timeout.count() / 1000), 2));
  o.max_connections_per_user =
      parse_size(store, "WS_MAX_CONNECTIONS_PER_USER", o.max_connections_per_user, 0);
  o.revalidate_interval = std::chrono::seconds(
      parse_size(store, "WS_REVALIDATE_SECONDS",
                 static_cast<std::size_t>(o.revalidate_interval.count() / 1000), 1));
  return o;
}

namespace {

/// One pass of the re-validation: every open socket's token, checked at once.
void revalidate_all(WsHub::Core& core) {
  std::vector<std::shared_ptr<WsSession>> live;
  std::vector<std::string> tokens;
  {
    std::lock_guard lock(core.mu);
    live.reserve(core.sessions.size());
    for (const auto& [id, weak] : core.sessions) {
      auto s = weak.lock();
      auto t = core.tokens.find(id);
      if (!s || t == core.tokens.end()) continue;
      live.push_back(std::move(s));
      tokens.push_back(t->second);
    }
  }
  if (live.empty()) return;
  std::vector<std::optional<jarvis::Principal>> now;
  try {
    if (core.validate) {
      now = core.validate(tokens);
    } else {
      now.reserve(tokens.size());
      for (const auto& t : tokens) now.push_back(core.authenticate(t));
    }
  } catch (const std::exception& e) {
    spdlog::warn("ws: re-validating {} socket(s) failed (kept open): {}", live.size(), e.what());
    return;
  } catch (...) {
    spdlog::warn("ws: re-validating {} socket(s) failed (kept open)", live.size());
    return;
  }
  if (now.size() != live.size()) {
    spdlog::error("ws: the token validator answered {} results for {} tokens", now.size(),
                  live.size());
    return;
  }
  for (std::size_t i = 0; i < live.size(); ++i) {
    auto s = std::move(live[i]);
    net::post(s->executor(), [s, p = std::move(now[i])] { s->revalidated(p); });
  }
}

}  // namespace

WsHub::WsHub(WsOptions options, WsAuthenticator authenticate, WsThreadAccess may_access_thread,
             MetricsRegistry* metrics, WsBatchValidator validate) {
  if (!authenticate || !may_access_thread) {
    throw std::invalid_argument("WsHub needs an authenticator and a thread access check");
  }
  core_ = std::make_shared<Core>(std::move(options), std::move(authenticate),
                                 std::move(may_access_thread), metrics, std::move(validate));
  revalidator_ = std::thread([core = core_] {
    std::unique_lock lock(core->mu);
    while (!core->revalidate_stop) {
      core->revalidate_cv.wait_for(lock, core->options.revalidate_interval,
                                   [&] { return core->revalidate_stop || core->revalidate_wake; });
      if (core->revalidate_stop) break;
      core->revalidate_wake = false;
      lock.unlock();
      revalidate_all(*core);
      lock.lock();
    }
  });
  if (metrics) {
    std::weak_ptr<Core> weak = core_;
    metrics->add_collector([weak](MetricsRegistry& m) {
      auto core = weak.lock();
      if (!core) return;
      std::size_t open = 0;
      {
        std::lock_guard lock(core->mu);
        open = core->sessions.size();
      }
      m.gauge_set("jarvis_ws_connections", "Open, authenticated WebSocket connections.", {},
                  static_cast<double>(open));
      m.counter_set("jarvis_ws_messages_sent_total", "WebSocket messages written to clients.", {},
                    static_cast<double>(core->sent.load()));
      m.counter_set("jarvis_ws_refused_total",
                    "WebSocket handshakes refused (origin, query token, authentication).", {},
                    static_cast<double>(core->refused.load()));
    });
  }
}

WsHub::~WsHub() {
  close_all(std::chrono::milliseconds(0));
  {
    std::lock_guard lock(core_->mu);
    core_->revalidate_stop = true;
  }
  core_->revalidate_cv.notify_all();
  if (revalidator_.joinable()) revalidator_.join();
}

void WsHub::revalidate_now() {
  {
    std::lock_guard lock(core_->mu);
    core_->revalidate_wake = true;
  }
  core_->revalidate_cv.notify_all();
}

UpgradeHandler WsHub::upgrade_handler() {
  return [core = core_](std::unique_ptr<UpgradeConnection> conn) {
    auto session = std::make_shared<WsSession>(core, *conn);
    session->start();
  };
}

namespace {

// Connections subscribed to `thread_id` (the system channel when empty).
std::vector<std::shared_ptr<WsSession>> targets_of(WsHub::Core& core,
                                                   const std::string& thread_id) {
  std::vector<std::shared_ptr<WsSession>> targets;
  std::lock_guard lock(core.mu);
  const WsHub::Core::Members* members = nullptr;
  if (thread_id.empty()) {
    members = &core.system;
  } else if (auto it = core.threads.find(thread_id); it != core.threads.end()) {
    members = &it->second;
  }
  if (members) {
    targets.reserve(members->size());
    for (const auto& [id, weak] : *members) {
      if (auto s = weak.lock()) targets.push_back(std::move(s));
    }
  }
  return targets;
}

}  // namespace

void WsHub::publish(const jarvis::Event& event) {
  try {
    auto targets = targets_of(*core_, event.thread_id);
    if (targets.empty()) return;
    auto msg = std::make_shared<const std::string>(ws::event_message(event));
    for (auto& s : targets) {
      net::post(s->executor(), [s, msg] { s->deliver(msg); });
    }
  } catch (const std::exception& e) {
    spdlog::error("ws: publishing {} failed: {}", event.type, e.what());
  }
}

void WsHub::publish_live(const std::string& thread_id, const std::string& component,
                         const jarvis::Json& payload) {
  if (thread_id.empty()) return;  // live pushes always name a thread
  try {
    auto targets = targets_of(*core_, thread_id);
    if (targets.empty()) return;
    auto msg = std::make_shared<const std::string>(ws::live_message(thread_id, component, payload));
    for (auto& s : targets) {
      net::post(s->executor(), [s, msg] { s->deliver(msg); });
    }
  } catch (const std::exception& e) {
    spdlog::error("ws: live push to {} failed: {}", thread_id, e.what());
  }
}

std::size_t WsHub::connection_count() const {
  std::lock_guard lock(core_->mu);
  return core_->sessions.size();
}

WsStats WsHub::stats() const {
  WsStats s;
  s.connections = connection_count();
  s.accepted_total = core_->accepted.load();
  s.refused_total = core_->refused.load();
  s.messages_sent_total = core_->sent.load();
  s.slow_consumer_closes_total = core_->slow.load();
  s.revoked_closes_total = core_->revoked.load();
  s.over_user_cap_total = core_->over_cap.load();
  return s;
}

void WsHub::close_all(std::chrono::milliseconds grace) {
  std::vector<std::shared_ptr<WsSession>> live;
  {
    std::lock_guard lock(core_->mu);
    core_->closing_all = true;
    for (const auto& [id, weak] : core_->sessions) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) {
    net::post(s->executor(),
              [s] { s->begin_close(websocket::close_code::going_away, "server shutting down"); });
  }
  live.clear();
  std::unique_lock lock(core_->mu);
  core_->cv.wait_for(lock, grace, [&] { return core_->sessions.empty(); });
}

}  // namespace jarvis::host
