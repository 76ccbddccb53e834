#!/usr/bin/env bash
# WebSocket fan-out benchmark: N clients (default 1000) subscribed to the system channel of a
# real `jarvis serve` receive one broadcast event per round (a lockdown toggle through the admin
# API); prints p50/p99/max delivery latency (POST sent → event received). Not a test: no
# thresholds (target from the issue: p99 ≤ 100 ms). Record results in docs/benchmarks.md.
#   bench/ws_fanout.sh [clients=1000] [rounds=5]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${JARVIS_BIN:-$ROOT/build/bin/jarvis}"
CLIENTS="${1:-1000}"
ROUNDS="${2:-5}"
WORK="$(mktemp -d /tmp/jarvis-wsbench-XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
[ -x "$BIN" ] || { echo "build first: make build" >&2; exit 1; }

# The client: one Beast translation unit, header-only Boost.
g++ -std=c++20 -O2 -pthread -o "$WORK/ws_fanout" "$ROOT/bench/ws_fanout.cpp"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
PORT=$(free_port)
export APP_DB="$WORK/jarvis.db" ADMIN_UNLOCK_CODE_PATH="$WORK/unlock_code" LOG_LEVEL=warn
(cd "$WORK" && "$BIN" migrate >/dev/null)
(cd "$WORK" && printf 'bench-password-123\n' | "$BIN" users add bench --admin --password-stdin >/dev/null)
TOKEN=$(cd "$WORK" && "$BIN" tokens create --user bench | tail -n1 | awk '{print $NF}')
ulimit -n "$(ulimit -Hn)"   # 1,000 sockets on each side
(cd "$WORK" && BIND_PORT=$PORT exec "$BIN" serve --no-migrate >"$WORK/jarvis.log" 2>&1) &
PIDS+=($!)
for _ in $(seq 1 500); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.02; done

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores; $CLIENTS clients, $ROUNDS broadcasts"
"$WORK/ws_fanout" --port "$PORT" --token "$TOKEN" --clients "$CLIENTS" --rounds "$ROUNDS"
