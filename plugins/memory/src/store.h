// memory/src/store.h — the memory_items table and its neighbours (vectors, full text), on SQLite
// and PostgreSQL through jarvis/sql.h. Every function takes the session to run on, so callers
// choose a plain session or a transaction.
//
//   auto tx = host.db().transaction();
//   jarvis::memory::ItemRef ref = jarvis::memory::MemoryStore::insert(tx->session(), item);
//   tx->commit();
//   jarvis::memory::ItemFilter f{.owner_id = caller.user_id, .thread_id = t};
//   auto hits = jarvis::memory::MemoryStore::fts_candidates(*host.db().session(), dialect,
//                                                          {"cats", "dogs"}, f, 50);
//
// Owner scoping lives in ItemFilter: an empty owner_id means "every owner" and is only for admins
// and system work — routes and tools fill it from the caller.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <soci/soci.h>

#include "jarvis/database.h"
#include "jarvis/json.h"
#include "jarvis/sql.h"

namespace jarvis::memory {

/// A new item, already redacted.
struct NewItem {
  std::string owner_id;
  std::string thread_id;  ///< empty = none
  std::string agent_id;   ///< empty = none
  std::string kind;       ///< user_statement | assistant_answer | remembered
  std::string text;
  std::string source_event_id;    ///< empty = none; unique (event de-duplication)
  std::string source_message_id;  ///< empty = none
  Json evidence_refs = Json::array();
  std::string tier = "working";
  double importance = 0.5;
  std::string valid_from;  ///< empty = now
};

/// The stored item an insert produced or found.
struct ItemRef {
  std::string id;
  long long seq = 0;
  bool duplicate = false;  ///< an identical live item (or the same source event) existed
};

/// Which items a read may see. Empty strings mean "no restriction".
struct ItemFilter {
  std::string owner_id;  ///< empty = every owner (admins, system work)
  std::string thread_id;
  std::string agent_id;
  std::string tier;
  std::string from_ts;  ///< created_at >= from_ts
  std::string to_ts;    ///< created_at <= to_ts
  /// Items valid at this time (valid_from <= as_of < valid_to); empty = currently valid ones.
  std::string as_of;
  bool include_archived = false;
  /// Every validity period (superseded items too), ignoring as_of: exports and stats.
  bool all_versions = false;
};

/// A candidate of one ranking: the item's seq, the ranking's raw score and, when the ranking
/// read it anyway (its visibility check), the item's created_at ("" = not read).
struct Candidate {
  long long seq = 0;
  double score = 0;
  std::string created_at;
};

/// How many full-text rows hold each common word, remembered for a while (decision 0098): the
/// full-text ranking passes them to jarvis_bm25() (jarvis/sql.h) so a search does not walk the
/// long doclists of its common words to compute their idf. Words held by at most the rank budget
/// are counted exactly on every search and never kept here. An entry older than `ttl` is counted
/// again; a stale count moves only that word's idf (log((N − n + ½) / (n + ½)) changes by about
/// the count's relative error). Thread-safe; one per database (SQLite only).
class WordCounts {
 public:
  explicit WordCounts(std::chrono::milliseconds ttl = std::chrono::seconds(60),
                      std::size_t capacity = 4096)
      : ttl_(ttl), capacity_(capacity) {}
  /// The remembered count of `word`, or -1 when there is none younger than the ttl.
  long long get(const std::string& word) const;
  void put(const std::string& word, long long count);
  /// The full-text table's row count (memory_items), remembered like a word's.
  long long rows(soci::session& sql);
  /// Counts computed (misses), for tests.
  long long recounts() const;

