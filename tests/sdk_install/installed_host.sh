#!/usr/bin/env bash
# tests/sdk_install/installed_host.sh — an INSTALLED host runs without its source or build tree.
#
#   tests/sdk_install/installed_host.sh BUILD_DIR SOURCE_DIR
#
# Installs BUILD_DIR (cmake --install) to a fresh temp prefix and checks the installed layout
# (bin/jarvis, lib/libjarvis_sdk.so.*, lib/jarvis/plugins/<name>/, share/jarvis/{migrations,web}),
# that no installed binary or plugin names the source or build tree (strings) and that their run
# paths are $ORIGIN-relative or absent (readelf -d). Then, with the working directory outside the
# tree and — when it can (root, unshare) — the source and build trees hidden behind empty tmpfs
# mounts in a private mount namespace, it runs the installed `jarvis migrate` and `jarvis serve`
# on a free port and checks /healthz, /readyz (every installed plugin started), the web UI (/) and
# a plugin route (GET /api/v1/bugs with an admin token), then stops the server with SIGTERM.
# Registered in ctest as `installed_host`. Exits non-zero with a message naming the failed step.
set -euo pipefail

[ $# -eq 2 ] || {
  echo "usage: $0 BUILD_DIR SOURCE_DIR" >&2
  exit 2
}
BUILD_DIR=$(cd "$1" && pwd -P)
SOURCE_DIR=$(cd "$2" && pwd -P)

# shellcheck source=tests/sdk_install/lib.sh
. "$(dirname "$0")/lib.sh"
for tool in cmake readelf strings curl python3; do
  command -v "$tool" >/dev/null || fail "required tool '$tool' not found"
done

TMP_PARENT=${TMPDIR:-/tmp}
case "$(cd "$TMP_PARENT" && pwd -P)/" in
  "$SOURCE_DIR"/* | "$BUILD_DIR"/*) TMP_PARENT=/tmp ;;
esac
WORK=$(mktemp -d "$TMP_PARENT/jarvis-installed-host.XXXXXX")
WORK=$(cd "$WORK" && pwd -P)
PREFIX="$WORK/prefix"
RUN="$WORK/run"
LOG="$WORK/log"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$RUN"


# ---------------------------------------------------------------------------------------------
step "install $BUILD_DIR to $PREFIX"
run_logged "cmake --install failed" cmake --install "$BUILD_DIR" --prefix "$PREFIX"
JARVIS="$PREFIX/bin/jarvis"
for f in bin/jarvis share/jarvis/migrations share/jarvis/web/index.html lib/jarvis/plugins; do
  [ -e "$PREFIX/$f" ] || fail "the install lacks $f"
done
ls "$PREFIX"/share/jarvis/migrations/*.sql >/dev/null 2>&1 || fail "no host migration installed"
SDK_LIB=$(ls "$PREFIX"/lib*/libjarvis_sdk.so.* "$PREFIX"/lib/*/libjarvis_sdk.so.* 2>/dev/null |
  head -n1 || true)
[ -n "$SDK_LIB" ] || fail "the install lacks libjarvis_sdk.so.*"
PLUGINS=()
for d in "$PREFIX"/lib/jarvis/plugins/*/; do
  name=$(basename "$d")
  for f in "lib$name.so" plugin.yaml; do
    [ -f "$d/$f" ] || fail "installed plugin folder $d lacks $f"
  done
  PLUGINS+=("$name")
