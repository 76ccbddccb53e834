// hello/src/outbox.h — notes written together with their event in one transaction (the outbox),
// a durable subscriber that records each note once per event id, and live pushes to a thread.
#pragma once

#include "jarvis/jarvis.h"

namespace hello {

/// Registers, all backed by migrations/002_notes.sql:
/// - `POST /api/v1/hello/notes {"text"}` and `jarvis hello note TEXT`: one transaction stores the
///   note row and emits `hello.noted {note_id}`; the text "fail-after-emit" throws after the emit
///   (400 `note_refused`), so nothing of it is kept — no row, no event, no task.
/// - durable subscription `hello.noted` → internal task `hello.note_receipt`, which upserts
///   `hello_receipts(event_id …, deliveries)` in a transaction: a second delivery of the same event
///   (at least once!) adds to `deliveries` instead of a second receipt. While the file named by
///   HELLO_RECEIPT_HOLD_FILE exists the task waits after recording (lets tests kill -9 the host
///   mid-task).
/// - `jarvis hello notes [--json]`: counts of notes, receipts and deliveries, and live pushes
/// heard.
/// - `POST /api/v1/hello/threads`: a new thread claimed for the caller, with an in-process
///   listener counting its live pushes; `POST /api/v1/hello/threads/{id}/live {"text"}`: a
///   transient push to the thread's /ws subscribers (404 `thread_not_found` for others' threads,
///   413 `push_too_large` over jarvis::kMaxLivePushBytes).
void register_outbox(jarvis::Host& host);

}  // namespace hello
