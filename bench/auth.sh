#!/usr/bin/env bash
# Auth benchmark: authenticated `GET /api/v1/auth/me` (Bearer token: a token lookup joined with
# its user on every request) against nginx `return 200`, same machine, same run, same wrk settings.
# Target (issue 3): jarvis ≥ 0.4 × nginx. Also: the same route via the session cookie, and the
# cost of one login (argon2id). Prints req/s and ratios.
#   bench/auth.sh [duration_seconds=10] [connections=32]
# Needs: wrk, nginx, curl. Not a test: no thresholds.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${JARVIS_BIN:-$ROOT/build/bin/jarvis}"
DUR="${1:-10}"
CONN="${2:-32}"
THREADS="${JARVIS_HTTP_THREADS:-1}"
WORK="$(mktemp -d /tmp/jarvis-bench-auth-XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_200() { for _ in $(seq 1 500); do curl -fs -o /dev/null "$@" && return 0; sleep 0.02; done; echo "no 200 from $*" >&2; return 1; }
rps() { local url="$1"; shift; wrk -t1 -c"$CONN" -d"${DUR}s" -H "Connection: keep-alive" "$@" "$url" | awk '/Requests\/sec/ {print $2}'; }

[ -x "$BIN" ] || { echo "build first: make build" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing: scripts/install-deps.sh" >&2; exit 1; }

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# wrk -t1 -c$CONN -d${DUR}s, one server thread each (JARVIS_HTTP_THREADS=$THREADS, nginx worker_processes 1)"

# jarvis: migrated SQLite database, one user, one API token.
export APP_DB="$WORK/jarvis.db"
(cd "$WORK" && "$BIN" migrate >/dev/null)
(cd "$WORK" && printf 'bench password\n' | "$BIN" users add bench --password-stdin >/dev/null)
TOKEN=$(cd "$WORK" && "$BIN" tokens create --user bench --ttl 1 2>/dev/null)
JPORT=$(free_port)
(cd "$WORK" && BIND_PORT=$JPORT JARVIS_HTTP_THREADS=$THREADS LOG_LEVEL=warn \
   exec "$BIN" serve --no-migrate >"$WORK/jarvis.log" 2>&1) &
PIDS+=($!)
wait_200 -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$JPORT/api/v1/auth/me"

# nginx, return 200
NPORT=$(free_port)
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx/nginx.conf" <<NGX
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx; fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  server { listen 127.0.0.1:$NPORT; location / { default_type application/json; return 200 '{"ok":true}'; } }
}
NGX
nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
PIDS+=($!)
wait_200 "http://127.0.0.1:$NPORT/healthz"

N=$(rps "http://127.0.0.1:$NPORT/healthz")
H=$(rps "http://127.0.0.1:$JPORT/healthz")
B=$(rps "http://127.0.0.1:$JPORT/api/v1/auth/me" -H "Authorization: Bearer $TOKEN")
C=$(rps "http://127.0.0.1:$JPORT/api/v1/auth/me" -H "Cookie: jarvis_session=$TOKEN")
U=$(rps "http://127.0.0.1:$JPORT/api/v1/auth/me")
printf "%-36s %12s %8s\n" "server" "req/s" "ratio"
printf "%-36s %12s %8s\n" "nginx return 200" "$N" "1.00"
printf "%-36s %12s %8.2f\n" "jarvis /healthz (public)" "$H" "$(echo "$H / $N" | bc -l)"
printf "%-36s %12s %8.2f\n" "jarvis /api/v1/auth/me Bearer" "$B" "$(echo "$B / $N" | bc -l)"
printf "%-36s %12s %8.2f\n" "jarvis /api/v1/auth/me cookie" "$C" "$(echo "$C / $N" | bc -l)"
printf "%-36s %12s %8.2f\n" "jarvis /api/v1/auth/me anonymous 401" "$U" "$(echo "$U / $N" | bc -l)"

# One login = one argon2id verification (5 sequential logins, median).
python3 - "$JPORT" <<'PY'
import http.client, json, sys, time
port = int(sys.argv[1]); times = []
for _ in range(5):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    t0 = time.perf_counter()
    c.request("POST", "/api/v1/auth/login", json.dumps({"username": "bench", "password": "bench password"}),
              {"Content-Type": "application/json"})
    r = c.getresponse(); r.read(); c.close()
    times.append((time.perf_counter() - t0) * 1000)
    assert r.status == 200, r.status
times.sort()
print("login (argon2id interactive verify + token insert): median %.0f ms (min %.0f, max %.0f, 5 runs)"
      % (times[2], times[0], times[-1]))
PY
