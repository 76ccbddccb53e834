#!/usr/bin/env bash
# Auth benchmark: authenticated `GET /api/v1/auth/me` (Bearer token: a token lookup joined with
# its user on every request) against nginx `return 200`, same machine, same run, same wrk settings.
# Target (issue 3): jarvis ≥ 0.4 × nginx. Also: the same route via the session cookie, and the
# cost of one login (argon2id). Prints req/s and ratios.
#   bench/auth.sh [duration_seconds=10] [connections=32]
# Needs: wrk, nginx, curl. Not a test: no thresholds.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
source "$ROOT/bench/lib.sh"
bench_header

# jarvis: migrated SQLite database, one user, one API token.
export APP_DB="$WORK/jarvis.db"
(cd "$WORK" && "$BIN" migrate >/dev/null)
(cd "$WORK" && printf 'bench password\n' | "$BIN" users add bench --password-stdin >/dev/null)
TOKEN=$(cd "$WORK" && "$BIN" tokens create --user bench --ttl 1 2>/dev/null)
start_jarvis
wait_200 -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$JPORT/api/v1/auth/me"

start_nginx

N=$(rps "http://127.0.0.1:$NPORT/healthz")
H=$(rps "http://127.0.0.1:$JPORT/healthz")
B=$(rps "http://127.0.0.1:$JPORT/api/v1/auth/me" -H "Authorization: Bearer $TOKEN")
C=$(rps "http://127.0.0.1:$JPORT/api/v1/auth/me" -H "Cookie: jarvis_session=$TOKEN")
U=$(rps "http://127.0.0.1:$JPORT/api/v1/auth/me")
printf "%-36s %12s %8s\n" "server" "req/s" "ratio"
printf "%-36s %12s %8s\n" "nginx return 200" "$N" "1.00"
printf "%-36s %12s %8.2f\n" "jarvis /healthz (public)" "$H" "$(ratio "$H" "$N")"
printf "%-36s %12s %8.2f\n" "jarvis /api/v1/auth/me Bearer" "$B" "$(ratio "$B" "$N")"
printf "%-36s %12s %8.2f\n" "jarvis /api/v1/auth/me cookie" "$C" "$(ratio "$C" "$N")"
printf "%-36s %12s %8.2f\n" "jarvis /api/v1/auth/me anonymous 401" "$U" "$(ratio "$U" "$N")"

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
