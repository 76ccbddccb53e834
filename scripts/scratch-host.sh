# shellcheck shell=bash
# scripts/scratch-host.sh — sourced by setup-smoke.sh and release-evidence.sh: the scratch
# directory and the scratch host's lifetime. After `source`, call `scratch_init PREFIX`, start the
# host with its pid in $server_pid; `stop_host PID` stops one; the EXIT trap stops what is left
# and removes the directory.
#   source "$root/scripts/scratch-host.sh"; scratch_init jarvis-setup-smoke
#   … "$bin" serve & server_pid=$! … stop_host "$server_pid"; server_pid=""

# stop_host PID: TERM, up to $STOP_HOST_SECONDS (10) for it to exit, then KILL — a host that
# ignores TERM must not hang the script or its EXIT trap.
stop_host() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 $(( ${STOP_HOST_SECONDS:-10} * 10 ))); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}

scratch_cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    stop_host "$server_pid"
  fi
  rm -rf "$scratch"
}

# scratch_init NAME: $scratch = a fresh directory under $TMPDIR, $server_pid = "", the EXIT trap.
scratch_init() {
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  server_pid=""
  trap scratch_cleanup EXIT
}
