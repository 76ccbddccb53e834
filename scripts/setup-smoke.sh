#!/usr/bin/env bash
# scripts/setup-smoke.sh — "Local Setup Smoke Validation" (docs/runbook.md, decision 0061):
# toolchain, Debian packages, host-port preflight, migrations on a scratch database, the built host
# starting on a free port and answering /readyz, and the web UI's files. Every step runs (one
# failure does not hide the next); the end is a list of what failed and how to fix it.
#
# usage: scripts/setup-smoke.sh [--running]
#   --running    skip the BIND_PORT preflight (a jarvis or other service is intentionally there)
# environment:
#   BUILD_DIR        build directory (default: build)
#   JARVIS_BIN       host binary (default: $BUILD_DIR/bin/jarvis)
#   BIND_HOST, BIND_PORT  the port the preflight checks (default from .env, else 127.0.0.1:8000)
#   SMOKE_ONLY       space-separated subset of: toolchain packages port binary migrations readyz web
#   SMOKE_READYZ_ATTEMPTS  /readyz polls, 0.5 s apart (default 60)
# exit: 0 every step passed, 1 some step failed, 2 usage.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
running=0
for arg in "$@"; do
  case "$arg" in
    --running) running=1 ;;
    -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup-smoke: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

build_dir=${BUILD_DIR:-build}
case "$build_dir" in /*) ;; *) build_dir="$root/$build_dir" ;; esac
jarvis_bin=${JARVIS_BIN:-$build_dir/bin/jarvis}
only=" ${SMOKE_ONLY:-toolchain packages port binary migrations readyz web} "
attempts=${SMOKE_READYZ_ATTEMPTS:-60}

failures=()
ok() { printf '[ ok ] %s: %s\n' "$1" "$2"; }
fail() {  # step, what, fix
  printf '[FAIL] %s: %s\n' "$1" "$2"
  failures+=("$1: $2 -> fix: $3")
}
skip() { printf '[skip] %s: %s\n' "$1" "$2"; }
want() { [[ "$only" == *" $1 "* ]]; }

# --- toolchain ------------------------------------------------------------------------------
if want toolchain; then
  compiler=""
  for c in "${CXX:-}" c++ g++ clang++; do
    [ -n "$c" ] && command -v "$c" >/dev/null 2>&1 && { compiler=$c; break; }
  done
  if [ -n "$compiler" ]; then
    ok toolchain "C++ compiler: $compiler ($("$compiler" --version 2>/dev/null | head -1))"
  else
    fail toolchain "no C++ compiler (c++, g++ or clang++) on PATH" \
      "./scripts/install-deps.sh (installs build-essential)"
  fi
  # tool:package that provides it
  for pair in cmake:cmake ninja:ninja-build pkg-config:pkg-config git:git curl:curl \
              node:nodejs npm:npm; do
    tool=${pair%%:*}
    pkg=${pair#*:}
    if command -v "$tool" >/dev/null 2>&1; then
      ok toolchain "$tool: $("$tool" --version 2>/dev/null | head -1)"
    else
      fail toolchain "'$tool' not found on PATH" "./scripts/install-deps.sh (installs $pkg)"
    fi
  done
  if command -v cmake >/dev/null 2>&1; then
    v=$(cmake --version | head -1 | sed 's/[^0-9.]*//g')
    major=${v%%.*}; rest=${v#*.}; minor=${rest%%.*}
    if [ "${major:-0}" -lt 3 ] || { [ "${major:-0}" -eq 3 ] && [ "${minor:-0}" -lt 20 ]; }; then
      fail toolchain "cmake $v is older than 3.20" "install a newer cmake (Debian 12 ships 3.25)"
    fi
  fi
  # Any system node will do for npm ci: the Node checks run on the runtime package-lock.json pins
  # (tests/node/node.sh, decision 0069). Without it (another architecture) they need Node 20+.
  if command -v node >/dev/null 2>&1 && [ "$(uname -m)" != x86_64 ]; then
    nmajor=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
    if [ "${nmajor:-0}" -lt 20 ]; then
      fail toolchain "node $(node --version 2>/dev/null) is older than 20 and no pinned runtime exists for $(uname -m)" \
        "install Node 20 or newer"
    fi
  fi
fi

# --- Debian packages (the list in scripts/install-deps.sh) ---------------------------------------
if want packages; then
  if ! command -v dpkg-query >/dev/null 2>&1; then
    skip packages "dpkg-query not available (not Debian): check scripts/install-deps.sh by hand"
  else
    mapfile -t pkgs < <(sed -n '/^PACKAGES=(/,/^)/p' "$root/scripts/install-deps.sh" |
                          sed '1d;$d' | tr -s ' \t' '\n' | sed '/^$/d')
    missing=()
    for p in "${pkgs[@]}"; do
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then
      ok packages "all ${#pkgs[@]} packages of scripts/install-deps.sh installed"
    else
      fail packages "missing Debian packages: ${missing[*]}" "./scripts/install-deps.sh"
    fi
  fi
fi

# --- host-port preflight ----------------------------------------------------------------------
dotenv_value() {  # KEY: its value in ./.env, if any
  [ -f "$root/.env" ] && sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$root/.env" |
    tail -1 | tr -d '"'"'"
}
port_open() {  # host port: true when something accepts TCP connections there
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}
if want port; then
  bind_host=${BIND_HOST:-$(dotenv_value BIND_HOST)}
  bind_host=${bind_host:-127.0.0.1}
  [ "$bind_host" = "0.0.0.0" ] && bind_host=127.0.0.1
  bind_port=${BIND_PORT:-$(dotenv_value BIND_PORT)}
  bind_port=${bind_port:-8000}
  if [ "$running" -eq 1 ]; then
    skip port "BIND_PORT preflight skipped (--running): $bind_host:$bind_port may be in use"
  elif port_open "$bind_host" "$bind_port"; then
    who="another process"
    if command -v curl >/dev/null 2>&1 &&
       curl -fsS -m 2 "http://$bind_host:$bind_port/readyz" 2>/dev/null | grep -q '"plugins"'; then
      who="a running jarvis"
    fi
    fail port "$bind_host:$bind_port (BIND_PORT) is in use by $who" \
      "stop it, set BIND_PORT to a free port, or run make setup-smoke-running if it is meant to run"
  else
    ok port "$bind_host:$bind_port (BIND_PORT) is free"
  fi
fi

# --- the built host -----------------------------------------------------------------------------
binary_ok=0
if want binary || want migrations || want readyz; then
  if [ -x "$jarvis_bin" ] && "$jarvis_bin" version >/dev/null 2>&1; then
    binary_ok=1
    want binary && ok binary "$("$jarvis_bin" version) at $jarvis_bin"
  else
    fail binary "no working host binary at $jarvis_bin" "make build"
  fi
fi

STOP_HOST_SECONDS=${SMOKE_STOP_SECONDS:-10}
# shellcheck source=scripts/scratch-host.sh
source "$root/scripts/scratch-host.sh"
scratch_init jarvis-setup-smoke
# The scratch host sees only its own settings: its working directory is the scratch directory (no
# .env or jarvis.yaml of the checkout), an empty environment (env -i: none of the operator's
# exported variables — MEMORY_EMBED_BASE_URL, BACKUP_LOCAL_DIR, provider keys — reaches it) and
# the variables below.
scratch_env=(env -i PATH="$PATH" HOME="${HOME:-/tmp}" LANG="${LANG:-C.UTF-8}" TMPDIR="${TMPDIR:-/tmp}"
             APP_DB="$scratch/smoke.db" LOG_LEVEL=warn JARVIS_CONFIG_FILE="$scratch/none.yaml"
             BACKUP_LOCAL_DIR="$scratch/backups")

# --- migrations on a scratch database --------------------------------------------------------
migrated=0
if want migrations && [ "$binary_ok" -eq 1 ]; then
  if out=$(cd "$scratch" && "${scratch_env[@]}" "$jarvis_bin" migrate 2>&1) &&
     (cd "$scratch" && "${scratch_env[@]}" "$jarvis_bin" migrate --status >/dev/null 2>&1); then
    migrated=1
    ok migrations "$(printf '%s\n' "$out" | tail -1)"
  else
    fail migrations "jarvis migrate on a scratch database failed: $(printf '%s\n' "$out" | tail -3 | tr '\n' ' ')" \
      "read the message above; a plugin's migration error names the plugin (jarvis plugins info NAME)"
  fi
fi

# --- the host starts on a free port and answers /readyz ----------------------------------------
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$(( 20000 + RANDOM % 40000 ))
    port_open 127.0.0.1 "$p" || { echo "$p"; return 0; }
  done
  return 1
}
if want readyz && [ "$binary_ok" -eq 1 ]; then
  if [ "$migrated" -eq 0 ] && want migrations; then
    fail readyz "not tried: the scratch database did not migrate" "fix the migrations step first"
  elif ! command -v curl >/dev/null 2>&1; then
    fail readyz "not tried: curl is missing" "./scripts/install-deps.sh (installs curl)"
  elif ! port=$(free_port); then
    fail readyz "no free port found for the scratch host" "free some ports, then rerun"
  else
    (cd "$scratch" && exec "${scratch_env[@]}" BIND_HOST=127.0.0.1 BIND_PORT="$port" \
       "$jarvis_bin" serve >"$scratch/serve.log" 2>&1) &
    server_pid=$!
    status=""
    for _ in $(seq 1 "$attempts"); do
      if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
      status=$(curl -s -o "$scratch/readyz.json" -w '%{http_code}' -m 2 \
                 "http://127.0.0.1:$port/readyz" 2>/dev/null) || status=""
      [ "$status" = "200" ] && break
      sleep 0.5
    done
    if [ "$status" = "200" ] && grep -q '"plugins"' "$scratch/readyz.json"; then
      ok readyz "the built host served /readyz 200 on 127.0.0.1:$port (scratch database)"
    elif ! kill -0 "$server_pid" 2>/dev/null; then
      wait "$server_pid" 2>/dev/null
      rc=$?
      server_pid=""
      how="exit $rc"
      [ "$rc" -gt 128 ] && how="killed by SIG$(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))"
      fail readyz "the host exited at start-up ($how): $(tail -3 "$scratch/serve.log" | tr '\n' ' ')" \
        "read the log line above (jarvis serve prints why it stopped; a signal is a crash: run it under gdb)"
    else
      fail readyz "/readyz answered '${status:-nothing}' after $attempts attempts: $(head -c 300 "$scratch/readyz.json" 2>/dev/null)" \
        "curl http://127.0.0.1:$port/readyz names the component that is not ready"
    fi
    stop_host "$server_pid"
    server_pid=""
  fi
fi

# --- the web UI ---------------------------------------------------------------------------------
if want web; then
  if [ -f "$root/web/dist/index.html" ]; then
    ok web "web/dist/index.html present (served at /)"
  else
    fail web "web/dist/index.html is missing" "git checkout web/dist (the UI is checked in; web/README.md)"
  fi
fi

echo
if [ ${#failures[@]} -eq 0 ]; then
  echo "setup-smoke: all steps passed"
  exit 0
fi
echo "setup-smoke: ${#failures[@]} step(s) failed:"
for f in "${failures[@]}"; do echo "  - $f"; done
exit 1
