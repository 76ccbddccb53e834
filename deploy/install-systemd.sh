#!/usr/bin/env bash
# deploy/install-systemd.sh — installs the systemd unit of one Jarvis host.
#
#   sudo ./deploy/install-systemd.sh --user jarvis --prefix /opt/jarvis --data-dir /var/lib/jarvis \
#        --port 8000
#
# Every value is an argument or an environment variable (argument wins); nothing is hard-coded:
#   --user U          JARVIS_USER         account the host runs as (default: the invoking user)
#   --group G         JARVIS_GROUP        its group (default: U's primary group)
#   --prefix DIR      JARVIS_PREFIX       install prefix holding current/bin/jarvis (a release
#                                         symlink, see rollback.sh) or bin/jarvis (default
#                                         /opt/jarvis)
#   --data-dir DIR    JARVIS_DATA_DIR     working directory: .env, var/ (default /var/lib/jarvis)
#   --host ADDR       BIND_HOST           (default 127.0.0.1)
#   --port N          BIND_PORT           (default 8000)
#   --watchdog-sec N  JARVIS_WATCHDOG_SEC WatchdogSec (default 60; the host pings every N/2 s)
#   --service NAME    JARVIS_SERVICE      unit name (default jarvis)
#   --unit-dir DIR    SYSTEMD_UNIT_DIR    (default /etc/systemd/system)
#   --no-start                            install and enable, do not start
#   --adopt-data-dir                      take over an existing data dir without the marker that
#                                         holds var/jarvis.db or .env (an install from before it)
# Refuses to run the host as root (uid or gid 0). Touches an existing data dir only when it is
# empty or carries the marker .jarvis-data-dir this script writes (chown -R must never take over
# someone else's directory), and overwrites an existing unit only when it carries the
# "jarvis-unit:" line of deploy/jarvis.service. Removes the original project's stale units
# (jarvis-worker, jarvis-scheduler: a celery worker that no longer exists and a duplicate
# scheduler) when they are present and mention jarvis or celery. Exit 0 installed, 1 failure,
# 2 usage.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
USER_NAME="${JARVIS_USER:-${SUDO_USER:-$(id -un)}}"
GROUP_NAME="${JARVIS_GROUP:-}"
PREFIX="${JARVIS_PREFIX:-/opt/jarvis}"
DATA_DIR="${JARVIS_DATA_DIR:-/var/lib/jarvis}"
HOST="${BIND_HOST:-127.0.0.1}"
PORT="${BIND_PORT:-8000}"
WATCHDOG="${JARVIS_WATCHDOG_SEC:-60}"
SERVICE="${JARVIS_SERVICE:-jarvis}"
UNIT_DIR="${SYSTEMD_UNIT_DIR:-/etc/systemd/system}"
START=1

ADOPT=0
usage() { sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
need() { [ $# -ge 2 ] && [ -n "$2" ] || { echo "install-systemd: $1 needs a value" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
  case "$1" in
    --user) need "$@"; USER_NAME=$2; shift 2 ;;
    --group) need "$@"; GROUP_NAME=$2; shift 2 ;;
    --prefix) need "$@"; PREFIX=$2; shift 2 ;;
    --data-dir) need "$@"; DATA_DIR=$2; shift 2 ;;
    --host) need "$@"; HOST=$2; shift 2 ;;
    --port) need "$@"; PORT=$2; shift 2 ;;
    --watchdog-sec) need "$@"; WATCHDOG=$2; shift 2 ;;
    --service) need "$@"; SERVICE=$2; shift 2 ;;
    --unit-dir) need "$@"; UNIT_DIR=$2; shift 2 ;;
    --no-start) START=0; shift ;;
    --adopt-data-dir) ADOPT=1; shift ;;
    -h | --help) usage ;;
    *) echo "install-systemd: unknown argument $1" >&2; usage ;;
  esac
done