done
[ ${#PLUGINS[@]} -gt 0 ] || fail "no plugin installed under lib/jarvis/plugins"
for fixture in hello good bad_abi; do
  [ ! -e "$PREFIX/lib/jarvis/plugins/$fixture" ] || fail "test fixture plugin $fixture was installed"
done
echo "installed: bin/jarvis, $(basename "$SDK_LIB"), plugins: ${PLUGINS[*]}"

# ---------------------------------------------------------------------------------------------
step "installed binaries name neither the source nor the build tree; run paths are relative"
BINARIES=("$JARVIS" "$SDK_LIB")
for name in "${PLUGINS[@]}"; do BINARIES+=("$PREFIX/lib/jarvis/plugins/$name/lib$name.so"); done
# Sanitizer instrumentation (make test-asan) records each check's source file for its reports, so
# a sanitized binary always names the source tree; only that check is skipped for such a build.
SANITIZED=0
if sanitizer_build "$BUILD_DIR"; then
  SANITIZED=1
  echo "(sanitizer build: source paths recorded by the instrumentation are expected; not checked)"
fi
for bin in "${BINARIES[@]}"; do
  if [ "$SANITIZED" -eq 0 ] && strings -a "$bin" | grep -F -e "$SOURCE_DIR" -e "$BUILD_DIR" >"$LOG"; then
    sed 's/^/  /' "$LOG" | head -n 5 >&2
    fail "$bin contains a source or build path"
  fi
  rpath=$(readelf -d "$bin" | sed -nE 's/.*\((RPATH|RUNPATH)\).*\[(.*)\]/\2/p')
  IFS=: read -r -a entries <<<"$rpath"
  for e in "${entries[@]}"; do
    case "$e" in
      '$ORIGIN' | '$ORIGIN'/*) ;;
      *) fail "$bin has a run path entry '$e' that is not \$ORIGIN-relative" ;;
    esac
  done
  echo "  $(basename "$bin"): run path '${rpath}'"
done
# Plugins have none at all — installed, and as built in the build tree (in-tree plugins, the
# template and the test fixtures), where the suites load them.
for lib in "$PREFIX"/lib/jarvis/plugins/*/lib*.so "$BUILD_DIR"/lib/jarvis/plugins/*/lib*.so \
           "$BUILD_DIR"/lib/jarvis/test-plugins/*/lib*.so; do
  [ -e "$lib" ] || continue
  readelf -h "$lib" >/dev/null 2>&1 || continue  # the "corrupt" fixture is a text file
  if readelf -d "$lib" | grep -qE '\((RPATH|RUNPATH)\)'; then
    fail "plugin $lib has a run path (plugins are built without one)"
  fi
done
echo "ok"

# ---------------------------------------------------------------------------------------------
# The host runs from $RUN with the caller's settings that could point it elsewhere removed. When
# possible the source and build trees are hidden (empty tmpfs over each, private mount namespace).
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
HIDE=""
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
  HIDE=1
fi
cat >"$WORK/host.sh" <<EOF
#!/usr/bin/env bash
set -euo pipefail
if [ -n "$HIDE" ]; then
  mount -t tmpfs none "$SOURCE_DIR"
  case "$BUILD_DIR/" in "$SOURCE_DIR"/*) ;; *) mount -t tmpfs none "$BUILD_DIR" ;; esac
  [ -z "\$(ls -A "$SOURCE_DIR")" ] || { echo "source tree still visible" >&2; exit 99; }
fi
cd "$RUN"
exec env -u DATABASE_URL -u JARVIS_CONFIG_FILE -u JARVIS_PLUGINS_DISABLED -u JARVIS_PLUGIN_DIRS \\
  -u JARVIS_MIGRATIONS_DIR -u WEB_DIST_DIR -u APP_DB \\
  APP_DB="$RUN/var/jarvis.db" BIND_HOST=127.0.0.1 BIND_PORT=$PORT LOG_LEVEL=warn "$JARVIS" "\$@"
EOF
chmod +x "$WORK/host.sh"
HOST_CMD=("$WORK/host.sh")
[ -z "$HIDE" ] || HOST_CMD=(unshare -m --propagation private "$WORK/host.sh")
run_host() { "${HOST_CMD[@]}" "$@"; }
if [ -n "$HIDE" ]; then
  echo "(source and build trees hidden by tmpfs mounts in a private mount namespace)"
else
  echo "(cannot hide the trees here: not root or no unshare; running with cwd $RUN only)"
fi

step "installed jarvis migrate"
run_logged "jarvis migrate failed" run_host migrate
grep -q '^applied host ' "$LOG" || { cat "$LOG" >&2; fail "jarvis migrate applied no host migration"; }
echo "ok: $(grep -c '^applied ' "$LOG") migrations applied"

step "installed jarvis users add / tokens create"
printf 'correct horse battery staple\n' |
  run_logged "jarvis users add failed" run_host users add root --admin --password-stdin
run_logged "jarvis tokens create failed" run_host tokens create --user root --json
TOKEN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$LOG")

step "installed jarvis serve on 127.0.0.1:$PORT"
# A simple command in the background: $! is the process that becomes `jarvis serve` (unshare and
# host.sh exec it), so SIGTERM below reaches the host itself.
"${HOST_CMD[@]}" serve >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
URL="http://127.0.0.1:$PORT"
up=""
for _ in $(seq 1 600); do
  if curl -fsS "$URL/healthz" >"$LOG" 2>/dev/null; then
    up=1
    break
  fi
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
[ -n "$up" ] || { cat "$WORK/serve.log" >&2; fail "the installed host did not answer /healthz"; }
echo "/healthz: $(cat "$LOG")"

curl -sS -o "$LOG" -w '%{http_code}' "$URL/readyz" >"$WORK/code" || fail "GET /readyz failed"
[ "$(cat "$WORK/code")" = 200 ] || { cat "$LOG" >&2; fail "/readyz answered $(cat "$WORK/code")"; }
python3 - "$LOG" "${PLUGINS[@]}" <<'EOF' || fail "/readyz does not show every installed plugin started"
import json, sys
doc = json.load(open(sys.argv[1]))
text = json.dumps(doc)
for name in sys.argv[2:]:
    if f'"{name}"' not in text:
        sys.exit(f"/readyz does not mention plugin {name}: {text[:500]}")
print("/readyz: 200, mentions " + ", ".join(sys.argv[2:]))
EOF

code=$(curl -sS -o "$LOG" -w '%{http_code}' "$URL/")
[ "$code" = 200 ] && grep -qi '<html' "$LOG" || fail "GET / did not serve the installed web UI ($code)"
echo "GET /: 200, the web UI from share/jarvis/web"

if printf '%s\n' "${PLUGINS[@]}" | grep -qx bugs; then
  code=$(curl -sS -o "$LOG" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$URL/api/v1/bugs")
  [ "$code" = 200 ] || { cat "$LOG" >&2; fail "GET /api/v1/bugs (plugin route) answered $code"; }
  echo "GET /api/v1/bugs (plugin bugs): 200"
fi

step "stop the server (SIGTERM)"
kill -TERM "$SERVER_PID"
rc=0
wait "$SERVER_PID" || rc=$?
SERVER_PID=""
[ "$rc" = 0 ] || { cat "$WORK/serve.log" >&2; fail "jarvis serve exited $rc after SIGTERM"; }
echo "PASS: the installed host migrates and serves without its source or build tree"
