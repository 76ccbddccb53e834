// host/src/db/sql_access.cpp — write transactions and column readers (see sql_access.h).
#include "db/sql_access.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <vector>

#include <spdlog/spdlog.h>

#include "jarvis/error.h"

namespace jarvis::host {

namespace {

// The gates this thread holds (normally none or one).
thread_local std::vector<const void*> t_held_gates;

void forget_held(const void* db) {
  auto it = std::find(t_held_gates.begin(), t_held_gates.end(), db);
  if (it != t_held_gates.end()) t_held_gates.erase(it);
}

}  // namespace

WriteGate::WriteGate(WriteGate&& other) noexcept : mutex_(other.mutex_), db_(other.db_) {
  other.mutex_ = nullptr;
  other.db_ = nullptr;
}

WriteGate& WriteGate::operator=(WriteGate&& other) noexcept {
  if (this != &other) {
    release();
    mutex_ = other.mutex_;
    db_ = other.db_;
    other.mutex_ = nullptr;
    other.db_ = nullptr;
  }
  return *this;
}

WriteGate::~WriteGate() { release(); }

void WriteGate::release() {
  if (!mutex_) return;
  forget_held(db_);
  mutex_->unlock();
  mutex_ = nullptr;
  db_ = nullptr;
}

bool holds_write_gate(const jarvis::Database& db) {
  return std::find(t_held_gates.begin(), t_held_gates.end(), &db) != t_held_gates.end();
}

WriteGate sqlite_write_gate(const jarvis::Database& db, std::chrono::milliseconds wait) {
  WriteGate gate;
  if (db.dialect() != jarvis::Dialect::Sqlite) return gate;
  if (holds_write_gate(db)) {
    throw jarvis::Error(500, "transaction_open",
                        "this thread holds an open transaction on the host database: write "
                        "through it (emit(event, tx), enqueue(name, options, tx)) or commit first");
  }
  static std::mutex registry_mu;
  static std::map<const void*, std::unique_ptr<std::timed_mutex>> gates;  // one per database
  std::timed_mutex* m;
  {
    std::lock_guard lock(registry_mu);
    auto& slot = gates[&db];
    if (!slot) slot = std::make_unique<std::timed_mutex>();
    m = slot.get();
  }
  if (wait == std::chrono::milliseconds::max()) {
    m->lock();
  } else if (!m->try_lock_for(wait)) {
    throw jarvis::Error(503, "database_busy",
                        "the database write lock stayed taken for " + std::to_string(wait.count()) +
                            " ms (JARVIS_DB_SESSION_TIMEOUT_MS); retry shortly");
  }
  gate.mutex_ = m;
  gate.db_ = &db;
  t_held_gates.push_back(&db);
  return gate;
}

WriteTx::WriteTx(soci::session& sql, jarvis::Dialect dialect) : sql_(sql), dialect_(dialect) {
  if (dialect_ == jarvis::Dialect::Sqlite) {
    sql_ << "BEGIN IMMEDIATE";
  } else {
    sql_.begin();
  }
  open_ = true;
}

WriteTx::~WriteTx() {
  if (!open_) return;
  try {
    if (dialect_ == jarvis::Dialect::Sqlite) {
      sql_ << "ROLLBACK";
    } else {
      sql_.rollback();
    }
  } catch (const std::exception& e) {
    spdlog::warn("rollback failed: {}", e.what());
  }
}

void WriteTx::commit() {
  if (dialect_ == jarvis::Dialect::Sqlite) {
    sql_ << "COMMIT";
  } else {
    sql_.commit();
  }
  open_ = false;
}

Binds& Binds::text(std::string v) {
  items_.emplace_back(std::move(v));
  return *this;
}

Binds& Binds::maybe_text(std::optional<std::string> v) {
  if (v) return text(std::move(*v));
  items_.push_back(jarvis::sql::Bind::null());
  return *this;
}

Binds& Binds::integer(long long v) {
  items_.emplace_back(v);
  return *this;
}

Binds& Binds::maybe_integer(std::optional<long long> v) {
  if (v) return integer(*v);
  jarvis::sql::Bind null_int(0LL);
  null_int.indicator = soci::i_null;
  items_.push_back(std::move(null_int));
  return *this;
}

long long exec_sql(soci::session& sql, const std::string& query, Binds& binds) {
  return jarvis::sql::exec(sql, query, binds.values());
}

void query_sql(soci::session& sql, const std::string& query, Binds& binds,
               const std::function<void(const soci::row&)>& on_row) {
  jarvis::sql::for_each_row(sql, query, binds.values(), on_row);
}

std::optional<std::string> column_text(const soci::row& row, std::size_t i) {
  if (row.get_indicator(i) == soci::i_null) return std::nullopt;
  switch (row.get_properties(i).get_data_type()) {
    case soci::dt_string:
    case soci::dt_xml:
    case soci::dt_blob:
      return row.get<std::string>(i);
    case soci::dt_integer:
      return std::to_string(row.get<int>(i));
    case soci::dt_long_long:
      return std::to_string(row.get<long long>(i));
    case soci::dt_unsigned_long_long:
      return std::to_string(row.get<unsigned long long>(i));
    case soci::dt_double: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", row.get<double>(i));
      return std::string(buf);
    }
    case soci::dt_date: {
      std::tm tm = row.get<std::tm>(i);
      char buf[64];
      std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
      return std::string(buf);
    }
  }
  return std::nullopt;
}

