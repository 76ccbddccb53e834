#!/usr/bin/env bash
# Runs one tests/node/*.test.mjs file with Node's own test runner (ctest's node_* tests).
# Missing node is a failure, never a skip: scripts/install-deps.sh installs it.
# usage: run.sh <test file>   (JARVIS_FAKE_LLM names the fake server binary)
set -euo pipefail
if ! command -v node >/dev/null; then
  echo "node is not installed (run scripts/install-deps.sh)" >&2
  exit 1
fi
exec node --test --test-reporter=spec "$1"
