# tests/sdk_install/lib.sh — helpers shared by out_of_tree.sh and installed_host.sh (sourced).

step() { echo "== $*"; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# run_logged DESCRIPTION CMD…: run CMD with output to $LOG; on failure show the log and fail.
run_logged() {
  local what=$1
  shift
  if ! "$@" >"$LOG" 2>&1; then
    cat "$LOG" >&2
    fail "$what"
  fi
}

# sanitizer_build BUILD_DIR: true when BUILD_DIR was configured with JARVIS_SANITIZE=ON
# (make test-asan). Sanitizer instrumentation records source paths and links its runtimes, so the
# scripts relax exactly those checks for such a build.
sanitizer_build() { grep -q '^JARVIS_SANITIZE:BOOL=ON$' "$1/CMakeCache.txt" 2>/dev/null; }
