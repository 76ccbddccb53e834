#!/usr/bin/env bash
# Chat step benchmark: the host's own overhead per agent step against the fake OpenAI-compatible
# server (tests/support/fakes, the `jarvis-fake-llm` binary) answering instantly, compared with
# the same fake called directly in the same run (bench/chat_bench.cpp has the phases): p50/p99
# from the user message stored to the first streamed token and to `done`, steps/s with C
# concurrent threads, and the host's share of a ~1 s streamed reply. SQLite, default handler
# pool; TASK_RUNNER_MAX_CONCURRENT=C so every concurrent step has a worker. Not a test: no
# thresholds. Record results in docs/benchmarks.md.
#   bench/chat.sh [steps=300] [concurrency=50] [duration_s=10] [slow_replies=10]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${JARVIS_BIN:-$ROOT/build/bin/jarvis}"
FAKE="${JARVIS_FAKE_LLM:-$ROOT/build/tests/jarvis-fake-llm}"
STEPS="${1:-300}"
CONC="${2:-50}"
DUR="${3:-10}"
SLOW="${4:-10}"
WORK="$(mktemp -d /tmp/jarvis-chatbench-XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
[ -x "$BIN" ] || { echo "build first: make build" >&2; exit 1; }
[ -x "$FAKE" ] || { echo "jarvis-fake-llm missing: build the tests (make build)" >&2; exit 1; }
[ -f "$ROOT/build/lib/jarvis/plugins/chat/libchat.so" ] || { echo "chat plugin missing: make build" >&2; exit 1; }

g++ -std=c++20 -O2 -pthread -o "$WORK/chat_bench" "$ROOT/bench/chat_bench.cpp"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
ulimit -n "$(ulimit -Hn)"

# The fake: prints PORT=<n> once listening.
"$FAKE" --dialect openai >"$WORK/fake.out" 2>"$WORK/fake.err" &
PIDS+=($!)
for _ in $(seq 1 250); do grep -q '^PORT=' "$WORK/fake.out" 2>/dev/null && break; sleep 0.02; done
FPORT=$(sed -n 's/^PORT=//p' "$WORK/fake.out")
[ -n "$FPORT" ] || { echo "jarvis-fake-llm did not start: $(cat "$WORK/fake.err")" >&2; exit 1; }

PORT=$(free_port)
export APP_DB="$WORK/jarvis.db" LOG_LEVEL=warn BIND_PORT="$PORT" \
       OPENAI_BASE_URL="http://127.0.0.1:$FPORT/v1" OPENAI_MODEL=fake-model OPENAI_API_KEY=sk-bench \
       MODEL_MAX_RETRIES=0 COMPACTION_EVERY_N_EVENTS=0 CHAT_USER_MAX_CONCURRENT_STEPS=100 \
       TASK_RUNNER_MAX_CONCURRENT="$CONC" JARVIS_PLUGINS_REQUIRED=chat
(cd "$WORK" && "$BIN" migrate >/dev/null)
(cd "$WORK" && echo 'benchmark password' | "$BIN" users add bench --password-stdin >/dev/null)
TOKEN=$(cd "$WORK" && "$BIN" tokens create --user bench 2>/dev/null)
(cd "$WORK" && exec "$BIN" serve --no-migrate >"$WORK/jarvis.log" 2>&1) &
PIDS+=($!)
for _ in $(seq 1 500); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.02; done

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# bench/chat.sh $STEPS $CONC $DUR $SLOW: SQLite, TASK_RUNNER_MAX_CONCURRENT=$CONC; client, host and fake on the same machine"
"$WORK/chat_bench" --host-port "$PORT" --fake-port "$FPORT" --token "$TOKEN" \
  --steps "$STEPS" --concurrency "$CONC" --duration "$DUR" --slow "$SLOW"
echo "jarvis RSS after the run: $(awk '/VmRSS/ {print $2 " " $3}' /proc/"${PIDS[1]}"/status 2>/dev/null || echo '?')"
if grep -qiE ' (error|critical) ' "$WORK/jarvis.log"; then
  echo "host errors during the run:"; grep -iE ' (error|critical) ' "$WORK/jarvis.log" | tail -5
fi
