// jarvis/threads.h — who owns a conversation thread.
//
// The host knows no chat; a plugin that creates threads (chat, WhatsApp, …) claims each one for
// its user. The host then scopes by ownership: a user sees a thread's events and traces, and may
// subscribe to it on /ws, only when they own it; admins see every thread; a thread nobody claimed
// is admin-only.
//
//   host.threads().claim(thread_id, req.principal->user_id);   // when the thread is created
//   if (!host.threads().may_access(*req.principal, thread_id)) throw jarvis::not_found("thread");
//   host.threads().require_access(req.principal, body.value("thread_id", ""));  // caller-supplied
//
// Any thread_id a caller supplies (a report, a schedule, a message) must be one they may use:
// otherwise their writes would land in another user's thread. require_access() is the check.
//
// Live pushes (SDK 1.1) carry what is not worth storing — a streamed token, a progress tick — to
// the thread's /ws subscribers (who passed the same ownership check as for stored events) on
// this host and, on PostgreSQL, on every other host, without writing a row:
//
//   host.threads().publish(thread_id, {{"kind", "token"}, {"text", "Hel"}});
//   auto sub = host.threads().listen(thread_id, [](const jarvis::LivePush& p) { sse.send(p); });
//   … sub.reset();   // stop listening (also when the plugin stops)
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "jarvis/error.h"
#include "jarvis/json.h"
#include "jarvis/principal.h"
#include "jarvis/version.h"

namespace jarvis {

/// Largest serialised live-push message: PostgreSQL's NOTIFY carries at most 8000 bytes, and the
/// envelope (origin, thread id, component) needs the rest. Bigger pushes throw Error(413,
/// "push_too_large") on both databases; store big content and push a reference to it instead.
inline constexpr std::size_t kMaxLivePushBytes = 7000;

/// One transient message to a thread (SDK 1.1).
struct LivePush {
  std::string thread_id;
  std::string component;  ///< the publishing plugin
  Json message;           ///< what the publisher passed (not redacted: never push secrets)
};

/// Receives live pushes of one thread; runs on the publisher's thread (or, for pushes from other
/// hosts and from I/O threads, on a host delivery thread — never an I/O thread). Keep it quick:
/// hand the push to your own queue. Exceptions are logged and counted, never propagated.
using LiveHandler = std::function<void(const LivePush&)>;

/// A live-push listener; destroying it (or cancel()) stops delivery. After cancel() returns the
/// handler is not running and is never called again. Also inert once the plugin has stopped.
class JARVIS_API LiveSubscription {
 public:
  virtual ~LiveSubscription();
  /// Stops delivery; idempotent.
  virtual void cancel() = 0;
};

/// Thread ownership registry (table `thread_owners`). Thread-safe.
class JARVIS_API ThreadRegistry {
 public:
  virtual ~ThreadRegistry();

  /// Records that user `user_id` owns `thread_id` (the calling plugin is recorded as the
  /// registering component). Idempotent for the same owner. Throws jarvis::Error 409
  /// `thread_owned` when another user owns the thread, and 400 `invalid_field` for an empty
  /// id or one longer than 128 characters.
  virtual void claim(const std::string& thread_id, const std::string& user_id) = 0;

  /// The owning user id, or nullopt when nobody claimed the thread.
  virtual std::optional<std::string> owner(const std::string& thread_id) = 0;

  /// True when `who` may read the thread: an admin always, a user when they own it.
  virtual bool may_access(const Principal& who, const std::string& thread_id) = 0;

  /// Forgets the thread's owner (when the plugin deletes the thread); false when it had none.
  virtual bool release(const std::string& thread_id) = 0;

  /// Throws jarvis::Error(404, "thread_not_found") unless `who` may use `thread_id` — the same
  /// answer as for a thread that does not exist, so ids of others' threads are not revealed. An
  /// empty id means "no thread" and passes. Call it for every thread_id a caller supplies.
  void require_access(const Principal& who, const std::string& thread_id) {
    if (!thread_id.empty() && !may_access(who, thread_id)) {
      throw Error(404, "thread_not_found", "thread " + thread_id + " does not exist");
    }
  }

  // --- SDK 1.1 ---

  /// Pushes `message` to the /ws subscribers of `thread_id` (on every host when the database is
  /// PostgreSQL) and to listen()ers, as `{"type":"live","thread_id","component","payload":
  /// message}`. Nothing is stored; a client not connected at that moment never sees it (use an
  /// event for what must be kept). Who receives it follows the same rules as stored events: the
  /// owner's and admins' sockets subscribed to the thread. Throws Error(413, "push_too_large")
  /// when message.dump() exceeds kMaxLivePushBytes, Error(400, "invalid_field") for an empty or
  /// over-long thread id.
  virtual void publish(const std::string& thread_id, const Json& message) = 0;

  /// Calls `handler` for every live push to `thread_id` from now on — published in this process
  /// or, on PostgreSQL, on another host — until the returned subscription is destroyed or
  /// cancelled, or the plugin stops. Throws Error(400, "invalid_field") for a bad thread id.
  virtual std::unique_ptr<LiveSubscription> listen(const std::string& thread_id,
                                                   LiveHandler handler) = 0;
};

}  // namespace jarvis