fail() { echo "install-systemd: $*" >&2; exit 1; }
case "$PORT" in '' | *[!0-9]*) fail "port must be a number, got '$PORT'" ;; esac
[ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] || fail "port $PORT is outside 1-65535"
case "$WATCHDOG" in '' | *[!0-9]*) fail "watchdog-sec must be a number, got '$WATCHDOG'" ;; esac
case "$PREFIX" in /*) ;; *) fail "prefix must be an absolute path, got '$PREFIX'" ;; esac
case "$DATA_DIR" in /*) ;; *) fail "data dir must be an absolute path, got '$DATA_DIR'" ;; esac
case "$SERVICE" in *[!A-Za-z0-9_.@-]* | '') fail "invalid service name '$SERVICE'" ;; esac
for v in "$USER_NAME" "$GROUP_NAME" "$HOST" "$PREFIX" "$DATA_DIR"; do
  # % is a systemd specifier and " ' break the unit's quoting: refused like shell metacharacters.
  case "$v" in *[[:space:]\|\&\;\$\`\\%\"\']*) fail "unsafe character in '$v'" ;; esac
done
# An address or a host name, nothing else (it lands in Environment= of the unit).
case "$HOST" in '' | *[!A-Za-z0-9.:_-]*) fail "host must be an IP address or a host name, got '$HOST'" ;; esac
# chown -R below: never on a system directory.
DATA_REAL=$(realpath -m -- "$DATA_DIR")
case "$DATA_REAL" in
  / | /home | /home/* | /root | /usr | /usr/* | /etc | /etc/* | /var | /var/lib | /var/log | /opt | /srv | /tmp | /boot | /boot/* | /dev | /dev/* | /proc | /proc/* | /sys | /sys/* | /run | /bin | /sbin | /lib | /lib64)
    # /home/<user>/jarvis is fine; /home itself or a user's home directory is not.
    case "$DATA_REAL" in /home/*/*) ;; *) fail "refusing data dir $DATA_DIR: a system or home directory (chown -R would take it over); use e.g. /var/lib/jarvis" ;; esac ;;
esac
id -u "$USER_NAME" >/dev/null 2>&1 || fail "no such user '$USER_NAME' (create it: useradd --system $USER_NAME)"
# The host parses hostile input and runs plugins: never as root (nor with root's group).
[ "$(id -u "$USER_NAME")" != 0 ] || fail "refusing to run the host as root ('$USER_NAME' has uid 0): create a service account (useradd --system jarvis) and pass --user jarvis"
[ -n "$GROUP_NAME" ] || GROUP_NAME="$(id -gn "$USER_NAME")"
GROUP_ID=$(getent group "$GROUP_NAME" | cut -d: -f3) || fail "no such group '$GROUP_NAME'"
[ "$GROUP_ID" != 0 ] || fail "refusing group '$GROUP_NAME' (gid 0) for the host: pass --group with the service account's own group"

# Is this jarvis's? Checked before anything is created, chowned or written.
MARKER="$DATA_DIR/.jarvis-data-dir"
if [ -L "$DATA_DIR" ]; then
  fail "refusing data dir $DATA_DIR: it is a symlink (name the real directory)"
elif [ -e "$DATA_DIR" ]; then
  [ -d "$DATA_DIR" ] || fail "refusing data dir $DATA_DIR: it exists and is not a directory"
  if [ -n "$(ls -A -- "$DATA_DIR")" ]; then
    if [ -L "$MARKER" ] || { [ -e "$MARKER" ] && [ ! -f "$MARKER" ]; }; then
      fail "refusing data dir $DATA_DIR: $MARKER is not a regular file"
    elif [ ! -f "$MARKER" ]; then
      if [ "$ADOPT" != 1 ]; then
        fail "refusing data dir $DATA_DIR: it is not empty and has no $(basename "$MARKER") marker, so it may not be a jarvis data dir (chown -R would take it over); choose an empty directory, or pass --adopt-data-dir for an install from before the marker"
      fi
      [ -f "$DATA_DIR/var/jarvis.db" ] || [ -f "$DATA_DIR/.env" ] || fail "refusing to adopt $DATA_DIR: it holds neither var/jarvis.db nor .env"
    fi
  fi
