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
# RESTORE_READYZ_ATTEMPTS (default 15), RESTORE_READYZ_INTERVAL_SECONDS (default 2).
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

DB_DIR=$(dirname "$DB")
mkdir -p "$DB_DIR"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
STAGED="$DB.restore.$STAMP.partial"
trap 'rm -f "$STAGED"' EXIT

case "$SNAPSHOT" in
  *.gz) gzip -dc -- "$SNAPSHOT" >"$STAGED" 2>/dev/null || fail "$SNAPSHOT is not a valid gzip file; nothing changed" ;;
  *) cp -- "$SNAPSHOT" "$STAGED" ;;
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

ASIDE=""
if [ -f "$DB" ]; then
  ASIDE="$DB.pre_restore.$STAMP"
  sqlite3 "$DB" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null 2>&1 || true
  mv -f -- "$DB" "$ASIDE"
  for side in -wal -shm; do [ -f "$DB$side" ] && mv -f -- "$DB$side" "$ASIDE$side"; done
  chown --reference="$ASIDE" "$STAGED" 2>/dev/null || true
  chmod --reference="$ASIDE" "$STAGED" 2>/dev/null || true
  log "current database kept aside as $ASIDE"
fi
mv -f -- "$STAGED" "$DB"
log "restored $SNAPSHOT into $DB"
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
  if [ -n "$ASIDE" ]; then
    mv -f -- "$DB" "$DB.failed_restore.$STAMP"
    mv -f -- "$ASIDE" "$DB"
    for side in -wal -shm; do [ -f "$ASIDE$side" ] && mv -f -- "$ASIDE$side" "$DB$side"; done
    log "previous database back in place ($DB); the restored copy is $DB.failed_restore.$STAMP"
  else
    mv -f -- "$DB" "$DB.failed_restore.$STAMP"
    log "there was no previous database; the restored copy is $DB.failed_restore.$STAMP"
  fi
  start_service
  exit 1
fi
exit 0
