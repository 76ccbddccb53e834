// host/src/db/transaction.cpp — a unit of work on the host database (see transaction.h).
#include "db/transaction.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "db/sql_database.h"
#include "jarvis/error.h"

namespace jarvis::host {
namespace {

// Databases on which this thread has a transaction open.
thread_local std::vector<const jarvis::Database*> t_open;

void forget(const jarvis::Database* db) {
  auto it = std::find(t_open.begin(), t_open.end(), db);
  if (it != t_open.end()) t_open.erase(it);
}

}  // namespace

HostTransaction::HostTransaction(SqlDatabase& db, std::chrono::milliseconds timeout)
    : db_(db), thread_(std::this_thread::get_id()) {
  refuse_if_open(db, "transaction()");
  auto started = std::chrono::steady_clock::now();
  session_ = db.session(timeout);  // first the session, then the gate: no lock held while waiting
  auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  gate_ = sqlite_write_gate(db, std::max(std::chrono::milliseconds(0), timeout - spent));
  tx_.emplace(*session_, db.dialect());
  open_ = true;
  t_open.push_back(&db);
}

HostTransaction::~HostTransaction() {
  if (open_ && std::this_thread::get_id() != thread_) {
    spdlog::error("a database transaction was destroyed on another thread than its own");
  }
  finish();
}

soci::session& HostTransaction::session() {
  if (!open_) {
    throw jarvis::Error(409, "transaction_closed",
                        "the transaction was already committed or "
                        "rolled back");
  }
  return *session_;
}

void HostTransaction::finish() {
  if (open_) forget(&db_);
  open_ = false;
  tx_.reset();  // rolls back unless committed
  gate_.release();
  session_.reset();
}

void HostTransaction::commit() {
  if (!open_) {
    throw jarvis::Error(409, "transaction_closed",
                        "the transaction was already committed or "
                        "rolled back");
  }
  if (std::this_thread::get_id() != thread_) {
    throw jarvis::Error(500, "transaction_thread",
                        "a transaction must be committed on the thread that opened it");
  }
  try {
    tx_->commit();
  } catch (...) {
    after_commit_.clear();
    finish();
    throw;
  }
  finish();
  auto hooks = std::move(after_commit_);
  after_commit_.clear();
  for (auto& fn : hooks) {
    try {
      fn();
    } catch (const std::exception& e) {
      spdlog::error("after-commit work failed: {}", e.what());
    } catch (...) {
      spdlog::error("after-commit work failed: unknown exception");
    }
  }
}

void HostTransaction::rollback() {
  after_commit_.clear();
  finish();
}

void HostTransaction::after_commit(std::function<void()> fn) {
  if (!open_) {
    throw jarvis::Error(409, "transaction_closed",
                        "the transaction was already committed or "
                        "rolled back");
  }
  after_commit_.push_back(std::move(fn));
}

HostTransaction& HostTransaction::from(jarvis::Transaction& tx, const jarvis::Database& db) {
  HostTransaction& h = from(tx);
  if (static_cast<const jarvis::Database*>(&h.db_) != &db) {
    throw jarvis::Error(400, "invalid_transaction", "the transaction belongs to another database");
  }
  return h;
}

HostTransaction& HostTransaction::from(jarvis::Transaction& tx) {
  auto* h = dynamic_cast<HostTransaction*>(&tx);
  if (!h) {
    throw jarvis::Error(400, "invalid_transaction",
                        "the transaction was not opened by host.db().transaction()");
  }
  if (!h->open_) {
    throw jarvis::Error(400, "invalid_transaction",
                        "the transaction was already committed or rolled back");
  }
  return *h;
}

bool HostTransaction::open_on_this_thread(const jarvis::Database& db) {
  return std::find(t_open.begin(), t_open.end(), &db) != t_open.end();
}

void HostTransaction::refuse_if_open(const jarvis::Database& db, const char* what) {
  if (!open_on_this_thread(db)) return;
  throw jarvis::Error(500, "transaction_open",
                      std::string(what) +
                          " while this thread has a transaction open on the host database: use "
                          "the transaction (tx.session(), emit(event, tx), enqueue(name, options, "
                          "tx)) or commit first");
}

}  // namespace jarvis::host
