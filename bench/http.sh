#!/usr/bin/env bash
# HTTP benchmark: `jarvis serve` /healthz vs nginx `return 200` (and FastAPI/uvicorn when
# python3-fastapi is installed), same machine, same run, same wrk settings. Prints req/s and the
# ratio to nginx, then cold start to the first 200 from /readyz and idle RSS.
#   bench/http.sh [duration_seconds=10] [connections=32]
# Needs: wrk, nginx (scripts/install-deps.sh installs both). Not a test: no thresholds.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${JARVIS_BIN:-$ROOT/build/bin/jarvis}"
DUR="${1:-10}"
CONN="${2:-32}"
THREADS="${JARVIS_HTTP_THREADS:-1}"
WORK="$(mktemp -d /tmp/jarvis-bench-XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_200() { for _ in $(seq 1 500); do curl -fs -o /dev/null "$1" && return 0; sleep 0.02; done; echo "no 200 from $1" >&2; return 1; }
rps() { wrk -t1 -c"$CONN" -d"${DUR}s" -H "Connection: keep-alive" "$1" | awk '/Requests\/sec/ {print $2}'; }

[ -x "$BIN" ] || { echo "build first: make build" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing: scripts/install-deps.sh" >&2; exit 1; }

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# wrk -t1 -c$CONN -d${DUR}s, one server thread each (JARVIS_HTTP_THREADS=$THREADS, nginx worker_processes 1)"

# jarvis (already-migrated SQLite database, every plugin in the build loaded)
JPORT=$(free_port)
(cd "$WORK" && APP_DB="$WORK/jarvis.db" "$BIN" migrate >/dev/null)
(cd "$WORK" && APP_DB="$WORK/jarvis.db" BIND_PORT=$JPORT JARVIS_HTTP_THREADS=$THREADS LOG_LEVEL=warn \
   exec "$BIN" serve --no-migrate >"$WORK/jarvis.log" 2>&1) &
PIDS+=($!)
wait_200 "http://127.0.0.1:$JPORT/healthz"

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
J=$(rps "http://127.0.0.1:$JPORT/healthz")
printf "%-28s %12s %8s\n" "server" "req/s" "ratio"
printf "%-28s %12s %8s\n" "nginx return 200" "$N" "1.00"
printf "%-28s %12s %8.2f\n" "jarvis /healthz" "$J" "$(echo "$J / $N" | bc -l)"

if python3 -c 'import fastapi, uvicorn' 2>/dev/null; then
  FPORT=$(free_port)
  cat >"$WORK/app.py" <<PY
from fastapi import FastAPI
app = FastAPI()
@app.get("/healthz")
def healthz():
    return {"ok": True}
PY
  (cd "$WORK" && exec python3 -m uvicorn app:app --port "$FPORT" --log-level warning) &
  PIDS+=($!)
  wait_200 "http://127.0.0.1:$FPORT/healthz"
  F=$(rps "http://127.0.0.1:$FPORT/healthz")
  printf "%-28s %12s %8.2f\n" "fastapi+uvicorn /healthz" "$F" "$(echo "$F / $N" | bc -l)"
else
  echo "fastapi+uvicorn: skipped (apt-get install python3-fastapi uvicorn to include it)"
fi

# Idle RSS of the serving jarvis (after the load, then a short rest).
sleep 1
JPID=$(pgrep -f "$BIN serve --no-migrate" | head -1)
echo "jarvis idle RSS: $(awk '/VmRSS/ {print $2 " " $3}' /proc/"$JPID"/status)"

# Cold start: exec to first 200 from /readyz on the already-migrated database (5 runs).
python3 - "$BIN" "$WORK" <<'PY'
import os, socket, subprocess, sys, time
bin_, work = sys.argv[1], sys.argv[2]
def free():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p
def ready(port):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=0.5)
        s.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = s.recv(64); s.close(); return data.startswith(b"HTTP/1.1 200")
    except OSError:
        return False
times = []
for _ in range(5):
    port = free()
    env = dict(os.environ, APP_DB=os.path.join(work, "jarvis.db"), BIND_PORT=str(port), LOG_LEVEL="warn")
    t0 = time.perf_counter()
    p = subprocess.Popen([bin_, "serve", "--no-migrate"], cwd=work, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not ready(port):
        time.sleep(0.001)
        if time.perf_counter() - t0 > 20: break
    times.append((time.perf_counter() - t0) * 1000)
    p.terminate(); p.wait()
times.sort()
print("cold start to first /readyz 200: median %.0f ms (min %.0f, max %.0f, 5 runs)" % (times[2], times[0], times[-1]))
PY