fi
UNIT="$UNIT_DIR/$SERVICE.service"
if [ -e "$UNIT" ] || [ -L "$UNIT" ]; then
  [ -f "$UNIT" ] && [ ! -L "$UNIT" ] && grep -q '^# jarvis-unit: rendered by deploy/install-systemd.sh' "$UNIT" ||
    fail "refusing to overwrite $UNIT: it was not written by install-systemd.sh (another service of that name?); pass --service with another name or remove it by hand"
fi

if [ -x "$PREFIX/current/bin/jarvis" ]; then
  BIN="$PREFIX/current/bin/jarvis"
elif [ -x "$PREFIX/bin/jarvis" ]; then
  BIN="$PREFIX/bin/jarvis"
else
  fail "no jarvis binary under $PREFIX (install a build first: cmake --install build --prefix $PREFIX/releases/<id> && ln -sfn releases/<id> $PREFIX/current)"
fi

mkdir -p "$DATA_DIR/var/backups"
[ -f "$MARKER" ] || echo "jarvis data dir (deploy/install-systemd.sh); do not delete" >"$MARKER"
chown -R "$USER_NAME:$GROUP_NAME" "$DATA_DIR"
chmod 0750 "$DATA_DIR"
chmod 0700 "$DATA_DIR/var/backups"

mkdir -p "$UNIT_DIR"
tmp="$(mktemp "$UNIT_DIR/.$SERVICE.service.XXXXXX")"
sed -e "s|@SERVICE@|$SERVICE|g" -e "s|@USER@|$USER_NAME|g" -e "s|@GROUP@|$GROUP_NAME|g" \
    -e "s|@DATA_DIR@|$DATA_DIR|g" -e "s|@BIND_HOST@|$HOST|g" -e "s|@BIND_PORT@|$PORT|g" \
    -e "s|@JARVIS_BIN@|$BIN|g" -e "s|@WATCHDOG_SEC@|$WATCHDOG|g" "$HERE/jarvis.service" >"$tmp"
if grep -q '@[A-Z_]*@' "$tmp"; then
  rm -f "$tmp"
  fail "unit template has unrendered placeholders"
fi
chmod 0644 "$tmp"
mv -f "$tmp" "$UNIT"
echo "install-systemd: wrote $UNIT (user $USER_NAME, $BIN, $DATA_DIR, $HOST:$PORT, WatchdogSec=$WATCHDOG)"

for stale in jarvis-worker jarvis-scheduler jarvis-api; do
  [ "$stale" = "$SERVICE" ] && continue
  if [ -f "$UNIT_DIR/$stale.service" ] && grep -qiE 'jarvis|celery' "$UNIT_DIR/$stale.service"; then
    systemctl disable --now "$stale.service" || true
    rm -f "$UNIT_DIR/$stale.service"
    echo "install-systemd: removed the stale unit $stale.service"
  fi
done

WAS_ACTIVE=0
systemctl is-active --quiet "$SERVICE.service" 2>/dev/null && WAS_ACTIVE=1
systemctl daemon-reload
if [ "$START" -eq 1 ]; then
  systemctl enable --now "$SERVICE.service"
  # enable --now does not restart a running unit: a reinstall must run the new unit and binary.
  [ "$WAS_ACTIVE" = 1 ] && systemctl restart "$SERVICE.service"
  echo "install-systemd: $SERVICE enabled and started; check it with deploy/healthcheck.sh http://$HOST:$PORT/readyz"
else
  systemctl enable "$SERVICE.service"
  echo "install-systemd: $SERVICE enabled (not started)"
fi
