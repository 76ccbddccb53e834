// sdk/src/sql.cpp — see jarvis/sql.h. Statements run one-shot, or through the session's cache
// of prepared statements when the host gave it one (decision 0087).
#include "jarvis/sql.h"

#include <soci/sqlite3/soci-sqlite3.h>
#include <soci/version.h>

#include <atomic>
#include <cctype>
#include <cstdint>
#include <exception>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace jarvis::sql {
namespace {

void bind_all(soci::statement& st, Binds& binds) {
  for (auto& b : binds) {
    if (b.is_int) {
      st.exchange(soci::use(b.integer, b.indicator));
    } else {
      st.exchange(soci::use(b.text, b.indicator));
    }
  }
}

// One prepared statement and the storage its binds point at (soci binds by reference).
struct CachedStatement {
  std::string key;
  Binds binds;
  soci::row row;
  std::unique_ptr<soci::statement> st;
  bool busy = false;  // executing now (a nested use of the same SQL runs one-shot)
};

// The prepared statements of one session, least recently used last. Used only by the thread
// that holds the session, so it needs no lock of its own.
class StatementCache {
 public:
  explicit StatementCache(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  CachedStatement* find(const std::string& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->get();
  }

  void insert(std::unique_ptr<CachedStatement> entry) {
    lru_.push_front(std::move(entry));
    index_[lru_.front()->key] = lru_.begin();
    auto it = lru_.end();
    while (lru_.size() > capacity_ && it != lru_.begin()) {
      --it;
      if ((*it)->busy) continue;
      index_.erase((*it)->key);
      it = lru_.erase(it);
    }
  }

  void erase(const std::string& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return;
    lru_.erase(it->second);
    index_.erase(it);
  }

  std::size_t size() const { return lru_.size(); }

 private:
  std::size_t capacity_;
  std::list<std::unique_ptr<CachedStatement>> lru_;
  std::unordered_map<std::string, std::list<std::unique_ptr<CachedStatement>>::iterator> index_;
};

std::mutex g_caches_mu;
std::unordered_map<const soci::session*, std::unique_ptr<StatementCache>> g_caches;
// Bumped by every enable/disable: a thread's memo of its last look-up is valid while it matches.
std::atomic<std::uint64_t> g_caches_generation{1};

struct CacheMemo {
  const soci::session* session = nullptr;
  StatementCache* cache = nullptr;
  std::uint64_t generation = 0;
};
thread_local CacheMemo t_cache_memo;

StatementCache* cache_of(const soci::session& sql) {
  std::uint64_t gen = g_caches_generation.load(std::memory_order_acquire);
  if (t_cache_memo.session == &sql && t_cache_memo.generation == gen) return t_cache_memo.cache;
  std::lock_guard lock(g_caches_mu);
  auto it = g_caches.find(&sql);
  t_cache_memo = {&sql, it == g_caches.end() ? nullptr : it->second.get(),
                  g_caches_generation.load(std::memory_order_acquire)};
  return t_cache_memo.cache;
}

sqlite_api::sqlite3_stmt* sqlite_handle(soci::statement& st) {
  return static_cast<soci::sqlite3_statement_backend*>(st.get_backend())->stmt_;
}

// True when reusing the statement reads every column as a fresh statement would. SOCI 4.0 types
// an undeclared column (an expression: COUNT(*), MAX(x)) as text whatever its value, before any
// row, so reuse changes nothing. Later SOCI versions step the statement once and type such a
// column from its first row; a reused statement would keep that type (a MAX() that was NULL once
// would read as text for good), so there only statements whose columns all have declared types
// are cached.
bool result_types_declared(soci::statement& st) {
#if SOCI_VERSION < 400100
  (void)st;
  return true;
#endif
  sqlite_api::sqlite3_stmt* h = sqlite_handle(st);
  int n = sqlite_api::sqlite3_column_count(h);
  for (int i = 0; i < n; ++i) {
    if (sqlite_api::sqlite3_column_decltype(h, i) == nullptr) return false;
  }
  return true;
}

std::string cache_key(const std::string& query, const Binds& binds, bool with_row) {
  std::string key;
  key.reserve(query.size() + binds.size() + 2);
  key += with_row ? 'r' : 'x';
  for (const auto& b : binds) key += b.is_int ? 'i' : 't';
  key += '\n';
  key += query;
  return key;
}

// Runs `use(statement, row)` on a statement for `query` with `binds`: the session's cached one
// when it has a cache (prepared on first use), else a one-shot statement bound to `binds`
// directly. `with_row` statements get their result row bound.
template <class Use>
auto with_statement(soci::session& sql, const std::string& query, Binds& binds, bool with_row,
                    Use&& use) {
  StatementCache* cache = cache_of(sql);
  CachedStatement* entry = nullptr;
  std::string key;
  if (cache) {
    key = cache_key(query, binds, with_row);
    entry = cache->find(key);
    if (entry && entry->busy) {
      cache = nullptr;  // the same SQL inside its own row callback: run this one one-shot
      entry = nullptr;
    }
  }
  if (!cache) {
    soci::row row;
    soci::statement st(sql);
    bind_all(st, binds);
    if (with_row) st.exchange(soci::into(row));
    st.alloc();
    st.prepare(query, soci::details::st_one_time_query);
    st.define_and_bind();
    return use(st, row);
  }
  std::unique_ptr<CachedStatement> fresh;
  if (entry) {
    for (std::size_t i = 0; i < binds.size(); ++i) {
      Bind& to = entry->binds[i];
      to.text = binds[i].text;
      to.integer = binds[i].integer;
      to.indicator = binds[i].indicator;
    }
  } else {
    fresh = std::make_unique<CachedStatement>();
    fresh->key = key;
    fresh->binds = binds;
    fresh->st = std::make_unique<soci::statement>(sql);
    bind_all(*fresh->st, fresh->binds);
    if (with_row) fresh->st->exchange(soci::into(fresh->row));
    fresh->st->alloc();
    fresh->st->prepare(query);
    fresh->st->define_and_bind();
    entry = fresh.get();
  }
  bool keep = !fresh || result_types_declared(*entry->st);
  entry->busy = true;
  try {
    auto result = use(*entry->st, entry->row);
    // Ends the statement's read (and, for an unfinished write, its implicit transaction) now,
    // not at its next use.
    sqlite_api::sqlite3_reset(sqlite_handle(*entry->st));
    entry->busy = false;
    if (fresh && keep) cache->insert(std::move(fresh));
    return result;
  } catch (...) {
    // Whatever state SOCI left the statement in, it is not reused.
    if (!fresh) cache->erase(key);
    throw;
  }
}

}  // namespace

void enable_statement_cache(soci::session& sql, std::size_t capacity) {
  if (sql.get_backend() == nullptr || sql.get_backend_name() != "sqlite3") return;
  std::lock_guard lock(g_caches_mu);
  g_caches[&sql] = std::make_unique<StatementCache>(capacity);
  g_caches_generation.fetch_add(1, std::memory_order_acq_rel);
}

void disable_statement_cache(soci::session& sql) noexcept {
  std::unique_ptr<StatementCache> gone;
  {
    std::lock_guard lock(g_caches_mu);
    auto it = g_caches.find(&sql);
    if (it == g_caches.end()) return;
    gone = std::move(it->second);
    g_caches.erase(it);
    g_caches_generation.fetch_add(1, std::memory_order_acq_rel);
  }
  // `gone` finalizes its statements here, outside the lock.
}

std::size_t cached_statements(soci::session& sql) {
  StatementCache* cache = cache_of(sql);
  return cache ? cache->size() : 0;
}

Bind Bind::null() {
  Bind b{std::string()};
  b.indicator = soci::i_null;
  return b;
}

Json column(const soci::row& row, std::size_t i) {
  if (row.get_indicator(i) == soci::i_null) return nullptr;
  switch (row.get_properties(i).get_data_type()) {
    case soci::dt_string:
    case soci::dt_blob:
    case soci::dt_xml:
      return row.get<std::string>(i);
    case soci::dt_integer:
      return row.get<int>(i);
    case soci::dt_long_long:
      return row.get<long long>(i);
    case soci::dt_unsigned_long_long:
      return static_cast<long long>(row.get<unsigned long long>(i));
    case soci::dt_double:
      return row.get<double>(i);
    default:
      return nullptr;
  }
}

long long column_int(const soci::row& row, std::size_t i) {
  Json v = column(row, i);
  if (v.is_number_integer()) return v.get<long long>();
  if (v.is_number()) return static_cast<long long>(v.get<double>());
  if (v.is_string()) {
    try {
      return std::stoll(v.get<std::string>());
    } catch (const std::exception&) {
      return 0;
    }
  }
  return 0;
}

Json row_json(const soci::row& row) {
  Json j = Json::object();
  for (std::size_t i = 0; i < row.size(); ++i) {
    std::string name = row.get_properties(i).get_name();
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    j[name] = column(row, i);
  }
  return j;
}

std::size_t for_each_row(soci::session& sql, const std::string& query, Binds& binds,
                         const std::function<void(const soci::row&)>& on_row) {
  return with_statement(sql, query, binds, true, [&](soci::statement& st, soci::row& row) {
    std::size_t n = 0;
    if (!st.execute(true)) return n;
    do {
      ++n;
      on_row(row);
    } while (st.fetch());
    return n;
  });
}

long long exec(soci::session& sql, const std::string& query, Binds binds) {
  return with_statement(sql, query, binds, false, [](soci::statement& st, soci::row&) {
    st.execute(true);
    return st.get_affected_rows();
  });
}

Json one_row(soci::session& sql, const std::string& query, Binds binds) {
  Json out = nullptr;
  for_each_row(sql, query, binds, [&](const soci::row& r) {
    if (out.is_null()) out = row_json(r);
  });
  return out;
}

Json all_rows(soci::session& sql, const std::string& query, Binds binds) {
  Json out = Json::array();
  for_each_row(sql, query, binds, [&](const soci::row& r) { out.push_back(row_json(r)); });
  return out;
}

long long scalar_int(soci::session& sql, const std::string& query, Binds binds) {
  long long out = 0;
  bool first = true;
  for_each_row(sql, query, binds, [&](const soci::row& r) {
    if (first) out = column_int(r, 0);
    first = false;
  });
  return out;
}

}  // namespace jarvis::sql
