// whatsapp/src/group_commit.h — group commit for the webhook's admission transactions
// (decision 0065): concurrent webhook requests share one database transaction instead of one
// each, and every request still answers only after its rows are committed.
//
// Leader/follower: a request enqueues its work; when no batch is running it becomes the leader,
// takes everything queued (at most `max_batch`), runs each work item in one transaction and
// commits, then wakes the followers whose items were in the batch. A request may announce itself
// first (arrive(), before its own reads outside the transaction): a leader then waits, before
// taking its batch, until every request announced before it started has enqueued its work or
// gone away (duplicate, held, an exception) — or the queue holds `max_batch` items — so a batch
// holds the requests already being admitted instead of one (decision 0093). The wait is bounded
// by those announcements (later ones do not extend it), never by a timer. If any item fails
// (throws, or returns false: "roll me back", e.g. a duplicate that lost a race), the batch is
// rolled back and each of its items runs again alone in its own transaction, so one bad message
// only fails itself. Nothing slow may run inside a work item (it holds the write lock for the whole
// batch).
//
//   GroupCommit gc(host.db());
//   GroupCommit::Arrival arrival = gc.arrive();   // optional: a leader waits for it
//   read_outside_the_transaction();
//   bool committed = gc.run(arrival, [&](jarvis::Transaction& tx) {
//     insert_row(tx.session(), row);
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

#include "jarvis/jarvis.h"

namespace whatsapp {

/// Shares one transaction among concurrent callers (see the file comment). Thread-safe.
class GroupCommit {
 public:
  /// A unit of work inside the shared transaction: returns false to be rolled back (its batch
  /// then re-runs every item alone), or throws.
  using Work = std::function<bool(jarvis::Transaction&)>;

  explicit GroupCommit(jarvis::Database& db, std::size_t max_batch = 64)
      : db_(db), max_batch_(max_batch) {}
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  /// An announced request (arrive()): until it is passed to run() or destroyed, a leader that
  /// started after it waits for it. Movable; the GroupCommit must outlive it.
  class Arrival {
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

  /// Batches committed so far and the items they held (for the benchmark notes).
  std::size_t batches() const;
  std::size_t items() const;
  /// True while a leader waits for announced requests (tests wait for this state).
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

  jarvis::Database& db_;
  const std::size_t max_batch_;
  mutable std::mutex mu_;
  std::condition_variable gather_cv_;  // a gathering leader
  std::deque<std::shared_ptr<Item>> queue_;
  bool leading_ = false;
  std::uint64_t next_ticket_ = 0;    // announcements so far
  std::uint64_t gather_before_ = 0;  // a gathering leader waits for tickets below this
  std::size_t gather_pending_ = 0;   // … of which this many have not ended yet
  std::size_t announced_ = 0;        // announcements not ended yet
  bool gathering_ = false;
  std::size_t batches_ = 0, items_ = 0;
};

}  // namespace whatsapp
