// sdk/src/group_commit.cpp — jarvis::GroupCommit (see jarvis/group_commit.h): leader/follower
// over one mutex, a condition variable per waiting request (only the woken one runs), and the
// gathering of announced requests (decision 0093). Moved here from the whatsapp plugin (0089).
#include "jarvis/group_commit.h"

#include <algorithm>

namespace jarvis {

GroupCommit::GroupCommit(Database& db, std::size_t max_batch, FallbackHook on_fallback)
    : db_(db),
      max_batch_(std::max<std::size_t>(max_batch, 1)),
      on_fallback_(std::move(on_fallback)) {}

GroupCommit::Arrival::~Arrival() {
  if (!gc_) return;
  std::lock_guard lock(gc_->mu_);
  gc_->depart_locked(ticket_);
}

GroupCommit::Arrival GroupCommit::arrive() {
  std::lock_guard lock(mu_);
  ++announced_;
  return Arrival(this, next_ticket_++);
}

void GroupCommit::depart_locked(std::uint64_t ticket) {
  --announced_;
  if (ticket < gather_before_ && gather_pending_ > 0 && --gather_pending_ == 0) {
    gather_cv_.notify_one();
  }
}

bool GroupCommit::run(Work work) {
  std::unique_lock lock(mu_);
  return run_queued(lock, std::move(work));
}

bool GroupCommit::run(Arrival& arrival, Work work) {
  std::unique_lock lock(mu_);
  if (arrival.gc_ == this) {
    arrival.gc_ = nullptr;
    depart_locked(arrival.ticket_);
  }
  return run_queued(lock, std::move(work));
}

bool GroupCommit::run_queued(std::unique_lock<std::mutex>& lock, Work work) {
  auto item = std::make_shared<Item>();
  item->work = std::move(work);
  queue_.push_back(item);
  if (queue_.size() >= max_batch_) gather_cv_.notify_one();
  for (;;) {
    if (item->done) break;
    if (!leading_) {
      // No batch is running: lead one (it contains this item: the queue is served in order and
      // this item is still queued).
      leading_ = true;
      lock.unlock();
      lead();  // wakes the batch's followers, each on its own condition variable
      lock.lock();
      leading_ = false;
      // Wakes only the next leader: the oldest item still queued (nobody else has to wake).
      if (!queue_.empty()) {
        std::shared_ptr<Item> next = queue_.front();
        lock.unlock();
        next->cv.notify_one();
        lock.lock();
      }
      continue;
    }
    item->cv.wait(lock);
  }
  if (item->error) std::rethrow_exception(item->error);
  return item->committed;
}

void GroupCommit::lead() {
  std::deque<std::shared_ptr<Item>> batch;
  {
    std::unique_lock lock(mu_);
    // Gather: wait for the requests announced before now (not for later ones), unless the queue
    // is already full. Each of them ends its announcement as it queues its work or gives up.
    gather_before_ = next_ticket_;
    gather_pending_ = announced_;
    gathering_ = true;
    gather_cv_.wait(lock, [&] { return gather_pending_ == 0 || queue_.size() >= max_batch_; });
    gathering_ = false;
    gather_before_ = 0;
    gather_pending_ = 0;
    while (!queue_.empty() && batch.size() < max_batch_) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
  }
  run_batch(batch);
  {
    std::lock_guard lock(mu_);
    for (auto& i : batch) i->done = true;
  }
  // Outside the lock, so a woken follower does not block on mu_ at once; `batch` keeps each item
  // (and its condition variable) alive.
  for (auto& i : batch) i->cv.notify_one();
}

void GroupCommit::run_batch(std::deque<std::shared_ptr<Item>>& batch) {
  if (batch.size() == 1) {
    run_alone(*batch.front());
    return;
  }
  bool all_ok = true;
  std::string reason = "an item asked to be rolled back";
  try {
    auto tx = db_.transaction();
    for (auto& i : batch) {
      if (!i->work(*tx)) {
        all_ok = false;
        break;
      }
    }
    if (all_ok) tx->commit();  // otherwise the destructor rolls everything back
  } catch (const std::exception& e) {
    all_ok = false;
    reason = e.what();
  } catch (...) {
    all_ok = false;
    reason = "an unknown exception";
  }
  if (all_ok) {
    for (auto& i : batch) i->committed = true;
    std::lock_guard lock(mu_);
    ++batches_;
    items_ += batch.size();
    return;
  }
  // One item failed (or the commit did): nothing of the batch was written. Each runs alone.
  {
    std::lock_guard lock(mu_);
    ++fallbacks_;
  }
  if (on_fallback_) {
    try {  // never keeps the batch's followers from their re-run
      on_fallback_(batch.size(), reason);
    } catch (...) {
    }
  }
  for (auto& i : batch) run_alone(*i);
}

void GroupCommit::run_alone(Item& item) {
  try {
    auto tx = db_.transaction();
    if (item.work(*tx)) {
      tx->commit();
      item.committed = true;
    }
  } catch (...) {
    item.error = std::current_exception();
  }
  std::lock_guard lock(mu_);
  ++batches_;
  ++items_;
}

GroupCommit::State GroupCommit::state() const {
  std::lock_guard lock(mu_);
  return {.queued = queue_.size(),
          .committing = leading_,
          .gathering = gathering_,
          .batches = batches_,
          .items = items_,
          .fallbacks = fallbacks_};
}

std::size_t GroupCommit::fallbacks() const {
  std::lock_guard lock(mu_);
  return fallbacks_;
}

std::size_t GroupCommit::batches() const {
  std::lock_guard lock(mu_);
  return batches_;
}

bool GroupCommit::gathering() const {
  std::lock_guard lock(mu_);
  return gathering_;
}

std::size_t GroupCommit::items() const {
  std::lock_guard lock(mu_);
  return items_;
}

}  // namespace jarvis
