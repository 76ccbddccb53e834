#!/usr/bin/env bash
# Checks a running host: liveness and readiness. Exit 0 when ready.
set -euo pipefail
BASE="${JARVIS_URL:-http://127.0.0.1:${BIND_PORT:-8000}}"
curl -fsS "$BASE/healthz" >/dev/null || { echo "healthz: not answering at $BASE"; exit 1; }
if body=$(curl -fsS "$BASE/readyz"); then
  echo "ready: $body"
else
  echo "not ready: $(curl -sS "$BASE/readyz" || true)"
  exit 1
fi
