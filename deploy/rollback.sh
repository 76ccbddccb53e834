#!/usr/bin/env bash
# deploy/rollback.sh <git-ref> — deploy another version (usually an older, known-good one) without
# touching the live tree: build <git-ref> in a separate git worktree into a new release directory,
# switch the `current` symlink atomically, restart the service, verify /readyz, and switch back to
# the previous release (and restart again) when the new one does not become ready.
#
#   sudo ./deploy/rollback.sh v1.4.2
#
# Environment (nothing is hard-coded):
#   JARVIS_REPO                   the git repository (default: this script's repository)
#   JARVIS_PREFIX                 install prefix with releases/ and current (default /opt/jarvis)
#   JARVIS_SERVICE                systemd unit (default jarvis)
#   JARVIS_READYZ_URL             default http://127.0.0.1:${BIND_PORT:-8000}/readyz
#   ROLLBACK_READYZ_ATTEMPTS      /readyz polls after a restart (default 30)
#   ROLLBACK_READYZ_INTERVAL_SECONDS  pause between polls (default 2)
#   ROLLBACK_FETCH=1              `git fetch --all --tags` first
#   JARVIS_BUILD_COMMAND          run in the worktree with RELEASE_DIR set; must install
#                                 $RELEASE_DIR/bin/jarvis (default: CMake Release build + install)
# Before anything is built, the unit must run `$JARVIS_PREFIX/current/bin/jarvis` (its ExecStart,
# from `systemctl cat`): otherwise switching `current` would change nothing and a ready /readyz
# would prove nothing. SIGINT/SIGTERM stop the build, switch back to the previous release when the
# switch happened (and restart it), and remove the half-built release; a release directory left by
# a run killed with -9 (still marked .jarvis-release-building) is removed by the next run.
# Exit codes: 0 deployed and ready, 1 failed (the previous release is active again, or nothing was
# switched), 2 usage or unknown ref, 130/143 interrupted (the previous release active again).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[ $# -eq 1 ] && [ -n "$1" ] || { echo "usage: $0 <git-ref>" >&2; exit 2; }
REF=$1
REPO="${JARVIS_REPO:-$(cd "$HERE/.." && pwd)}"
PREFIX="${JARVIS_PREFIX:-/opt/jarvis}"
SERVICE="${JARVIS_SERVICE:-jarvis}"
URL="${JARVIS_READYZ_URL:-http://127.0.0.1:${BIND_PORT:-8000}/readyz}"
ATTEMPTS="${ROLLBACK_READYZ_ATTEMPTS:-30}"
INTERVAL="${ROLLBACK_READYZ_INTERVAL_SECONDS:-2}"
BUILD="${JARVIS_BUILD_COMMAND:-cmake -S . -B .rollback-build -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build .rollback-build && cmake --install .rollback-build --prefix \"\$RELEASE_DIR\"}"

log() { echo "rollback: $*"; }
fail() { echo "rollback: $*" >&2; exit 1; }

[ "${ROLLBACK_FETCH:-0}" = 1 ] && git -C "$REPO" fetch --all --tags --quiet
SHA=$(git -C "$REPO" rev-parse --verify --quiet "$REF^{commit}") || {
  echo "rollback: unknown git ref '$REF' in $REPO" >&2
  exit 2
}
SHORT=${SHA:0:12}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)

# The unit must start the release `current` points to, or the switch below is a no-op.
UNIT_TEXT=$(systemctl cat "$SERVICE.service" 2>/dev/null) || fail "systemctl cat $SERVICE.service failed: is the unit installed (deploy/install-systemd.sh)?"
EXEC=$(printf '%s\n' "$UNIT_TEXT" | sed -n 's/^ExecStart=[-@:+!]*//p' | tail -n 1)
EXEC_BIN=${EXEC%% *}
[ "$EXEC_BIN" = "$PREFIX/current/bin/jarvis" ] || fail "$SERVICE.service runs '${EXEC_BIN:-nothing}', not $PREFIX/current/bin/jarvis: switching $PREFIX/current would not change what runs (re-run deploy/install-systemd.sh --prefix $PREFIX); nothing was switched"

