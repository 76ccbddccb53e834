// memory/state/state_store.h — the rows of structured state (migration 002): items, relations,
// the review queue, extraction runs and pending messages. Plain SQL on a soci::session — the
// caller decides the transaction (a task's tx->session(), a route's session()).
//
//   StateItem it = StateItem::from_row(row);
//   if (auto old = state_store::get_item(sql, uid)) { … }
//   state_store::insert_item(sql, item);
//   state_store::add_relation(sql, {.source_uid = a, .target_uid = b, .relation_type =
//   "supersedes"});
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <soci/soci.h>

#include "jarvis/json.h"

namespace jarvis::memory::state {

/// One row of memory_state_items.
struct StateItem {
  std::string uid;
  std::string type;  ///< type_tag
  std::string owner_id;
  std::string thread_id;
  std::string agent_id;
  std::string text;
  std::string status;
  std::string confidence = "low";
  std::string tier = "working";
  Json topic_tags = Json::array();
  Json refs = Json::array();
  std::string source;  ///< model | rules | failure_bridge | review
  bool conflict = false;
  long long merge_count = 0;
  std::string superseded_by;  ///< empty = NULL
  std::string valid_from;
  std::string valid_to;   ///< empty = NULL (still true)
  std::string signature;  ///< failure items; empty = NULL
  long long occurrences = 1;
  std::string trace_id;
  bool unsupported = false;
  std::string created_at;
  std::string updated_at;
  std::string last_seen_at;

  /// The item from a row of `SELECT * FROM memory_state_items` read with jarvis::sql.
  static StateItem from_row(const Json& row);
  /// The API form: every column, JSON columns parsed, NULLs as null.
  Json to_json() const;
};

/// One edge of the state graph (memory_state_relations).
struct StateRelation {
  std::string source_uid;
  std::string target_uid;
  std::string relation_type;
  std::string owner_id;
  std::string thread_id;
  Json evidence = Json::object();
};

/// One row of memory_review_queue.
struct ReviewRow {
  std::string uid;
  std::string other_uid;
  std::string owner_id;
  std::string thread_id;
  std::string agent_id;
  std::string reason;
  double score = 0;
};

/// How the candidates of one extraction run ended (memory_state_runs).
struct RunCounts {
  long long messages = 0;
  long long candidates = 0;
  long long inserted = 0;
  long long merged = 0;
  long long superseded = 0;
  long long conflicted = 0;
  long long dropped = 0;
  long long unsupported = 0;
  /// As JSON, for events and task results.
  Json to_json() const;
};

/// A message waiting for extraction (memory_state_pending).
struct PendingMessage {
  std::string message_id;
  std::string owner_id;
  std::string thread_id;
  std::string agent_id;
  std::string role;  ///< user | assistant | tool | system
  std::string text;
  std::string message_at;
};

namespace state_store {

/// Column `key` of a jarvis::sql row as text ("" for NULL or absent; numbers printed).
std::string row_text(const Json& row, const char* key);
/// Column `key` as an integer (0 for NULL, absent or unparsable text).
long long row_int(const Json& row, const char* key);
/// Column `key` holding JSON text, parsed; `fallback` when NULL, empty or not JSON.
Json json_column(const Json& row, const char* key, Json fallback);

/// The item `uid`, or nullopt.
std::optional<StateItem> get_item(soci::session& sql, const std::string& uid);
/// The failure item with `signature`, or nullopt.
std::optional<StateItem> item_by_signature(soci::session& sql, const std::string& signature);
/// Items of `type` in (owner, thread) that are still valid (valid_to NULL), newest first.
std::vector<StateItem> active_items(soci::session& sql, const std::string& owner_id,
                                    const std::string& thread_id, const std::string& type,
                                    long long limit);
/// Items of every type in (owner, thread) that are still valid, newest first (the model's
/// context).
std::vector<StateItem> active_items_any(soci::session& sql, const std::string& owner_id,
                                        const std::string& thread_id, long long limit);
/// Inserts a new item (created_at/updated_at/last_seen_at filled when empty).
void insert_item(soci::session& sql, StateItem item);
/// Writes every mutable column of an existing item (text, status, confidence, tier, tags, refs,
/// conflict, merge_count, superseded_by, valid_to, occurrences, trace_id, unsupported,
/// last_seen_at) and sets updated_at to now.
void update_item(soci::session& sql, const StateItem& item);

/// Adds an edge unless the same (source, target, type) exists; true when it was added.
bool add_relation(soci::session& sql, const StateRelation& rel);
/// The item uid that `alias` was merged into (a merged_into edge), or "".
std::string merged_alias_target(soci::session& sql, const std::string& alias);

/// True when a queue row for the pair exists in either direction, open or resolved.
bool review_pair_known(soci::session& sql, const std::string& a, const std::string& b);
/// Adds an open queue row; false when the pair was already known (see review_pair_known).
bool add_review(soci::session& sql, const ReviewRow& row);
/// Open queue rows that name `uid` (as uid or other_uid).
Json open_reviews_for(soci::session& sql, const std::string& uid);
/// Number of open queue rows naming `uid`.
long long open_review_count(soci::session& sql, const std::string& uid);

/// Records one extraction run; returns its id.
std::string insert_run(soci::session& sql, const std::string& owner_id,
                       const std::string& thread_id, const std::string& method,
                       const std::string& note, const RunCounts& counts);

/// Adds a pending message (ignored when its id is already pending).
void add_pending(soci::session& sql, const PendingMessage& m);
/// The oldest `limit` pending messages of a thread.
std::vector<PendingMessage> pending_for_thread(soci::session& sql, const std::string& thread_id,
                                               long long limit);
/// Deletes the given pending messages; returns how many rows went (fewer = another run took
/// them first).
long long take_pending(soci::session& sql, const std::vector<PendingMessage>& messages);

}  // namespace state_store
}  // namespace jarvis::memory::state
