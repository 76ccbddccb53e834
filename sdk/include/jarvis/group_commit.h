// jarvis/group_commit.h — group commit: concurrent requests share one database transaction
// instead of one each, and every request still returns only after its own rows are committed
// (decisions 0065, 0068, 0093, 0089). For a write on a hot path — a webhook that records each
// delivery before it answers — where the commit (SQLite's fsync, PostgreSQL's WAL flush) is
// the cost and many requests arrive at once.
//
// Leader/follower: a request queues its work; when no batch is running it becomes the leader,
// takes everything queued (at most `max_batch`), runs each work item in one transaction and
// commits, then wakes the followers whose items were in the batch. A request may announce itself
// first (arrive(), before its own reads outside the transaction): a leader then waits, before
// taking its batch, until every request announced before it started has queued its work or gone
// away (a duplicate, an error, any early return) — or the queue holds `max_batch` items — so a
// batch holds the requests already being admitted instead of one. The wait is bounded by those
// announcements (later ones do not extend it), never by a timer. If any item fails (throws, or
// returns false: "roll me back"), the batch is rolled back and each of its items runs again alone
// in its own transaction, so one bad request only fails itself (a "fallback": counted, and
// reported to the optional hook). A work item may therefore run twice: it must only write
// through `tx` and set its results afresh each time. Nothing slow may run inside a work item — no
// network, no subprocess, no sleeping: it holds the database's write lock for the whole batch.
//
//   jarvis::GroupCommit gc(host.db(), 64, [&](std::size_t n, const std::string& why) {
//     host.log()->warn("a batch of {} failed ({}); one by one", n, why);   // optional hook
//   });
//   jarvis::GroupCommit::Arrival arrival = gc.arrive();   // optional: a leader waits for it
//   if (already_seen(id)) return;                         // reads outside the transaction
//   bool fresh = false;
//   bool committed = gc.run(arrival, [&](jarvis::Transaction& tx) {
//     fresh = insert_row(tx.session(), row) == 1;         // set afresh: may run twice
//     host.events().emit(event, tx);
//     return true;                          // false: roll back (alone: nothing is written)
//   });
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "jarvis/database.h"
#include "jarvis/version.h"

namespace jarvis {

/// Shares one transaction among concurrent callers (see the file comment). Thread-safe.
class JARVIS_API GroupCommit {
 public:
  /// A unit of work inside the shared transaction: returns false to be rolled back (its batch
  /// then re-runs every item alone), or throws. May run twice (batch, then alone).
  using Work = std::function<bool(Transaction&)>;
  /// Called (on the leader's thread, outside the group commit's lock, exceptions swallowed) when
  /// a batch of `batch_size` items failed and its items are re-run alone; `reason` is the
  /// exception's what() or "an item asked to be rolled back". Must be quick (log, count).
  using FallbackHook = std::function<void(std::size_t batch_size, const std::string& reason)>;

  /// `db`: the database the transactions run on (Host::db()); `max_batch`: items per transaction
  /// (at least 1); `on_fallback`: optional, see FallbackHook.
  explicit GroupCommit(Database& db, std::size_t max_batch = 64, FallbackHook on_fallback = {});
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  /// An announced request (arrive()): until it is passed to run() or destroyed, a leader that
  /// started after it waits for it. Movable; the GroupCommit must outlive it.
  class JARVIS_API Arrival {
   public:
    Arrival(Arrival&& o) noexcept : gc_(o.gc_), ticket_(o.ticket_) { o.gc_ = nullptr; }
    Arrival(const Arrival&) = delete;
    Arrival& operator=(const Arrival&) = delete;
    Arrival& operator=(Arrival&&) = delete;
    /// Withdraws the announcement when it was not passed to run().
    ~Arrival();

   private:
    friend class GroupCommit;
    Arrival(GroupCommit* gc, std::uint64_t ticket) : gc_(gc), ticket_(ticket) {}
    GroupCommit* gc_;
    std::uint64_t ticket_;
  };

  /// Announces a request that will call run() soon (see the file comment).
  Arrival arrive();

  /// Runs `work` in a shared (or, after a failed batch, its own) transaction and returns after
  /// the commit: true when committed, false when `work` asked to be rolled back when alone.
  /// Rethrows the exception of `work` (or of the commit) when it failed alone.
  bool run(Work work);
  /// The same, for an announced request: its announcement ends as its work is queued.
  bool run(Arrival& arrival, Work work);

  /// A snapshot of the group commit (diagnostics, health details, tests that wait for a state).
  struct State {
    std::size_t queued = 0;     ///< items waiting for the next batch
    bool committing = false;    ///< a leader runs a batch (or gathers for one) now
    bool gathering = false;     ///< a leader waits for announced requests
    std::size_t batches = 0;    ///< transactions committed or tried (a re-run alone counts)
    std::size_t items = 0;      ///< work items those transactions held
    std::size_t fallbacks = 0;  ///< batches that failed and whose items were re-run alone
  };
  State state() const;

  /// Shorthands of state(): batches, items, fallbacks, and whether a leader is gathering.
  std::size_t batches() const;
  std::size_t items() const;
  std::size_t fallbacks() const;
  bool gathering() const;

 private:
  struct Item {
    Work work;
    std::condition_variable cv;  // its thread waits here (under mu_): done, or lead next
    bool done = false;
    bool committed = false;
    std::exception_ptr error;
  };
  bool run_queued(std::unique_lock<std::mutex>& lock, Work work);
  void depart_locked(std::uint64_t ticket);  // an announcement ends (mu_ held)
  void lead();
  void run_batch(std::deque<std::shared_ptr<Item>>& batch);
  void run_alone(Item& item);

  Database& db_;
  const std::size_t max_batch_;
  const FallbackHook on_fallback_;
  mutable std::mutex mu_;
  std::condition_variable gather_cv_;  // a gathering leader
  std::deque<std::shared_ptr<Item>> queue_;
  bool leading_ = false;
  std::uint64_t next_ticket_ = 0;    // announcements so far
  std::uint64_t gather_before_ = 0;  // a gathering leader waits for tickets below this
  std::size_t gather_pending_ = 0;   // … of which this many have not ended yet
  std::size_t announced_ = 0;        // announcements not ended yet
  bool gathering_ = false;
  std::size_t batches_ = 0, items_ = 0, fallbacks_ = 0;
};

}  // namespace jarvis