long long column_int(const soci::row& row, std::size_t i, long long fallback) {
  if (row.get_indicator(i) == soci::i_null) return fallback;
  switch (row.get_properties(i).get_data_type()) {
    case soci::dt_integer:
      return row.get<int>(i);
    case soci::dt_long_long:
      return row.get<long long>(i);
    case soci::dt_unsigned_long_long:
      return static_cast<long long>(row.get<unsigned long long>(i));
    case soci::dt_double:
      return static_cast<long long>(row.get<double>(i));
    default: {
      auto text = column_text(row, i);
      if (!text) return fallback;
      long long v = 0;
      auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
      if (ec != std::errc() || p != text->data() + text->size()) return fallback;
      return v;
    }
  }
}

jarvis::Json json_or_text(const std::string& text) {
  auto j = jarvis::try_parse_json(text);  // bounded depth: stored text came from callers
  if (!j) return jarvis::Json(text);
  return std::move(*j);
}

jarvis::Json json_or_null(const std::optional<std::string>& v) {
  return v ? jarvis::Json(*v) : jarvis::Json(nullptr);
}

std::string rows_sql(std::size_t rows, const std::string& pattern, jarvis::Dialect dialect) {
  std::string out;
  out.reserve(rows * (pattern.size() + 2));
  std::size_t n = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    if (r) out += ", ";
    for (char ch : pattern) {
      if (ch == '?' && dialect == jarvis::Dialect::Postgresql) {
        out += ":p" + std::to_string(n++);
      } else {
        out += ch;
      }
    }
  }
  return out;
}

bool analyze_if_stale(jarvis::Database& db, const std::string& table) {
  if (db.dialect() != jarvis::Dialect::Postgresql) return false;
  auto session = db.session();
  soci::session& sql = *session;
  Binds b;
  b.text(table);
  bool stale = false;
  query_sql(sql,
            "SELECT CASE WHEN s.n_mod_since_analyze > 500 + 0.1 * GREATEST(c.reltuples, 0) THEN 1 "
            "ELSE 0 END FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid WHERE "
            "s.relid = to_regclass(:t)",
            b, [&](const soci::row& r) { stale = column_int(r, 0) == 1; });
  if (!stale) return false;
  Binds none;
  exec_sql(sql, "ANALYZE " + table, none);
  return true;
}

}  // namespace jarvis::host
