// whatsapp/src/group_commit.h — group commit for the webhook's admission transactions
// (decision 0065): concurrent webhook requests share one database transaction instead of one
// each, and every request still answers only after its rows are committed.
//
// Leader/follower: a request enqueues its work; when no batch is running it becomes the leader,
// takes everything queued (at most `max_batch`), runs each work item in one transaction and
// commits, then wakes the followers whose items were in the batch. If any item fails (throws, or
// returns false: "roll me back", e.g. a duplicate that lost a race), the batch is rolled back and
// each of its items runs again alone in its own transaction, so one bad message only fails
// itself. Nothing slow may run inside a work item (it holds the write lock for the whole batch).
//
//   GroupCommit gc(host.db());
//   bool committed = gc.run([&](jarvis::Transaction& tx) {
//     insert_row(tx.session(), row);
//     host.events().emit(event, tx);
//     return true;                          // false: roll back (alone: nothing is written)
//   });
#pragma once

#include <condition_variable>
#include <cstddef>
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

  /// Runs `work` in a shared (or, after a failed batch, its own) transaction and returns after
  /// the commit: true when committed, false when `work` asked to be rolled back when alone.
  /// Rethrows the exception of `work` (or of the commit) when it failed alone.
  bool run(Work work);

  /// Batches committed so far and the items they held (for the benchmark notes).
  std::size_t batches() const;
  std::size_t items() const;

 private:
  struct Item {
    Work work;
    bool done = false;
    bool committed = false;
    std::exception_ptr error;
  };
  void lead();
  void run_batch(std::deque<std::shared_ptr<Item>>& batch);
  void run_alone(Item& item);

  jarvis::Database& db_;
  const std::size_t max_batch_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Item>> queue_;
  bool leading_ = false;
  std::size_t batches_ = 0, items_ = 0;
};

}  // namespace whatsapp
