// memory/state/state_queries.h — what the state routes and the CLI read and resolve: search
// (with time travel), the review queue and its resolution, stats, failures and the graph. Every
// read is scoped to a Principal: admins see everything, a user only items they own; system
// items (owner '') are admin-only.
//
//   Json page = search_state(sql, who, {.q = "database", .as_of = "2026-11-01"});
//   Json done = resolve_review(sql, {.uid = uid, .reviewer = "root", .note = "checked"});
//   Json g = state_graph(sql, who, uid, 2);
#pragma once

#include <optional>
#include <string>

#include <soci/soci.h>

#include "jarvis/events.h"
#include "jarvis/json.h"
#include "jarvis/principal.h"
#include "state/state_settings.h"

namespace jarvis::memory::state {

/// "2026-11-01", "2026-11-01T10:00:00Z", "…T10:00:00.123Z" (or +00:00) → the fixed-width
/// jarvis::now_iso() form; nullopt for anything else.
std::optional<std::string> normalize_timestamp(const std::string& text);

/// Filters of GET /api/v1/memory/state/search.
struct StateSearch {
  std::string q;          ///< plain text (never query syntax); ranked by word overlap
  std::string thread_id;  ///< "" = every thread the caller may see
  std::string type;       ///< "" = every type (the original's decision-only default was a bug)
  std::string status;
  std::string as_of;  ///< normalised timestamp: items valid at that time ("what was true")
  bool include_superseded = false;  ///< also items no longer valid (ignored with as_of)
  long long limit = 20;
  long long offset = 0;
};

/// The list envelope of matching items (each with `score` when `q` is set).
Json search_state(soci::session& sql, const Principal& who, const StateSearch& s);

/// The item `uid` if `who` may see it.
std::optional<Json> visible_item(soci::session& sql, const Principal& who, const std::string& uid);

/// Open review-queue rows (oldest first) with both items, as the list envelope. Admin surface.
Json list_conflicts(soci::session& sql, long long limit, long long offset);

/// One resolution (POST …/review/{uid}/resolve, `jarvis memory review --resolve`).
struct Resolution {
  std::string uid;
  std::string reviewer;  ///< who resolved ("usr_…", "cli:<user>")
  std::string note;      ///< the operator's rationale (the route's `resolution`)
  /// keep_both (default) | supersede (uid replaces the items it conflicts with) | retract (uid
  /// was wrong: it ends, the others stay) | unsupported (retract, and record the claim as
  /// unsupported — counted by memory_hallucination_incidents).
  std::string decision = "keep_both";
};

/// The outcome of resolve_review, and the events to emit with it.
struct Resolved {
  Json body;
  std::vector<jarvis::Event> events;
};

/// Resolves every open queue row naming `r.uid`: records reviewer, note, decision and time,
/// applies the decision, and clears the conflict flag of each item left without open rows. A
/// resolved pair is never queued again (add_review refuses known pairs). Throws 404
/// `state_item_not_found` for an unknown uid and 409 `no_open_conflict` when nothing is open.
/// Run it inside a transaction.
Resolved resolve_review(soci::session& sql, const StateSettings& settings, const Resolution& r);

/// Counts by type, status and tier, superseded, open conflicts, failures, relations — of what
/// `who` may see.
Json state_stats(soci::session& sql, const Principal& who, const StateSettings& settings);

/// Filters of GET /api/v1/memory/state/failures.
struct FailureSearch {
  std::string similar_to;  ///< ranks by word overlap with this text
  std::string status;      ///< open | resolved
  std::string phase;       ///< task | model | tool | claim
  std::string trace_id;
  long long limit = 20;
  long long offset = 0;
};

/// Failure items `who` may see (newest occurrence first, or most similar first), as the list
/// envelope.
Json search_failures(soci::session& sql, const Principal& who, const FailureSearch& f);

/// Most nodes / edges state_graph returns (`truncated` beyond).
inline constexpr std::size_t kMaxGraphNodes = 200;
inline constexpr std::size_t kMaxGraphEdges = 500;

/// The relations around `uid` up to `depth` (1 … 5) hops: {root_uid, depth, nodes, edges
/// [{source_uid, target_uid, relation_type, depth, evidence}], truncated}. Throws 404
/// `state_item_not_found` when `who` may not see the root.
Json state_graph(soci::session& sql, const Principal& who, const std::string& uid, int depth);

}  // namespace jarvis::memory::state
