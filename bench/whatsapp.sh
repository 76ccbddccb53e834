#!/usr/bin/env bash
# WhatsApp benchmarks (plugins/whatsapp). Not a test: no thresholds. Record results in
# docs/benchmarks.md.
#  1. Durable webhook ingest on SQLite: wrk POSTs Evolution `messages.upsert` text deliveries
#     (each with a new key.id, 200 chats per wrk thread) to /api/v1/webhooks/whatsapp with
#     X-WhatsApp-Secret; a 200 means the message row (stored already emitted), the chat's sequence
#     number and the channel.inbound event were committed in one transaction (decision 0065).
#     Reports accepted msgs/s (wrk) and the rows actually stored (sqlite3 count) — target >= 2,000/s.
#     Review off, no chat plugin: channel.inbound events are stored, nobody consumes them.
#     PERF=1 also samples the server with `perf record -g` during the run and prints the top of
#     `perf report` (where the time per message goes).
#  2. pocketsphinx real-time factor on Debian's pocketsphinx-testdata recording "go forward ten
#     meters" encoded to OGG/Opus (the unit test WhatsappAudio.ARealRecording… prints the times).
#   bench/whatsapp.sh [duration_s=10] [connections=32] [threads=2]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${JARVIS_BIN:-$ROOT/build/bin/jarvis}"
TEST_BIN="$ROOT/build/bin/test_plugin_whatsapp"
DUR="${1:-10}"
CONN="${2:-32}"
THREADS="${3:-2}"
WORK="$(mktemp -d /tmp/jarvis-wabench-XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
[ -x "$BIN" ] || { echo "build first: make build" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is not installed (scripts/install-deps.sh)" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
ulimit -n "$(ulimit -Hn)"

PORT=$(free_port)
export APP_DB="$WORK/jarvis.db" LOG_LEVEL=warn BIND_PORT="$PORT" \
       WHATSAPP_WEBHOOK_SECRET=bench-secret WHATSAPP_REVIEW_MODE=off \
       JARVIS_PLUGINS_DISABLED=chat,bugs,maintenance,github,memory JARVIS_PLUGINS_REQUIRED=whatsapp \
       WHATSAPP_MEDIA_DIR="$WORK/media"
cd "$WORK"
"$BIN" migrate >/dev/null
"$BIN" serve >"$WORK/serve.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.05; done

cat >"$WORK/upsert.lua" <<'LUA'
local counter = 0
local id = 0
function setup(thread) id = id + 1; thread:set("tid", id) end
function init(args) counter = 0 end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-WhatsApp-Secret"] = "bench-secret"
request = function()
  counter = counter + 1
  local key = string.format("B%d_%d", tid, counter)
  local jid = string.format("55119%08d@s.whatsapp.net", (counter % 200) + tid * 1000)
  local body = '{"event":"messages.upsert","instance":"jarvis","data":{"key":{"remoteJid":"' .. jid ..
    '","fromMe":false,"id":"' .. key .. '"},"pushName":"Bench","messageType":"conversation",' ..
    '"messageTimestamp":1733040000,"message":{"conversation":"benchmark message ' .. key .. '"}}}'
  return wrk.format(nil, "/api/v1/webhooks/whatsapp", nil, body)
end
local bad = 0
response = function(status, headers, body) if status ~= 200 then bad = bad + 1 end end
done = function(summary, latency, requests)
  io.write(string.format("non-200 answers: %d\n", summary.errors.status))
end
LUA
echo "== webhook ingest: wrk -t$THREADS -c$CONN -d${DUR}s (SQLite, $(nproc) cores; $(uptime | sed 's/.*load/load/'))"
if [ "${PERF:-0}" = 1 ] && command -v perf >/dev/null; then
  perf record -F 499 -g -p "${PIDS[0]}" -o "$WORK/perf.data" -- sleep "$DUR" >/dev/null 2>&1 &
  PERF_PID=$!
fi
wrk -t"$THREADS" -c"$CONN" -d"${DUR}s" --latency -s "$WORK/upsert.lua" \
    "http://127.0.0.1:$PORT/api/v1/webhooks/whatsapp" | tee "$WORK/wrk.out"
# The group commit's counters (plugin health in /readyz): messages per committed transaction.
curl -fs "http://127.0.0.1:$PORT/readyz" | python3 -c '
import json, sys
r = json.load(sys.stdin)
g = next(p for p in r["plugins"] if p["name"] == "whatsapp").get("health_details", {}).get("ingest_group_commit", {})
c, m = g.get("commits", 0), g.get("messages", 0)
print("handler threads: %d; group commits: %d holding %d messages (%.2f per commit)" % (r["http"]["handler_threads"], c, m, m / c if c else 0))' || true
STORED=$(python3 -c "import sqlite3;print(sqlite3.connect('$WORK/jarvis.db').execute('select count(*) from whatsapp_messages').fetchone()[0])")
if [ -n "${PERF_PID:-}" ]; then
  wait "$PERF_PID" || true
  cp "$WORK/perf.data" "${PERF_OUT:-/tmp/jarvis-wabench-perf.data}" 2>/dev/null || true
  echo "== perf: top self time in jarvis serve during the run"
  { perf report -i "$WORK/perf.data" --stdio --no-children -g none --sort dso,symbol 2>/dev/null |
      grep -E '^ +[0-9]' | cut -c1-110 | head -30; } || true
  echo "== perf: inclusive time (children) of the ingest path's functions"
  { perf report -i "$WORK/perf.data" --stdio --children -g none --sort symbol 2>/dev/null |
      grep -E '^ +[0-9]' | grep -Ei 'whatsapp|sqlite3_(step|prepare)|soci|json|commit' |
      cut -c1-130 | head -40; } || true
fi
echo "rows stored: $STORED ($(python3 -c "print(round($STORED/$DUR))") msgs/s over ${DUR}s)"
kill "${PIDS[0]}" 2>/dev/null || true
wait "${PIDS[0]}" 2>/dev/null || true
PIDS=()

if [ -x "$TEST_BIN" ]; then
  echo "== pocketsphinx real-time factor (OGG/Opus → 16 kHz PCM → pocketsphinx, warm decoder)"
  "$TEST_BIN" --gtest_filter='WhatsappAudio.ARealRecording*' 2>&1 | grep -E "^pocketsphinx"
fi
