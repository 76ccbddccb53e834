// memory/state/consistency.h — consistency reports of one thread (or every thread of an owner)
// over a time window (decision 0033): contradictions found, unresolved conflicts, supersession
// chains, items without evidence, and a score. Computed from the state tables, stored in
// memory_consistency_reports, listed and fetched.
//
//   ReportScope s{.owner_id = owner, .thread_id = t, .from_ts = from, .to_ts = to};
//   Json report = compute_report(sql, s);                 // nothing written
//   std::string id = store_report(sql, s, report, "usr_…");
//   Json page = list_reports(sql, who, t, from, to, 50, 0);
#pragma once

#include <optional>
#include <string>

#include <soci/soci.h>

#include "jarvis/json.h"
#include "jarvis/principal.h"

namespace jarvis::memory::state {

/// What a report covers. owner_id "" with all_owners = every owner (an admin's report).
struct ReportScope {
  std::string owner_id;
  bool all_owners = false;
  std::string thread_id;  ///< "" = every thread in scope
  std::string from_ts;    ///< normalised timestamps; from < to
  std::string to_ts;
};

/// Most uids listed per section of a report (the counts are exact).
inline constexpr std::size_t kMaxReportList = 50;

/// The report of `scope`: {thread_id, from_ts, to_ts, items_total, valid_items,
/// contradictions_found {supersessions, conflicts, total}, unresolved_conflicts {count, pairs},
/// supersession_chains {count, longest, chains [[oldest … newest]]}, items_without_evidence
/// {count, uids}, score (1 − conflicted/valid; null without items)}.
Json compute_report(soci::session& sql, const ReportScope& scope);

/// Stores a computed report; returns its id ("mcr_…").
std::string store_report(soci::session& sql, const ReportScope& scope, const Json& report,
                         const std::string& created_by);

/// Stored reports `who` may see (admins all, users their own), newest first, filtered by thread
/// and by overlap with [from_ts, to_ts] (either may be ""), as the list envelope plus
/// `avg_score` (null when no listed report has a score).
Json list_reports(soci::session& sql, const Principal& who, const std::string& thread_id,
                  const std::string& from_ts, const std::string& to_ts, long long limit,
                  long long offset);

/// One stored report if `who` may see it.
std::optional<Json> get_report(soci::session& sql, const Principal& who, const std::string& id);

}  // namespace jarvis::memory::state
