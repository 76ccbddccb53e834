// host/src/events/live_pushes.h — transient messages to a thread's /ws subscribers and in-process
// listeners (jarvis::ThreadRegistry::publish / listen), never stored.
//
// A push is delivered in this process at once (the /ws sink, then listeners) and, on PostgreSQL,
// sent to the other hosts with `pg_notify('jarvis_live', envelope)`, where the event relay
// (LISTEN jarvis_live) hands it to deliver_remote(). The envelope is JSON {"o": origin,
// "c": component, "t": thread id, "m": message}; a NOTIFY payload must stay under 8000 bytes, so
// the message is capped at jarvis::kMaxLivePushBytes and the envelope at kMaxEnvelopeBytes
// (Error 413 `push_too_large`, on SQLite too, so a plugin behaves the same on both). Ownership on
// /ws is the hub's: only sockets subscribed to the thread (the owner's, admins') receive it.
//
// Threads: listeners run on the publisher's thread, except when it is an Asio I/O thread, and for
// pushes from other hosts: those go through one delivery thread of this object.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "jarvis/database.h"
#include "jarvis/threads.h"
#include "registry/owner.h"

namespace jarvis::host {

class LivePushes {
 public:
  /// Largest NOTIFY envelope (PostgreSQL's limit is 8000 bytes including the terminator).
  static constexpr std::size_t kMaxEnvelopeBytes = 7990;

  /// `db` may be null (no cross-host delivery). On PostgreSQL pushes are NOTIFYed to other hosts;
  /// the origin is the pool's (SqlDatabase::origin()), so the relay skips our own.
  explicit LivePushes(jarvis::Database* db);
  /// Delivers what the delivery thread holds, then joins it.
  ~LivePushes();
  LivePushes(const LivePushes&) = delete;
  LivePushes& operator=(const LivePushes&) = delete;

  /// See jarvis::ThreadRegistry::publish. Throws Error(400, "invalid_field") for a bad thread id,
  /// Error(413, "push_too_large"), or Error(503, …) when the NOTIFY cannot be sent (the local
  /// delivery has happened by then).
  void publish(const Owner& publisher, const std::string& thread_id, const jarvis::Json& message);
  /// A push received from another host (the relay); delivered here only, on the delivery thread.
  void deliver_remote(jarvis::LivePush push);
  /// Parses a `jarvis_live` NOTIFY payload; nullopt when malformed or of origin `own_origin`.
  static std::optional<jarvis::LivePush> parse_notification(const std::string& payload,
                                                            const std::string& own_origin);

  /// See jarvis::ThreadRegistry::listen. The entry keeps `owner`'s library loaded.
  std::unique_ptr<jarvis::LiveSubscription> listen(Owner owner, const std::string& thread_id,
                                                   jarvis::LiveHandler handler);
  /// Cancels every listener of `owner_name` (the plugin stopped).
  void remove_owner(const std::string& owner_name);
  /// Where pushes go to /ws (WsHub::publish_live); null = nowhere.
  void set_ws_sink(std::function<void(const jarvis::LivePush&)> sink);

  /// Counters for tests and /metrics.
  long long published() const { return published_; }
  long long received_remote() const { return received_remote_; }
  long long listener_failures() const;
  std::size_t listener_count() const;

  struct Core;

 private:
  void deliver_local(const jarvis::LivePush& push);
  // Queues a delivery for the delivery thread (started on first use).
  void enqueue(jarvis::LivePush push);
  void delivery_loop();

  jarvis::Database* db_;
  std::string origin_;
  std::shared_ptr<Core> core_;  // listeners; shared with subscription handles
  std::atomic<long long> published_{0};
  std::atomic<long long> received_remote_{0};

  std::mutex q_mu_;
  std::condition_variable q_cv_;
  std::deque<jarvis::LivePush> queue_;
  bool q_stop_ = false;
  std::thread worker_;
};

}  // namespace jarvis::host
