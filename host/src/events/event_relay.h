// host/src/events/event_relay.h — cross-host event delivery on PostgreSQL (LISTEN/NOTIFY).
//
// Every insert into `events` NOTIFYs channel `jarvis_events` with "<event id> <origin>" when its
// transaction commits (trigger in migrations/023_events_notify.postgresql.sql; origin = the
// writer's `jarvis.origin` setting, SqlDatabase::origin()). The relay holds one dedicated libpq
// connection that LISTENs, skips events of its own origin (this process delivered them already),
// reads the others from the table in commit batches and hands each to `deliver` — in
// `jarvis serve`, WsHub::publish, so a /ws client connected to any host sees the events of all
// hosts and of the CLI. Plugin subscribers are not re-run: each host's subscribers see the
// events emitted in that host, exactly once.
//
// With set_live_handler() the same connection also LISTENs on `jarvis_live`: transient pushes
// other hosts sent with pg_notify (live_pushes.h), handed over as their raw payload.
//
// The connection is re-opened with backoff (0.5 s doubling to 10 s) when it drops; events
// committed while it was down are not replayed (the /ws protocol is live-only; the events API
// has the history).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "jarvis/events.h"

namespace jarvis::host {

class SqlDatabase;

class EventRelay {
 public:
  /// `db` must be PostgreSQL and outlive the relay; events whose origin is `db.origin()` are
  /// skipped. `deliver` runs on the relay thread.
  EventRelay(SqlDatabase& db, std::function<void(const jarvis::Event&)> deliver);
  ~EventRelay();  ///< stop()
  EventRelay(const EventRelay&) = delete;
  EventRelay& operator=(const EventRelay&) = delete;

  /// Also LISTEN on `jarvis_live` (transient thread pushes, events/live_pushes.h) and hand each
  /// payload to `handler` on the relay thread. Call before start().
  void set_live_handler(std::function<void(const std::string& payload)> handler);
  /// Starts the listening thread. Returns at once; connection failures are logged and retried.
  void start();
  /// Stops and joins the thread (idempotent).
  void stop();
  /// True once LISTEN is in effect on the current connection (for tests and /readyz detail).
  bool listening() const;
  /// Events handed to `deliver` so far.
  long long relayed() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace jarvis::host
