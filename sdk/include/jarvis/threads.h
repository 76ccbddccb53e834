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
#pragma once

#include <optional>
#include <string>

#include "jarvis/error.h"
#include "jarvis/principal.h"
#include "jarvis/version.h"

namespace jarvis {

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
};

}  // namespace jarvis
