#!/usr/bin/env bash
# deploy/healthcheck.sh [readyz-url] — is the host ready? One GET of /readyz with a timeout.
#
#   ./deploy/healthcheck.sh                              # http://127.0.0.1:${BIND_PORT:-8000}/readyz
#   HEALTHCHECK_TIMEOUT_SECONDS=2 ./deploy/healthcheck.sh http://10.0.0.5:8000/readyz
#
# Exit codes: 0 ready (200), 1 not ready (503: the body says which check failed), 2 unreachable
# (refused, timeout, DNS), 3 an unexpected answer (another status, not a jarvis /readyz), 64 usage.
set -uo pipefail

[ $# -le 1 ] || { echo "usage: $0 [readyz-url]" >&2; exit 64; }
URL="${1:-${JARVIS_READYZ_URL:-http://127.0.0.1:${BIND_PORT:-8000}/readyz}}"
TIMEOUT="${HEALTHCHECK_TIMEOUT_SECONDS:-5}"
case "$TIMEOUT" in '' | *[!0-9]*) echo "HEALTHCHECK_TIMEOUT_SECONDS must be a whole number" >&2; exit 64 ;; esac

body_file=$(mktemp)
trap 'rm -f "$body_file"' EXIT
status=$(curl -sS --noproxy '*' --max-time "$TIMEOUT" --connect-timeout "$TIMEOUT" \
  -o "$body_file" -w '%{http_code}' "$URL" 2>/dev/null) || status="000"
body=$(head -c 2000 "$body_file")

case "$status" in
  200)
    # The readiness document says "ok":true — not merely a key named "ok" ({"ok":false}).
    if grep -Eq '"ok"[[:space:]]*:[[:space:]]*true' "$body_file"; then
      echo "ready: $URL"
      exit 0
    fi
    echo "unexpected answer from $URL (200 without a readiness document): $body" >&2
    exit 3
    ;;
  503)
    echo "not ready: $URL: $body" >&2
    exit 1
    ;;
  000)
    echo "unreachable: $URL (no answer within ${TIMEOUT}s: refused, timed out or unresolvable)" >&2
    exit 2
    ;;
  *)
    echo "unexpected answer from $URL: HTTP $status: $body" >&2
    exit 3
    ;;
esac
