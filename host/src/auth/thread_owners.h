// host/src/auth/thread_owners.h — which user owns a conversation thread (table `thread_owners`,
// migrations/021_thread_owners.sql).
//
// The host knows no chat. A plugin that creates threads (chat, whatsapp, …) claims each one for
// its user; the host then scopes events, traces and /ws subscriptions by ownership: a user sees a
// thread's events only when they own it, admins see all. A thread nobody claimed is admin-only.
// The lead exposes claim()/owner_of() to plugins through the SDK; host code uses this class.
// Live pushes to a thread's subscribers (publish/listen in the SDK) hang off it: live().
#pragma once

#include <optional>
#include <string>

#include "events/live_pushes.h"
#include "jarvis/database.h"
#include "jarvis/principal.h"

namespace jarvis::host {

/// Thread ownership registry. Thread-safe.
class ThreadOwners {
 public:
  explicit ThreadOwners(jarvis::Database& db);

  /// Records that `user_id` owns `thread_id`, registered by `component` (plugin name). Idempotent
  /// for the same owner; throws jarvis::Error 409 `thread_owned` when another user owns it, and
  /// 400 `invalid_field` for an empty or over-long (> 128) id.
  void claim(const std::string& thread_id, const std::string& user_id,
             const std::string& component);
  /// The owning user id, or nullopt when nobody claimed the thread.
  std::optional<std::string> owner_of(const std::string& thread_id);
  /// True when `who` may read the thread: admins always, users when they own it.
  bool may_access(const jarvis::Principal& who, const std::string& thread_id);
  /// Forgets a thread (when its plugin deletes it); false when it was not claimed.
  bool release(const std::string& thread_id);
  /// Live pushes to threads (jarvis::ThreadRegistry::publish / listen; events/live_pushes.h).
  LivePushes& live() { return live_; }

 private:
  jarvis::Database& db_;
  LivePushes live_;
};

}  // namespace jarvis::host
