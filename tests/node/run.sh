#!/usr/bin/env bash
# Runs one tests/node/*.test.mjs file with Node's own test runner (ctest's node_* tests).
# The runtime is chosen by node.sh (the pinned one from package-lock.json, else a system Node 20+).
# Missing node is a failure, never a skip: scripts/install-deps.sh installs it.
# usage: run.sh <test file>   (JARVIS_FAKE_DIR names the directory of the fake server binaries)
set -euo pipefail
exec "$(dirname "$0")/node.sh" --test --test-reporter=spec "$1"
