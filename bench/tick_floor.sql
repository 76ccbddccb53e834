-- bench/tick_floor.sql — the floor under one all-due scheduler tick on SQLite: the same rows a
-- tick over 10,000 due schedules writes (10,000 dispatch rows, 10,000 queued tasks, 10,000
-- schedules advanced), written by SQLite alone in one set-based transaction with no application
-- code. Run by bench/tasks.sh on a database migrated by the host; prints SQLite's timer.
PRAGMA synchronous=NORMAL;
PRAGMA cache_size=-16000;
BEGIN;
WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 10000)
INSERT INTO schedules(id, owner, cron_expr, task, payload, enabled, next_due_at, created_at,
                      updated_at)
SELECT 'sch_' || lower(hex(randomblob(16))), 'usr_bench', '@every:60', 'system.echo', '{}', 1,
       '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z' FROM g;
COMMIT;
.timer on
BEGIN;
INSERT INTO schedule_dispatches(schedule_id, due_at, task_id, created_at)
SELECT id, next_due_at, 'tsk_' || substr(id, 5), '2026-01-01T00:00:30.000Z' FROM schedules;
INSERT INTO tasks(id, name, payload, status, priority, attempts, max_attempts, run_after,
                  trace_id, created_at, updated_at)
SELECT 'tsk_' || substr(id, 5), task,
       '{"_schedule":{"id":"' || id || '","due_at":"' || next_due_at || '"}}', 'queued', 0, 0, 1,
       '2026-01-01T00:00:30.000Z', 'trc_' || lower(hex(randomblob(16))),
       '2026-01-01T00:00:30.000Z', '2026-01-01T00:00:30.000Z' FROM schedules;
UPDATE schedules SET last_run_at = next_due_at, next_due_at = '2026-01-01T00:01:00.000Z',
                     updated_at = '2026-01-01T00:00:30.000Z';
COMMIT;
