#!/usr/bin/env bash
# HTTP benchmark: `jarvis serve` /healthz vs nginx `return 200` (and FastAPI/uvicorn when
# python3-fastapi is installed), same machine, same run, same wrk settings. Prints req/s and the
# ratio to nginx, then cold start to the first 200 from /readyz and idle RSS.
#   bench/http.sh [duration_seconds=10] [connections=32]
# Needs: wrk, nginx (scripts/install-deps.sh installs both). Not a test: no thresholds.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
source "$ROOT/bench/lib.sh"
bench_header

# jarvis (already-migrated SQLite database, every plugin in the build loaded)
export APP_DB="$WORK/jarvis.db"
(cd "$WORK" && "$BIN" migrate >/dev/null)
start_jarvis

start_nginx

N=$(rps "http://127.0.0.1:$NPORT/healthz")
J=$(rps "http://127.0.0.1:$JPORT/healthz")
printf "%-28s %12s %8s\n" "server" "req/s" "ratio"
printf "%-28s %12s %8s\n" "nginx return 200" "$N" "1.00"
printf "%-28s %12s %8.2f\n" "jarvis /healthz" "$J" "$(ratio "$J" "$N")"

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
  printf "%-28s %12s %8.2f\n" "fastapi+uvicorn /healthz" "$F" "$(ratio "$F" "$N")"
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
