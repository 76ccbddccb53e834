// memory/src/background.cpp — the memory core's serve-time loop.
#include "background.h"

#include "jarvis/sql.h"
#include "maintenance.h"

namespace jarvis::memory {

BackgroundLoop::BackgroundLoop(MemoryCore& core) : core_(core) {}

BackgroundLoop::~BackgroundLoop() { stop(); }

void BackgroundLoop::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void BackgroundLoop::stop() {
  {
    std::lock_guard lock(mu_);
    if (!thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  try {
    if (core_.flush_learning) core_.flush_learning();
    flush_access();
    core_.index->save();
  } catch (const std::exception& e) {
    core_.host.log()->warn("memory: saving the vector index at stop failed: {}", e.what());
  }
}

void BackgroundLoop::note_access(const std::vector<long long>& seqs) {
  if (!core_.settings.writes_enabled || !core_.settings.importance_enabled) return;
  std::lock_guard lock(mu_);
  for (long long s : seqs) ++access_[s];
}

void BackgroundLoop::flush_access() {
  std::unordered_map<long long, int> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(access_);
  }
  if (batch.empty()) return;
  auto tx = core_.host.db().transaction();
  const std::string at = now_iso();
  for (const auto& [seq, n] : batch) {
    sql::exec(tx->session(),
              "UPDATE memory_items SET access_count = access_count + :n, last_accessed_at = :a "
              "WHERE seq = :s",
              {sql::Bind(n), at, sql::Bind(seq)});
  }
  tx->commit();
}

void BackgroundLoop::tick() {
  ++rounds_;
  core_.ensure_index_loaded();
  {
    auto sql = core_.host.db().session();
    if (core_.index->dims() > 0) {
      core_.index->sync_if_stale(*sql, std::chrono::seconds(core_.settings.index_sync_seconds));
    }
  }
  if (core_.flush_learning) core_.flush_learning();
  flush_access();
  // Save when the index changed noticeably, and at least every 60 rounds when it changed at all.
  const std::size_t n = core_.index->size();
  if (n != saved_size_ && (n > saved_size_ + 1000 || rounds_ % 60 == 0)) {
    core_.index->save();
    saved_size_ = n;
  }
  if (rounds_ % 10 == 1) {
    update_kpis(core_);
    if (core_.settings.writes_enabled) {
      auto sql = core_.host.db().session();
      if (!MemoryStore::pending_embeddings(*sql, core_.embedder->model_id(), 1).empty()) {
        core_.host.tasks().enqueue("memory.embed", {.idempotency_key = "memory.embed"});
      }
    }
  }
}

void BackgroundLoop::run() {
  while (true) {
    try {
      tick();
    } catch (const std::exception& e) {
      core_.host.log()->warn("memory: background round failed: {}", e.what());
    }
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; })) return;
  }
}

}  // namespace jarvis::memory
