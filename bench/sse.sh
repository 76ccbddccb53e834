#!/usr/bin/env bash
# SSE benchmark: N concurrent server-sent-event streams (default 1000) from a real `jarvis serve`,
# each receiving E events (default 100) one every M ms (default 20; 0 = all at once), written by
# the test-only fixture plugin sse_bench (tests/fixtures/plugins/sse_bench, never loaded by
# `make run`) from its producer thread. Prints events/s and p50/p99/max delivery latency (the send
# time in the event's data → receipt). Default handler pool and limits. Not a test: no thresholds.
# Record results in docs/benchmarks.md.
#   bench/sse.sh [streams=1000] [events=100] [interval_ms=20]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${JARVIS_BIN:-$ROOT/build/bin/jarvis}"
FIXTURE="${JARVIS_SSE_FIXTURE:-$ROOT/build/lib/jarvis/test-plugins/sse_bench}"
STREAMS="${1:-1000}"
EVENTS="${2:-100}"
INTERVAL="${3:-20}"
WORK="$(mktemp -d /tmp/jarvis-ssebench-XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
[ -x "$BIN" ] || { echo "build first: make build" >&2; exit 1; }
[ -f "$FIXTURE/libsse_bench.so" ] || { echo "fixture missing: build the tests (make build)" >&2; exit 1; }

g++ -std=c++20 -O2 -o "$WORK/sse_bench" "$ROOT/bench/sse_bench.cpp"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
PORT=$(free_port)
mkdir -p "$WORK/plugins"
ln -s "$FIXTURE" "$WORK/plugins/sse_bench"
export APP_DB="$WORK/jarvis.db" JARVIS_PLUGIN_DIRS="$WORK/plugins" JARVIS_PLUGINS_REQUIRED=sse_bench LOG_LEVEL=warn
(cd "$WORK" && "$BIN" migrate >/dev/null)
ulimit -n "$(ulimit -Hn)"
(cd "$WORK" && BIND_PORT=$PORT exec "$BIN" serve --no-migrate >"$WORK/jarvis.log" 2>&1) &
PIDS+=($!)
for _ in $(seq 1 500); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.02; done

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# $STREAMS streams x $EVENTS events, one every ${INTERVAL} ms; client and server on the same machine"
"$WORK/sse_bench" --port "$PORT" --streams "$STREAMS" --events "$EVENTS" --interval-ms "$INTERVAL"
echo "jarvis RSS after the run: $(awk '/VmRSS/ {print $2 " " $3}' /proc/"${PIDS[0]}"/status 2>/dev/null || echo '?')"
