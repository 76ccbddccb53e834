// jarvis/event_log.h — the event store read in time order, for host work: a plugin that learns
// from events in batches through EventBus::subscribe() reads back what it may have missed (a
// restart between an event's commit and its batch, events of CLI processes and other hosts).
//
//   std::string from = cursor_minus_overlap;                       // ISO-8601 UTC
//   for (const jarvis::Event& e : jarvis::events_since(host.db(), "message.new", from, 500)) {
//     if (!already_learned(e.id)) learn(e);                          // de-duplicate on the id
//   }
//
// Events of one millisecond (created_at has millisecond resolution) are put in the order they were
// stored with jarvis::event_order:
//
//   std::map<std::string, long long> at = jarvis::event_order(host.db(), {a.id, b.id});
//   bool a_first = at[a.id] < at[b.id];
//
// Every owner's events (never a user's view: use EventBus::trace or the events API for that),
// payloads redacted as stored. A transaction's events may become visible a little after events
// stamped later (created_at is set before the commit): read with an overlap.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "jarvis/database.h"
#include "jarvis/events.h"
#include "jarvis/version.h"

namespace jarvis {

/// Stored events of type `type` (exact) created at or after `from_created_at` (jarvis::now_iso()
/// form; "" = the oldest), oldest first (created_at, then insertion order), at most `limit`
/// (1 … kMaxTraceEvents). Reads `db` (the host database, Host::db()); throws its errors.
JARVIS_API std::vector<Event> events_since(Database& db, const std::string& type,
                                           const std::string& from_created_at, std::size_t limit);

/// The insertion order of the stored events among `ids`: id → a number that grows with every
/// stored event (SQLite's rowid, PostgreSQL's `seq` column of migration 022), so events with the
/// same created_at can be ordered as they were stored. Ids not stored are absent. At most
/// kMaxTraceEvents ids are looked up (the rest are absent). Reads `db` (Host::db()).
JARVIS_API std::map<std::string, long long> event_order(Database& db,
                                                        const std::vector<std::string>& ids);

}  // namespace jarvis
