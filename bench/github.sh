#!/usr/bin/env bash
# GitHub webhook benchmark (plugins/github): (1) signed `pull_request` deliveries per second that
# the host accepts durably (202 after the delivery row and its task are committed), driven by wrk
# with bench/github.lua giving every request its own X-GitHub-Delivery; (2) the time from a
# delivery to the summary comment on the fake GitHub API (jarvis-fake-github), sequentially,
# p50/p99. SQLite with the default durability, default handler pool and task workers; the body is
# the unchanged `pull_request` "opened" example of @octokit/webhooks-examples, signed by
# @octokit/webhooks-methods. Client, host and fake share the machine. Not a test: no thresholds.
# Record results in docs/benchmarks.md.
#   bench/github.sh [duration_s=10] [connections=32] [threads=2] [latency_samples=100] [files=20]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${JARVIS_BIN:-$ROOT/build/bin/jarvis}"
FAKE="${JARVIS_FAKE_GITHUB:-$ROOT/build/tests/jarvis-fake-github}"
DUR="${1:-10}"
CONN="${2:-32}"
THREADS="${3:-2}"
SAMPLES="${4:-100}"
FILES="${5:-20}"
WORK="$(mktemp -d /tmp/jarvis-githubbench-XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
[ -x "$BIN" ] || { echo "build first: make build" >&2; exit 1; }
[ -x "$FAKE" ] || { echo "jarvis-fake-github missing: build the tests (make build)" >&2; exit 1; }
[ -f "$ROOT/build/lib/jarvis/plugins/github/libgithub.so" ] || { echo "github plugin missing: make build" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
[ -d "$ROOT/node_modules/@octokit/webhooks-examples" ] || { echo "run npm ci first" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
ulimit -n "$(ulimit -Hn)"
SECRET="bench-secret-$RANDOM"

# The body (unchanged example) and its signature by GitHub's own signing code.
(cd "$ROOT" && node -e '
  const idx = require("./node_modules/@octokit/webhooks-examples/api.github.com/index.json");
  const ex = idx.find((e) => e.name === "pull_request").examples.find((x) => x.action === "opened");
  require("fs").writeFileSync(process.argv[1], JSON.stringify(ex));' "$WORK/body.json")
printf '%s' "$SECRET" >"$WORK/secret"
SIG=$(cd "$ROOT" && node plugins/github/tests/sign.mjs "$WORK/secret" "$WORK/body.json")

"$FAKE" --token ghp_bench --bot jarvis-bench >"$WORK/fake.out" 2>"$WORK/fake.err" &
PIDS+=($!)
for _ in $(seq 1 250); do grep -q '^PORT=' "$WORK/fake.out" 2>/dev/null && break; sleep 0.02; done
FPORT=$(sed -n 's/^PORT=//p' "$WORK/fake.out")
[ -n "$FPORT" ] || { echo "jarvis-fake-github did not start: $(cat "$WORK/fake.err")" >&2; exit 1; }
curl -fs -o /dev/null -H 'Content-Type: application/json' \
  -d "{\"repo\":\"Codertocat/Hello-World\",\"pull\":{\"number\":2},\"file_count\":$FILES}" \
  "http://127.0.0.1:$FPORT/_fake/pulls"

PORT=$(free_port)
export APP_DB="$WORK/jarvis.db" LOG_LEVEL=warn BIND_PORT="$PORT" JARVIS_PLUGINS_REQUIRED=github \
       JARVIS_PLUGINS_DISABLED=chat GITHUB_WEBHOOK_SECRET="$SECRET" GITHUB_TOKEN=ghp_bench \
       GITHUB_BOT_LOGIN=jarvis-bench GITHUB_API_BASE_URL="http://127.0.0.1:$FPORT" \
       GITHUB_PR_SUMMARY_ENABLED=1
(cd "$WORK" && "$BIN" migrate >/dev/null)
(cd "$WORK" && exec "$BIN" serve --no-migrate >"$WORK/jarvis.log" 2>&1) &
PIDS+=($!)
for _ in $(seq 1 500); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.02; done
URL="http://127.0.0.1:$PORT/api/v1/webhooks/github"

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# bench/github.sh $DUR $CONN $THREADS $SAMPLES $FILES: SQLite (default durability), body $(stat -c %s "$WORK/body.json") bytes, PR of $FILES files on the fake"

# (1) Throughput: a short warm-up, then the measured run.
GITHUB_BENCH_BODY="$WORK/body.json" GITHUB_BENCH_SIGNATURE="$SIG" GITHUB_BENCH_RUN=warm \
  wrk -t"$THREADS" -c"$CONN" -d2s -s "$ROOT/bench/github.lua" "$URL" >/dev/null
echo "## accepted deliveries (wrk -t$THREADS -c$CONN -d${DUR}s, each request its own X-GitHub-Delivery)"
GITHUB_BENCH_BODY="$WORK/body.json" GITHUB_BENCH_SIGNATURE="$SIG" GITHUB_BENCH_RUN=main \
  wrk -t"$THREADS" -c"$CONN" -d"${DUR}s" --latency -s "$ROOT/bench/github.lua" "$URL" \
  | grep -E "Requests/sec|requests:|latency p|Non-2xx|Socket errors"
ROWS=$(sqlite3 "$WORK/jarvis.db" "SELECT COUNT(*) FROM github_deliveries WHERE delivery_id LIKE 'main-%'")
echo "delivery rows committed by the measured run: $ROWS"

# Let the queued summaries drain before the latency phase.
for _ in $(seq 1 600); do
  Q=$(sqlite3 "$WORK/jarvis.db" "SELECT COUNT(*) FROM tasks WHERE name = 'github.pr_summary' AND status IN ('queued','running')" 2>/dev/null || echo 0)
  [ "$Q" = "0" ] && break; sleep 0.1
done

# (2) Delivery → summary comment, one at a time (each waits for the comment write on the fake,
# then 200 ms so the finished task no longer joins the next delivery of the same head sha).
echo "## delivery → summary comment on the fake ($SAMPLES sequential deliveries)"
(cd "$ROOT" && node --input-type=module -e '
  const [url, fake, sig, body, samples] = process.argv.slice(1);
  const fs = await import("node:fs");
  const payload = fs.readFileSync(body);
  const state = async () => (await (await fetch(fake + "/_fake/state")).json()).comment_writes;
  const times = [];
  let writes = await state();
  for (let i = 0; i < Number(samples); i++) {
    const t0 = performance.now();
    const r = await fetch(url, { method: "POST", body: payload, headers: {
      "content-type": "application/json", "x-github-event": "pull_request",
      "x-github-delivery": "lat-" + i, "x-hub-signature-256": sig } });
    if (r.status !== 202) throw new Error("delivery " + i + ": " + r.status + " " + await r.text());
    const w = await (await fetch(fake + "/_fake/wait_comment_writes?count=" + (writes + 1) + "&timeout_ms=30000")).json();
    if (!w.reached) throw new Error("no comment for delivery " + i);
    times.push(performance.now() - t0);
    writes = w.comment_writes;
    await new Promise((res) => setTimeout(res, 200));
  }
  times.sort((a, b) => a - b);
  const q = (p) => times[Math.min(times.length - 1, Math.ceil((p / 100) * times.length) - 1)];
  console.log(`samples ${times.length}: p50 ${q(50).toFixed(1)} ms, p90 ${q(90).toFixed(1)} ms, p99 ${q(99).toFixed(1)} ms, max ${times.at(-1).toFixed(1)} ms`);
' "$URL" "http://127.0.0.1:$FPORT" "$SIG" "$WORK/body.json" "$SAMPLES")
echo "jarvis RSS after the run: $(awk '/VmRSS/ {print $2 " " $3}' /proc/"${PIDS[1]}"/status 2>/dev/null || echo '?')"
if grep -qiE ' (error|critical) ' "$WORK/jarvis.log"; then
  echo "host errors during the run:"; grep -iE ' (error|critical) ' "$WORK/jarvis.log" | tail -5
fi
