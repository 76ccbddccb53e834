# bench/lib.sh — shared by the HTTP benchmarks (sourced, not run): a scratch folder cleaned up on
# exit, free ports, waiting for a 200, wrk req/s, the machine header, and the nginx reference
# server (`return 200`, one worker) every HTTP figure is compared with in the same run.
# Expects ROOT to be set; sets BIN, DUR, CONN, THREADS, WORK, PIDS.
BIN="${JARVIS_BIN:-$ROOT/build/bin/jarvis}"
DUR="${1:-10}"
CONN="${2:-32}"
THREADS="${JARVIS_HTTP_THREADS:-1}"
WORK="$(mktemp -d /tmp/jarvis-bench-XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
# wait_200 URL [curl args…]
wait_200() { for _ in $(seq 1 500); do curl -fs -o /dev/null "$@" && return 0; sleep 0.02; done; echo "no 200 from $*" >&2; return 1; }
# rps URL [wrk args…]: requests per second over DUR seconds with CONN keep-alive connections.
rps() { local url="$1"; shift; wrk -t1 -c"$CONN" -d"${DUR}s" -H "Connection: keep-alive" "$@" "$url" | awk '/Requests\/sec/ {print $2}'; }
ratio() { echo "$1 / $2" | bc -l; }

[ -x "$BIN" ] || { echo "build first: make build" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing: scripts/install-deps.sh" >&2; exit 1; }
command -v nginx >/dev/null || { echo "nginx missing: scripts/install-deps.sh" >&2; exit 1; }

bench_header() {
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "# wrk -t1 -c$CONN -d${DUR}s, one server thread each (JARVIS_HTTP_THREADS=$THREADS, nginx worker_processes 1)"
}

# start_nginx: nginx answering 200 '{"ok":true}' on every path; sets NPORT.
start_nginx() {
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
}

# start_jarvis: `jarvis serve --no-migrate` on the migrated database $APP_DB in $WORK; sets JPORT.
start_jarvis() {
  JPORT=$(free_port)
  (cd "$WORK" && BIND_PORT=$JPORT JARVIS_HTTP_THREADS=$THREADS LOG_LEVEL=warn \
     exec "$BIN" serve --no-migrate >"$WORK/jarvis.log" 2>&1) &
  PIDS+=($!)
  wait_200 "http://127.0.0.1:$JPORT/healthz"
}
