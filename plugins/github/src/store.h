// github/src/store.h — the plugin's tables (migrations/001_github.sql): deliveries (replay
// refusal, the status page), the comments it owns, the issues it created for bug reports, and a
// small key/value state (last error, rate-limit figures).
//
//   github::Store store(host);
//   bool fresh = store.accept_delivery({.id = d, .event = "pull_request", …}, tasks, 60);
//   if (!fresh) throw jarvis::conflict("already seen", "duplicate_delivery");
//   long long id = store.comment_id("octo/hello", 7, "pr-summary");
//   store.set_state("last_error", {{"at", jarvis::now_iso()}, {"message", "…"}});
#pragma once

#include <string>
#include <vector>

#include "jarvis/group_commit.h"
#include "jarvis/host.h"

namespace github {

/// One webhook delivery as recorded.
struct Delivery {
  std::string id;       ///< X-GitHub-Delivery
  std::string event;    ///< X-GitHub-Event
  std::string action;   ///< payload action ("" when none)
  std::string repo;     ///< owner/repo ("" when none)
  std::string outcome;  ///< accepted, ping, ignored:<reason>
};

/// A task the delivery causes, enqueued in the delivery's transaction.
struct TaskToEnqueue {
  std::string name;
  jarvis::EnqueueOptions options;
};

/// The answer of Store::claim().
enum class Claim {
  Won,   ///< this owner holds the claim now (new, its own earlier claim, or a stale one taken over)
  Held,  ///< another owner holds it and has not finished
  Done,  ///< the side effect was recorded as done
};

/// Access to the plugin's tables. Thread-safe (every call borrows its own session).
class Store {
 public:
  explicit Store(jarvis::Host& host);

  /// Records the delivery and enqueues `tasks` in one transaction, committed before this
  /// returns. False (nothing written) when the same id was recorded less than `window_minutes`
  /// ago — including a concurrent request with the same id that committed first. Concurrent
  /// calls share a transaction (the SDK's jarvis::GroupCommit, decisions 0068 and 0089): the
  /// next leader commits every delivery queued while the previous commit ran; if that
  /// transaction fails, each is retried in its own, so one bad delivery never fails another (a
  /// warning and webhook_group_commit_fallbacks_total). No arrive(): nothing is read before the
  /// transaction (the signature check and the parse are CPU only).
  bool accept_delivery(const Delivery& d, std::vector<TaskToEnqueue> tasks, int window_minutes);
  /// The group commit's snapshot: deliveries queued, whether a commit runs now, fallbacks (tests
  /// and diagnostics: a test holds the database and waits until its deliveries are queued).
  using GroupCommitState = jarvis::GroupCommit::State;
  GroupCommitState group_commit_state() const { return commits_.state(); }
  /// Deletes deliveries older than `keep_minutes`; returns how many.
  long long prune_deliveries(int keep_minutes);
  /// The newest delivery {delivery_id, event, action, repo, outcome, received_at} or null.
  jarvis::Json last_delivery();
  /// Deliveries received since `since_iso`.
  long long deliveries_since(const std::string& since_iso);

  /// The comment id the plugin keeps for (repo, number, kind), 0 when none.
  long long comment_id(const std::string& repo, long long number, const std::string& kind);
  /// Remembers (or replaces) that comment id.
  void save_comment(const std::string& repo, long long number, const std::string& kind,
                    long long comment_id);
  /// Forgets it (the comment was deleted on GitHub).
  void forget_comment(const std::string& repo, long long number, const std::string& kind);

  /// Takes the claim `key` (github_claims, decision 0066) for `owner` (a task id) with one
  /// INSERT … ON CONFLICT DO NOTHING, atomic across every host on the database. A claim without
  /// done_at older than `stale_seconds` is taken over (compare-and-set on its owner and time).
  Claim claim(const std::string& key, const std::string& owner, int stale_seconds);
  /// Marks `owner`'s claim `key` done (the side effect is recorded).
  void finish_claim(const std::string& key, const std::string& owner);
  /// Drops `owner`'s unfinished claim `key` (its attempt failed; another may try).
  void release_claim(const std::string& key, const std::string& owner);
  /// Drops claim `key` whoever holds it (the comment it guarded was deleted on GitHub).
  void drop_claim(const std::string& key);

  /// The issue link of a bug report {bug_id, repo, issue_number, issue_url, last_error,
  /// attempts, updated_at}, or null.
  jarvis::Json issue_link(const std::string& bug_id);
  /// Records a created issue (number/url) or, with number 0, an attempt's error.
  void save_issue_link(const std::string& bug_id, const std::string& repo, long long number,
                       const std::string& url, const std::string& error);
  /// Bug ids with a recorded error and no issue (for `jarvis github sync-bugs`).
  std::vector<std::string> failed_issue_links(int limit);

  /// A state value (JSON) or null.
  jarvis::Json state(const std::string& key);
  /// Sets a state value.
  void set_state(const std::string& key, const jarvis::Json& value);

 private:
  bool record_one(jarvis::Transaction& tx, const Delivery& d,
                  const std::vector<TaskToEnqueue>& tasks, int window_minutes);

  jarvis::Host& host_;
  jarvis::GroupCommit commits_;  ///< deliveries share transactions (decision 0068)
};

}  // namespace github
