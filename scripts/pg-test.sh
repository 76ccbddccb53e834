#!/usr/bin/env bash
# scripts/pg-test.sh — a throwaway PostgreSQL 15 cluster for the tests.
#
#   scripts/pg-test.sh start DIR   initdb + start on a free 127.0.0.1 port; writes the URL
#                                  (postgresql://jarvis@127.0.0.1:<port>/postgres) to DIR/url
#   scripts/pg-test.sh stop DIR    stops the cluster and removes DIR
#
# Trust authentication, fsync off: for tests only, never for data you want to keep.
# PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user
# (runuser); as any other user it runs as that user. `start` on a DIR whose cluster is still
# running stops that cluster first, so the command is idempotent. Used by the ctest fixture `pg`.
#
# Several ctest runs may share one build tree at once (engineers running targeted tests side by
# side): each `start` records its invoker (the parent ctest's pid) in DIR.holders and REUSES a
# cluster that is running for another live holder; `stop` removes its invoker and stops the cluster
# only when no live holder is left. Holders whose process is gone (a killed ctest) are pruned.
set -euo pipefail

usage() {
  echo "usage: $0 start|stop DIR" >&2
  exit 2
}
[ $# -eq 2 ] || usage
ACTION=$1
DIR=$2
case "$DIR" in
  /*) ;;
  *) DIR="$(pwd)/$DIR" ;;
esac

PGBIN=${PGBIN:-}
if [ -z "$PGBIN" ]; then
  for candidate in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    if [ -x "$candidate/initdb" ]; then
      PGBIN=$candidate
      break
    fi
  done
fi
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/pg_ctl" ]; then
  echo "pg-test: PostgreSQL server binaries not found (install the 'postgresql' package," \
       "or set PGBIN to the directory holding initdb and pg_ctl)" >&2
  exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
  PGUSER_OS=postgres
  as_pg() { runuser -u postgres -- "$@"; }
else
  PGUSER_OS=$(id -un)
  as_pg() { "$@"; }
fi

# Stops the cluster in DIR if one is running there (quietly; never fails).
stop_cluster() {
  if [ -f "$DIR/data/postmaster.pid" ]; then
    as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
  fi
  # A socket directory outside DIR (used when DIR's path is too long for a Unix socket).
  if [ -f "$DIR/sockdir" ]; then
    rm -rf "$(cat "$DIR/sockdir")"
  fi
}

# Prints a TCP port on 127.0.0.1 that nobody listens on right now.
pick_port() {
  local port
  for _ in $(seq 1 200); do
    port=$(( 20000 + RANDOM % 40000 ))
    # /dev/tcp succeeds only if something accepts: a failed connect means the port is free.
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  echo "pg-test: no free port found" >&2
  return 1
}

start_cluster() {
  stop_cluster
  rm -rf "$DIR"
  mkdir -p "$(dirname "$DIR")"
  install -d -m 0700 -o "$PGUSER_OS" "$DIR"
  if ! as_pg test -w "$DIR"; then
    echo "pg-test: user '$PGUSER_OS' cannot write to $DIR (every parent directory must be" \
         "searchable by that user, e.g. chmod o+x on them)" >&2
    exit 1
  fi

  if ! as_pg "$PGBIN/initdb" -D "$DIR/data" -U jarvis --auth=trust -E UTF8 --no-sync \
      >"$DIR/initdb.log" 2>&1; then
    echo "pg-test: initdb failed:" >&2
    cat "$DIR/initdb.log" >&2
    exit 1
  fi

  # Unix socket paths are limited to 107 bytes; fall back to a short directory under /tmp.
  local sockdir=$DIR
  if [ ${#DIR} -gt 80 ]; then
    sockdir=$(mktemp -d /tmp/jarvis-pg.XXXXXX)
    chown "$PGUSER_OS" "$sockdir"
    echo "$sockdir" >"$DIR/sockdir"
  fi

  # Another cluster may grab the chosen port between the check and the start: retry.
  local port attempt
  for attempt in 1 2 3 4 5; do
    port=$(pick_port)
    if as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w -t 60 \
        -o "-p $port -k $sockdir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >/dev/null 2>&1 9>&-; then  # the server must not inherit the lock
      echo "postgresql://jarvis@127.0.0.1:$port/postgres" >"$DIR/url.tmp"
      chmod 0644 "$DIR/url.tmp"
      mv "$DIR/url.tmp" "$DIR/url"
      # Let the invoking (possibly non-postgres) user read DIR/url.
      chmod 0755 "$DIR"
      echo "pg-test: PostgreSQL running at $(cat "$DIR/url") (data in $DIR/data)"
      return 0
    fi
    echo "pg-test: start on port $port failed (attempt $attempt), retrying" >&2
  done
  echo "pg-test: could not start PostgreSQL; server log:" >&2
  tail -n 30 "$DIR/log" >&2 || true
  exit 1
}

HOLDERS="$DIR.holders"
HOLDER=${PG_TEST_HOLDER:-$PPID}

# Keeps only holders whose process still exists.
prune_holders() {
  local live="" pid
  if [ -f "$HOLDERS" ]; then
    for pid in $(cat "$HOLDERS"); do
      if kill -0 "$pid" 2>/dev/null; then live="$live $pid"; fi
    done
  fi
  echo "$live" | tr ' ' '\n' | sed '/^$/d' | sort -u >"$HOLDERS.tmp"
  mv "$HOLDERS.tmp" "$HOLDERS"
}

cluster_running() {
  [ -f "$DIR/url" ] && [ -f "$DIR/data/postmaster.pid" ] &&
    as_pg "$PGBIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1
}

mkdir -p "$(dirname "$DIR")"
exec 9>"$DIR.lock"
flock 9
case "$ACTION" in
  start)
    prune_holders
    if [ -s "$HOLDERS" ] && cluster_running; then
      echo "$HOLDER" >>"$HOLDERS"
      echo "pg-test: reusing PostgreSQL at $(cat "$DIR/url") (another test run holds it)"
    else
      start_cluster
      echo "$HOLDER" >"$HOLDERS"
    fi
    ;;
  stop)
    prune_holders
    grep -vx "$HOLDER" "$HOLDERS" >"$HOLDERS.tmp" || true
    mv "$HOLDERS.tmp" "$HOLDERS"
    if [ -s "$HOLDERS" ]; then
      echo "pg-test: leaving PostgreSQL running for $(wc -l <"$HOLDERS") other test run(s)"
    else
      stop_cluster
      rm -rf "$DIR" "$HOLDERS"
      echo "pg-test: stopped and removed $DIR"
    fi
    ;;
  *) usage ;;
esac
