#!/usr/bin/env bash
# deploy/restore_db.sh <snapshot.db|snapshot.db.gz> [db_path] — put a SQLite snapshot back:
# stage it (gunzip or copy), require `PRAGMA integrity_check` = ok and the host's schema, stop the
# service, keep the current database aside as <db>.pre_restore.<stamp>, swap the snapshot in,
# start the service, and — when RESTORE_READYZ_URL is set — revert to the previous database if
# /readyz does not become ready.
#
#   RESTORE_READYZ_URL=http://127.0.0.1:8000/readyz sudo ./deploy/restore_db.sh \
#     /var/lib/jarvis/var/backups/backup_20261201T231500Z.db.gz
#
# Environment: APP_DB or JARVIS_DATA_DIR (default db_path: $APP_DB, else
# ${JARVIS_DATA_DIR:-/var/lib/jarvis}/var/jarvis.db), JARVIS_SERVICE (default jarvis),
# RESTORE_STOP_SERVICE=0 (do not stop/start the unit: the host is already stopped),
# RESTORE_READYZ_ATTEMPTS (default 15), RESTORE_READYZ_INTERVAL_SECONDS (default 2),
# RESTORE_MAX_BYTES (default 64 GiB: a snapshot, or what it decompresses to, larger than this is
# refused as snapshot_too_large — a gzip bomb stops there), RESTORE_MIN_FREE_BYTES (default
# 256 MiB kept free on the database's file system, else insufficient_space).
# PostgreSQL snapshots (.pgdump) are restored with `jarvis db restore FILE` instead.
# Exit codes: 0 restored (and ready when checked), 1 refused or reverted, 2 usage.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 <snapshot.db|snapshot.db.gz> [db_path]" >&2; exit 2; }
SNAPSHOT=$1
DB="${2:-${APP_DB:-${JARVIS_DATA_DIR:-/var/lib/jarvis}/var/jarvis.db}}"
SERVICE="${JARVIS_SERVICE:-jarvis}"
STOP="${RESTORE_STOP_SERVICE:-1}"
ATTEMPTS="${RESTORE_READYZ_ATTEMPTS:-15}"
INTERVAL="${RESTORE_READYZ_INTERVAL_SECONDS:-2}"

log() { echo "restore_db: $*"; }
fail() { echo "restore_db: $*" >&2; exit 1; }
command -v sqlite3 >/dev/null || fail "sqlite3 is not installed (apt-get install sqlite3)"
[ -f "$SNAPSHOT" ] || fail "no snapshot at $SNAPSHOT"
case "$SNAPSHOT" in *.pgdump) fail "$SNAPSHOT is a PostgreSQL dump: use jarvis db restore $SNAPSHOT" ;; esac

mkdir -p "$(dirname "$DB")"
# The real file: a symlinked db_path is the same database and the same lock as `jarvis serve`'s.
DB=$(realpath -m -- "$DB")
LOCK="$DB.serving"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
STAGED="$DB.restore.$STAMP.partial"
trap 'rm -f "$STAGED" "$STAGED-shm" "$STAGED-wal" "$STAGED-journal"' EXIT

MAX="${RESTORE_MAX_BYTES:-68719476736}"
MIN_FREE="${RESTORE_MIN_FREE_BYTES:-268435456}"
case "$MAX$MIN_FREE" in *[!0-9]*) fail "RESTORE_MAX_BYTES and RESTORE_MIN_FREE_BYTES must be numbers" ;; esac
AVAIL=$(df --output=avail -B1 -- "$(dirname "$DB")" | tail -n 1 | tr -d ' ')
BUDGET=$((AVAIL - MIN_FREE))
LIMIT=$MAX
[ "$BUDGET" -lt "$LIMIT" ] && LIMIT=$BUDGET
too_big() {  # $1: what the snapshot is or decompresses to
  if [ "$LIMIT" = "$MAX" ]; then
    fail "snapshot_too_large: $SNAPSHOT $1 more than RESTORE_MAX_BYTES=$MAX bytes; nothing changed"
  fi
  fail "insufficient_space: $SNAPSHOT $1 more than the $(( BUDGET > 0 ? BUDGET : 0 )) bytes that keep RESTORE_MIN_FREE_BYTES=$MIN_FREE free; nothing changed"
}
[ "$LIMIT" -gt 0 ] || too_big "needs"
case "$SNAPSHOT" in
  *.gz)
    # At most LIMIT + 1 bytes are ever written: one more says "too big" (gzip then dies of SIGPIPE).
    set +o pipefail
    gzip -dc -- "$SNAPSHOT" 2>/dev/null | head -c "$((LIMIT + 1))" >"$STAGED"
    GZIP_RC=${PIPESTATUS[0]}
    set -o pipefail
    [ "$(stat -c %s -- "$STAGED")" -le "$LIMIT" ] || too_big "decompresses to"
    [ "$GZIP_RC" = 0 ] || fail "$SNAPSHOT is not a valid gzip file; nothing changed" ;;
  *)
    [ "$(stat -c %s -- "$SNAPSHOT")" -le "$LIMIT" ] || too_big "is"
    cp -- "$SNAPSHOT" "$STAGED" ;;