mkdir -p "$PREFIX/releases"
# Releases a run killed with -9 left half-built (never the active one).
ACTIVE_NOW=$(readlink "$PREFIX/current" 2>/dev/null || true)
for stale in "$PREFIX"/releases/*/.jarvis-release-building; do
  [ -e "$stale" ] || continue
  dir=$(dirname "$stale")
  [ "releases/$(basename "$dir")" = "$ACTIVE_NOW" ] && continue
  log "removing the half-built release $(basename "$dir") of an interrupted run"
  rm -rf -- "$dir"
done
RELEASE="$PREFIX/releases/$SHORT-$STAMP"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/jarvis-rollback.XXXXXX")
PREVIOUS=""
[ -L "$PREFIX/current" ] && PREVIOUS=$(readlink "$PREFIX/current")
SWITCHED=0
BUILD_PID=""
cleanup() {
  git -C "$REPO" worktree remove --force "$WORK/tree" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

switch_to() {  # atomic: a new symlink renamed over the old one
  ln -sfn "$1" "$PREFIX/.current.$$"
  mv -Tf "$PREFIX/.current.$$" "$PREFIX/current"
}
# SIGINT/SIGTERM: never a half-done rollback — the build stopped, the previous release back.
interrupted() {
  local code=$1
  trap '' INT TERM
  echo "rollback: interrupted" >&2
  [ -n "$BUILD_PID" ] && kill -TERM -- "-$BUILD_PID" 2>/dev/null
  if [ "$SWITCHED" = 1 ] && [ -n "$PREVIOUS" ]; then
    switch_to "$PREVIOUS"
    systemctl restart "$SERVICE.service" || true
    echo "rollback: switched back to $PREVIOUS" >&2
  fi
  if [ "$SWITCHED" = 0 ] || [ -n "$PREVIOUS" ]; then
    rm -rf -- "$RELEASE"
  fi
  exit "$code"
}
trap 'interrupted 130' INT
trap 'interrupted 143' TERM

log "building $REF ($SHORT) in a worktree (the live tree is not touched)"
git -C "$REPO" worktree add --detach --quiet "$WORK/tree" "$SHA"
mkdir -p "$RELEASE"
touch "$RELEASE/.jarvis-release-building"
# In the background in its own process group, so a signal reaches the trap at once (bash runs
# traps only between commands) and the trap can stop the whole build.
(cd "$WORK/tree" && RELEASE_DIR="$RELEASE" exec setsid -w bash -c "$BUILD") >"$WORK/build.log" 2>&1 &
BUILD_PID=$!
BUILD_RC=0
wait "$BUILD_PID" || BUILD_RC=$?
BUILD_PID=""
if [ "$BUILD_RC" -ne 0 ]; then
  tail -n 30 "$WORK/build.log" >&2
  rm -rf -- "$RELEASE"
  fail "the build of $REF failed; nothing was switched"
fi
[ -x "$RELEASE/bin/jarvis" ] || { rm -rf -- "$RELEASE"; fail "the build installed no $RELEASE/bin/jarvis; nothing was switched"; }
rm -f -- "$RELEASE/.jarvis-release-building"
wait_ready() {
  local i
  for ((i = 1; i <= ATTEMPTS; i++)); do
    if "$HERE/healthcheck.sh" "$URL" >/dev/null 2>&1; then return 0; fi
    [ "$i" -lt "$ATTEMPTS" ] && sleep "$INTERVAL"
  done
  return 1
}

log "switching $PREFIX/current to releases/$(basename "$RELEASE") (was: ${PREVIOUS:-none})"
SWITCHED=1  # before the switch: a signal in between switches back, which is harmless
switch_to "releases/$(basename "$RELEASE")"
systemctl restart "$SERVICE.service" || log "systemctl restart $SERVICE failed"
if wait_ready; then
  log "$REF ($SHORT) is active and ready at $URL"
  exit 0
fi

echo "rollback: $REF did not become ready at $URL after $ATTEMPTS attempts" >&2
if [ -z "$PREVIOUS" ]; then
  fail "there is no previous release to switch back to; $SERVICE runs $REF (not ready)"
fi
log "switching back to $PREVIOUS"
trap '' INT TERM  # switching back: finish it
switch_to "$PREVIOUS"
systemctl restart "$SERVICE.service" || true
if wait_ready; then
  fail "switched back to $PREVIOUS, which is ready again; $REF stays in $RELEASE for inspection"
fi
fail "switched back to $PREVIOUS, but it is not ready either: check journalctl -u $SERVICE"
