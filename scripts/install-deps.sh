#!/usr/bin/env bash
# Installs every Debian package the project needs (build, run, test, bench).
# Idempotent: installs only what is missing; a no-op on a ready machine.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config ninja-build ccache clang-format lld
  libboost-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libcurl4-openssl-dev
  libsoci-dev libsqlite3-dev libpq-dev nlohmann-json3-dev libsodium-dev
  libgtest-dev libgmock-dev
  postgresql sqlite3 curl python3 tzdata bc
  json-schema-test-suite
  wrk nginx
  libhnswlib-dev
  pocketsphinx libpocketsphinx-dev pocketsphinx-en-us pocketsphinx-testdata
  libopusfile-dev opus-tools
  libsystemd-dev
  bubblewrap
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node and npm run the vendors' official clients against the fake LLM servers (tests/node; the
# packages come from package-lock.json through ctest's node_deps fixture). Checked by command, not
# by package: a machine may have a newer Node from another source, whose own npm would conflict
# with Debian's npm package.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y --no-install-recommends "${missing[@]}"