esac
CHECK=$(sqlite3 -readonly "$STAGED" "PRAGMA integrity_check;" 2>&1 | head -n 5) || true
[ "$CHECK" = "ok" ] || fail "$SNAPSHOT failed PRAGMA integrity_check ($CHECK); nothing changed"
HAS=$(sqlite3 -readonly "$STAGED" "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='schema_migrations';" 2>/dev/null || echo 0)
[ "$HAS" = "1" ] || fail "$SNAPSHOT is not a jarvis database (no schema_migrations); nothing changed"
log "snapshot verified (integrity_check: ok)"

if [ "$STOP" = 1 ]; then
  log "stopping $SERVICE"
  systemctl stop "$SERVICE.service"
fi
start_service() { [ "$STOP" = 1 ] && systemctl start "$SERVICE.service" || true; }

# The exclusive serving lock for the whole swap (every jarvis command that opens the database
# holds it shared): a host still running, or started meanwhile, makes the restore refuse.
lock_db() {
  exec 9>>"$LOCK"
  # Created by a root restore: still the service user's to open (it opens the file read-write).
  chown --reference="$(dirname "$DB")" "$LOCK" 2>/dev/null || true
  if ! flock -x -n 9; then
    start_service
    fail "a jarvis process still has $DB open (lock $LOCK: $(head -c 200 "$LOCK" 2>/dev/null)); nothing changed"
  fi
}
unlock_db() { flock -u 9; exec 9>&-; }

# Moves $1-wal, -shm, -journal to $2-wal, …; fails when one stays (SQLite would apply a leftover
# WAL or journal to the file put at $1 next).
move_sidecars() {
  local side
  for side in -wal -shm -journal; do
    if [ -e "$1$side" ] || [ -L "$1$side" ]; then mv -f -- "$1$side" "$2$side" || true; fi
    if [ -e "$1$side" ] || [ -L "$1$side" ]; then fail "cannot move $1$side aside; move it away by hand"; fi
  done
}

# The database at $DB must pass quick_check and be jarvis-shaped.
check_in_place() {
  local q h
  q=$(sqlite3 -readonly "$DB" "PRAGMA quick_check;" 2>&1 | head -n 5) || true
  h=$(sqlite3 -readonly "$DB" "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='schema_migrations';" 2>/dev/null || echo 0)
  [ "$q" = "ok" ] && [ "$h" = "1" ]
}

lock_db
ASIDE=""
if [ -f "$DB" ]; then
  ASIDE="$DB.pre_restore.$STAMP"
  sqlite3 "$DB" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null 2>&1 || true
fi
# Every sidecar goes, with the previous file when there is one, before anything lands at $DB.
move_sidecars "$DB" "${ASIDE:-$DB.stale.$STAMP}"
if [ -n "$ASIDE" ]; then
  # A second name for the previous file, then rename over it: never a moment without a database.
  ln -- "$DB" "$ASIDE" || fail "cannot keep $DB aside as $ASIDE; nothing changed"
  chown --reference="$DB" "$STAGED" 2>/dev/null || true
  chmod --reference="$DB" "$STAGED" 2>/dev/null || true
  log "current database kept aside as $ASIDE"
fi
mv -f -- "$STAGED" "$DB"
move_sidecars "$DB" "$DB.failed_restore.$STAMP"
if ! check_in_place; then
  [ -n "$ASIDE" ] && mv -f -- "$ASIDE" "$DB"
  unlock_db
  start_service
  fail "the restored file failed quick_check at $DB; the previous database is back"
fi
log "restored $SNAPSHOT into $DB"
unlock_db
start_service

if [ -n "${RESTORE_READYZ_URL:-}" ]; then
  for ((i = 1; i <= ATTEMPTS; i++)); do
    if "$HERE/healthcheck.sh" "$RESTORE_READYZ_URL" >/dev/null 2>&1; then
      log "ready at $RESTORE_READYZ_URL"
      exit 0
    fi
    [ "$i" -lt "$ATTEMPTS" ] && sleep "$INTERVAL"
  done
  echo "restore_db: not ready at $RESTORE_READYZ_URL after $ATTEMPTS attempts: reverting" >&2
  [ "$STOP" = 1 ] && systemctl stop "$SERVICE.service"
  lock_db
  FAILED="$DB.failed_restore.$STAMP"
  # The restored file's -wal/-shm (written by the host that did not become ready) go with it:
  # left next to the previous file, SQLite would replay them into it.
  move_sidecars "$DB" "$FAILED"
  if [ -n "$ASIDE" ]; then
    ln -- "$DB" "$FAILED"
    mv -f -- "$ASIDE" "$DB"
    move_sidecars "$ASIDE" "$DB"
    log "previous database back in place ($DB); the restored copy is $FAILED"
  else
    mv -f -- "$DB" "$FAILED"
    log "there was no previous database; the restored copy is $FAILED"
  fi
  unlock_db
  start_service
  exit 1
fi
exit 0
