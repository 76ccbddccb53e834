// github/src/context.h — what every part of the plugin shares: the host, the settings, the
// store, the rate-limit state, the permission cache, and the helpers the tasks have in common
// (asking the model through the `chat.complete` tool, postponing a rate-limited task, upserting
// the plugin's one comment per pull request, recording the last error).
//
//   github::Context& c = *ctx_;                          // owned by the plugin object
//   github::ModelAnswer m = c.ask_model(prompt, system, "github.pr_summary", t.trace_id);
//   if (m.kind == github::ModelAnswer::Kind::Ok) use(m.text);
//   c.upsert_comment(api, "octo/hello", 7, "pr-summary", github::kSummaryMarker, body);
//   return c.defer(t, rate_limited);                     // re-enqueued after the reset
#pragma once

#include <map>
#include <mutex>
#include <stdexcept>
#include <string>

#include "client.h"
#include "jarvis/host.h"
#include "settings.h"
#include "store.h"

namespace github {

/// The agent principal the plugin's model calls run as (granted `chat.complete` in start()).
inline constexpr const char* kAgentId = "agent:github";
/// The tool that writes model text, registered by the chat plugin when present.
inline constexpr const char* kCompleteTool = "chat.complete";

/// How long an unfinished claim (github_claims) protects its holder: longer than a task's
/// timeout (600 s), so only a holder that died for good loses it.
inline constexpr int kClaimStaleSeconds = 900;
/// How often a task waits for another host's claim (with growing delays) before it fails.
inline constexpr int kMaxClaimWaits = 40;

/// Another task (on this host or another host on the database) holds the claim on a side
/// effect this task needs; the task waits for it by postponing itself (Context::wait_for_claim).
class ClaimHeld : public std::runtime_error {
 public:
  explicit ClaimHeld(const std::string& key)
      : std::runtime_error("claim " + key + " is held by another task"), key(key) {}
  std::string key;  ///< the github_claims key
};

/// Outcome of one model call.
struct ModelAnswer {
  enum class Kind { Ok, Absent, Denied, Failed };
  Kind kind = Kind::Absent;
  std::string text;      ///< the model's text (Ok)
  std::string provider;  ///< "provider/model" (Ok)
  std::string reason;  ///< why not (Denied: the policy reason; Failed: the error code) — internal
};

/// Shared state of the plugin (see the file comment). Thread-safe.
class Context {
 public:
  Context(jarvis::Host& host, Settings settings)
      : host(host), settings(std::move(settings)), store(host) {}

  jarvis::Host& host;
  const Settings settings;
  Store store;
  RateState rate;

  /// True when a tool named chat.complete is registered now.
  bool model_registered() const;
  /// Calls chat.complete as agent:github on behalf of the system. Never throws for a refused or
  /// failing call: the answer says which.
  ModelAnswer ask_model(const std::string& prompt, const std::string& system,
                        const std::string& purpose, const std::string& trace_id);

  /// Re-enqueues the running task (same name and payload, `deferrals` + 1) to run after the
  /// limit's wait (capped by GITHUB_RATE_LIMIT_MAX_DEFER_SECONDS), emits github.rate_limited,
  /// persists the rate state, and returns the task's result {deferred_until, wait_seconds}.
  jarvis::Json defer(const jarvis::TaskContext& t, const RateLimited& limit);

  /// The owner of the claims a task takes: the id of the task that started the work, kept in
  /// the payload ("origin_task") across rate-limit postponements and claim waits, so a task's
  /// later runs keep its claim.
  static std::string claim_owner(const jarvis::TaskContext& t);
  /// Re-enqueues the running task after another task's claim (`claim_waits` + 1, run after 2,
  /// 4, … up to 60 s) and returns the task's result {waiting_for, wait_seconds}; after
  /// kMaxClaimWaits waits it throws instead (the attempt fails).
  jarvis::Json wait_for_claim(const jarvis::TaskContext& t, const ClaimHeld& held);

  /// Creates or edits the plugin's one comment of `kind` on issue/PR `number`: the remembered
  /// comment id first, then — holding the claim `comment:<repo>#<number>:<kind>` for `owner`
  /// (decision 0066: one creator across every host on the database) — a search of the thread
  /// for a comment by GITHUB_BOT_LOGIN starting with `marker`, else a new comment. Returns the
  /// comment id. Throws ClaimHeld while another task is creating the comment.
  long long upsert_comment(Client& api, const std::string& repo, long long number,
                           const std::string& kind, std::string_view marker,
                           const std::string& body, const std::string& owner);

  /// True when `login` may trigger PR chat on `repo`: listed in GITHUB_CHAT_ALLOWED_USERS, or
  /// write/maintain/admin per the collaborator-permission API (answers cached
  /// GITHUB_PERMISSION_CACHE_SECONDS).
  bool trusted_commenter(Client& api, const std::string& repo, const std::string& login);

  /// Stores {at, kind, message} as the last error (shown by the status page). Messages are the
  /// plugin's own texts (method, path, status), never tokens or response bodies.
  void record_error(const std::string& kind, const std::string& message);
  /// Persists the rate-limit figures (for `jarvis github status` in another process).
  void save_rate_state();

 private:
  std::mutex comment_mu_;
  std::map<std::string, std::shared_ptr<std::mutex>> comment_locks_;
  std::mutex perm_mu_;
  struct CachedPermission {
    bool trusted = false;
    long long at = 0;
  };
  std::map<std::string, CachedPermission> perms_;
};

}  // namespace github
