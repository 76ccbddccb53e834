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
#include <unordered_map>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket.hpp>
#include <spdlog/spdlog.h>

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

  Core(WsOptions o, WsAuthenticator a, WsThreadAccess t, MetricsRegistry* m)
      : options(std::move(o)), authenticate(std::move(a)), may_access(std::move(t)), metrics(m) {}

  const WsOptions options;
  const WsAuthenticator authenticate;
  const WsThreadAccess may_access;
  MetricsRegistry* const metrics;

  mutable std::mutex mu;
  std::condition_variable cv;
  bool closing_all = false;
  std::uint64_t next_id = 1;
  Members sessions;                                  // authenticated, not yet destroyed
  std::unordered_map<std::string, Members> threads;  // thread id → subscribers
  Members system;                                    // system-channel subscribers

  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> slow{0};

  bool closing() const {
    std::lock_guard lock(mu);
    return closing_all;
  }

  /// Registers an authenticated session; 0 when the hub is closing.
  std::uint64_t add(const std::shared_ptr<WsSession>& s) {
    std::lock_guard lock(mu);
    if (closing_all) return 0;
    std::uint64_t id = next_id++;
    sessions.emplace(id, s);
    return id;
  }

  void remove(std::uint64_t id, const std::set<std::string>& subscribed, bool system_sub) {
    {
      std::lock_guard lock(mu);
      sessions.erase(id);
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
        ws_(std::move(conn.stream)),
        req_(std::move(conn.request)),
        jreq_(std::move(conn.jarvis_request)),
        close_timer_(ws_.get_executor()) {}

  ~WsSession() {
    if (id_ != 0) core_->remove(id_, threads_, system_);
  }

  net::any_io_executor executor() { return ws_.get_executor(); }

  /// Checks the Origin, then performs the WebSocket handshake.
  void start() {
    const auto& o = core_->options;
    if (!ws::origin_allowed(jreq_, o.allowed_origins, o.allow_missing_origin)) {
      spdlog::info("ws: refused handshake from {} (origin {} not allowed)", jreq_.remote_address,
                   jreq_.headers.get("Origin").value_or(""));
      return refuse_http(http::status::forbidden, "origin_not_allowed",
                         "the Origin of this WebSocket handshake is not allowed");
    }
    if (core_->closing()) {
      return refuse_http(http::status::service_unavailable, "shutting_down",
                         "the server is shutting down");
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
    auto token = ws::request_token(jreq_);
    if (!token) return refuse_ws(websocket::close_code::policy_error, "authentication required");
    std::optional<jarvis::Principal> principal;
    try {
      principal = core_->authenticate(*token);
    } catch (const std::exception& e) {
      spdlog::error("ws: authentication failed with an exception: {}", e.what());
      return refuse_ws(websocket::close_code::internal_error, "authentication unavailable");
    } catch (...) {
      spdlog::error("ws: authentication failed with a non-standard exception");
      return refuse_ws(websocket::close_code::internal_error, "authentication unavailable");
    }
    if (!principal || !principal->authenticated || principal->user_id.empty()) {
      return refuse_ws(websocket::close_code::policy_error, "invalid token");
    }
    principal_ = std::move(*principal);
    id_ = core_->add(shared_from_this());
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
  websocket::stream<beast::tcp_stream> ws_;
  http::request<http::string_body> req_;
  jarvis::Request jreq_;
  net::steady_timer close_timer_;
  beast::flat_buffer buffer_;
  std::unique_ptr<http::response<http::string_body>> response_;
  jarvis::Principal principal_;
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
  return o;
}

WsHub::WsHub(WsOptions options, WsAuthenticator authenticate, WsThreadAccess may_access_thread,
             MetricsRegistry* metrics) {
  if (!authenticate || !may_access_thread) {
    throw std::invalid_argument("WsHub needs an authenticator and a thread access check");
  }
  core_ = std::make_shared<Core>(std::move(options), std::move(authenticate),
                                 std::move(may_access_thread), metrics);
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

WsHub::~WsHub() { close_all(std::chrono::milliseconds(0)); }

UpgradeHandler WsHub::upgrade_handler() {
  return [core = core_](std::unique_ptr<UpgradeConnection> conn) {
    auto session = std::make_shared<WsSession>(core, *conn);
    session->start();
  };
}

void WsHub::publish(const jarvis::Event& event) {
  try {
    std::vector<std::shared_ptr<WsSession>> targets;
    {
      std::lock_guard lock(core_->mu);
      const Core::Members* members = nullptr;
      if (event.thread_id.empty()) {
        members = &core_->system;
      } else if (auto it = core_->threads.find(event.thread_id); it != core_->threads.end()) {
        members = &it->second;
      }
      if (members) {
        targets.reserve(members->size());
        for (const auto& [id, weak] : *members) {
          if (auto s = weak.lock()) targets.push_back(std::move(s));
        }
      }
    }
    if (targets.empty()) return;
    auto msg = std::make_shared<const std::string>(ws::event_message(event));
    for (auto& s : targets) {
      net::post(s->executor(), [s, msg] { s->deliver(msg); });
    }
  } catch (const std::exception& e) {
    spdlog::error("ws: publishing {} failed: {}", event.type, e.what());
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