 private:
  struct Entry {
    long long count = 0;
    std::chrono::steady_clock::time_point at;
  };
  std::chrono::milliseconds ttl_;
  std::size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  long long recounts_ = 0;
};

/// Store functions (stateless).
class MemoryStore {
 public:
  /// sha256 of owner, thread and the whitespace-collapsed lower-cased text.
  static std::string content_hash(const NewItem& item);
  /// Inserts `item` unless a live item with the same content hash, or the same source event,
  /// exists (then returns that one with duplicate = true).
  static ItemRef insert(soci::session& sql, const NewItem& item);
  /// The item as JSON (without deleted ones unless `include_deleted`), or null.
  static Json get(soci::session& sql, const std::string& id, bool include_deleted = false);
  /// Tombstones a live item: deleted_at = now. False when there is none.
  static bool tombstone(soci::session& sql, const std::string& id);
  /// Full-text candidates for `tokens` (quoted or bound words; see fts_query.h), best first, the
  /// filters applied; bm25 / ts_rank of the OR of the words over a bounded number of ranked rows
  /// (fts_candidates.cpp, decision 0073). On SQLite, `counts` remembers the common words' row
  /// counts for jarvis_bm25 (decision 0098); without it every count is walked, as bm25() does.
  static std::vector<Candidate> fts_candidates(soci::session& sql, Dialect dialect,
                                               const std::vector<std::string>& tokens,
                                               const ItemFilter& filter, int limit,
                                               WordCounts* counts = nullptr);
  /// Newest visible items first (score = 0; created_at filled).
  static std::vector<Candidate> recency_candidates(soci::session& sql, const ItemFilter& filter,
                                                   int limit);
  /// The visible items among `seqs`, as JSON keyed in the same order (missing = filtered out).
  static std::vector<Json> rows_by_seq(soci::session& sql, const std::vector<long long>& seqs,
                                       const ItemFilter& filter);
  /// The visible items among `seqs` as (seq, created_at), in the same order — the cheap form of
  /// rows_by_seq for ranking (search loads full rows only for the hits it returns). Like
  /// rows_by_seq, the IN list is padded to a power of two (the last seq repeated), so the SQL text
  /// takes one of a few shapes and the session's statement cache reuses its compiled statement.
  static std::vector<std::pair<long long, std::string>> visible_times(
      soci::session& sql, const std::vector<long long>& seqs, const ItemFilter& filter);
  /// Number of visible items.
  static long long count(soci::session& sql, const ItemFilter& filter);
  /// Number of visible items, counting at most `cap` (cheap for large sets).
  static long long count_at_most(soci::session& sql, const ItemFilter& filter, long long cap);
  /// Vectors of up to `limit` visible items (for exact search under selective filters).
  static std::vector<std::pair<long long, std::string>> vectors_of(soci::session& sql,
                                                                   const ItemFilter& filter,
                                                                   const std::string& model,
                                                                   int limit);
  /// Live items that have no vector of `model` yet: {seq, text}, oldest first.
  static std::vector<std::pair<long long, std::string>> pending_embeddings(soci::session& sql,
                                                                           const std::string& model,
                                                                           int limit);
  /// Upserts the vector of item `seq`.
  static void put_vector(soci::session& sql, long long seq, const std::string& model, int dims,
                         const std::string& encoded);
  /// Vectors of `model` updated at or after `since` (ISO), oldest first: {seq, updated_at,
  /// encoded}.
  struct VectorRow {
    long long seq;
    std::string updated_at;
    std::string encoded;
  };
  static std::vector<VectorRow> vectors_since(soci::session& sql, const std::string& model,
                                              const std::string& since, long long after_seq,
                                              int limit);
  /// Bumps access_count and last_accessed_at of the items.
  static void record_access(soci::session& sql, const std::vector<long long>& seqs);
  /// Purges items tombstoned before `before` (rows, full text, vectors). Returns {count, seqs}.
  static std::vector<long long> purge(soci::session& sql, const std::string& before, int limit);
  /// {total_items, embedded_items, embedding_coverage_pct, archived_items, deleted_items, tiers}
  static Json stats(soci::session& sql, const ItemFilter& filter, const std::string& model);
  /// Items for export, oldest first (archived included; deleted never).
  static Json export_items(soci::session& sql, const ItemFilter& filter, long long after_seq,
                           int limit);
  /// Appends the WHERE conditions of `filter` on alias `m` (each starting with " AND ").
  /// `by_seq`: the rows are already chosen by seq (a lookup), so the filter columns are wrapped
  /// (`col || ''`) to keep SQLite's planner (no ANALYZE statistics) from scanning an owner index.
  static void append_filter(std::string& q, std::vector<jarvis::sql::Bind>& b,
                            const ItemFilter& filter, bool by_seq = false);
};

}  // namespace jarvis::memory
