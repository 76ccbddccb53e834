#!/usr/bin/env bash
# tests/sdk_install/out_of_tree.sh — a third party builds the example plugin OUT OF TREE against
# the INSTALLED SDK, and the host loads it.
#
#   tests/sdk_install/out_of_tree.sh BUILD_DIR SOURCE_DIR
#
# In a fresh temp dir: installs BUILD_DIR (cmake --install), checks the installed SDK (headers
# include only SDK/public headers, the package files never name the source or build tree), copies
# the INSTALLED template (share/jarvis/sdk-template) and configures + builds it with only
# CMAKE_PREFIX_PATH pointing at the install, checks the plugin folder and the plugin's dynamic
# dependencies (libjarvis_sdk + system/public libs, every jarvis symbol it needs is exported by
# the installed libjarvis_sdk, no host symbol) and that it has no RPATH/RUNPATH, checks that the
# package, the library and the template agree with jarvis/version.h (one version), builds and RUNS
# the template's own tests (jarvis/testing.h, Jarvis::testing, GoogleTest) with ctest against the
# install, then runs the INSTALLED host with the plugin folder in JARVIS_PLUGIN_DIRS: migrate,
# plugins list, hello greet. Registered in ctest as `sdk_out_of_tree`. Exits non-zero with a
# message naming the failed step.
set -euo pipefail

usage() {
  echo "usage: $0 BUILD_DIR SOURCE_DIR" >&2
  exit 2
}
[ $# -eq 2 ] || usage
BUILD_DIR=$(cd "$1" && pwd -P)
SOURCE_DIR=$(cd "$2" && pwd -P)
BUILT_JARVIS="$BUILD_DIR/bin/jarvis"

# shellcheck source=tests/sdk_install/lib.sh
. "$(dirname "$0")/lib.sh"

[ -x "$BUILT_JARVIS" ] || fail "host binary $BUILT_JARVIS not found (build the 'jarvis' target first)"
for tool in cmake ctest ninja readelf nm strings python3; do
  command -v "$tool" >/dev/null || fail "required tool '$tool' not found"
done

# The temp dir must not live under the source tree, or the "no source path" checks would be moot.
TMP_PARENT=${TMPDIR:-/tmp}
case "$(cd "$TMP_PARENT" && pwd -P)/" in
  "$SOURCE_DIR"/* | "$BUILD_DIR"/*) TMP_PARENT=/tmp ;;
esac
WORK=$(mktemp -d "$TMP_PARENT/jarvis-sdk-oot.XXXXXX")
WORK=$(cd "$WORK" && pwd -P)
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT

SDK="$WORK/sdk"
JARVIS="$SDK/bin/jarvis"  # the installed host
HELLO="$WORK/hello"
LOG="$WORK/log"


# ---------------------------------------------------------------------------------------------
step "install $BUILD_DIR to $SDK"
run_logged "cmake --install failed" cmake --install "$BUILD_DIR" --prefix "$SDK"

for f in include/jarvis/jarvis.h include/jarvis/testing.h lib/libjarvis_sdk.so \
         lib/libjarvis_testing.so bin/jarvis lib/cmake/JarvisSDK/JarvisSDKConfig.cmake \
         lib/cmake/JarvisSDK/JarvisSDKConfigVersion.cmake lib/cmake/JarvisSDK/JarvisSDKTargets.cmake \
         lib/cmake/JarvisSDK/JarvisPlugin.cmake lib/cmake/JarvisSDK/FindSOCI.cmake \
         share/jarvis/sdk-template/CMakeLists.txt share/jarvis/sdk-template/plugin.yaml; do
  [ -e "$SDK/$f" ] || fail "installed SDK lacks $f"
done
echo "installed SDK has headers, libjarvis_sdk.so, the JarvisSDK package and the template"

# ---------------------------------------------------------------------------------------------
step "installed headers include only installed SDK headers"
# Every quoted include must name an installed SDK header. Angle includes are left to the compiler:
# the out-of-tree build below compiles jarvis/jarvis.h (which must include every SDK header) with
# only the installed include dir, so a header reaching for host code (host/src is not installed)
# cannot compile there.
bad=0
while IFS= read -r line; do
  file=${line%%:*}
  text=${line#*:}
  delim=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*(["<]).*/\1/' <<<"$text")
  inc=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]([^">]+)[">].*/\1/' <<<"$text")
  if [ "$delim" = '"' ] && { [[ "$inc" != jarvis/* ]] || [ ! -f "$SDK/include/$inc" ]; }; then
    echo "  $file includes \"$inc\", which is not an installed SDK header" >&2
    bad=1
  fi
done < <(grep -rHE '^[[:space:]]*#[[:space:]]*include' "$SDK/include/jarvis")
[ $bad -eq 0 ] || fail "installed headers include non-SDK headers"
for h in "$SDK"/include/jarvis/*.h; do
  name=jarvis/$(basename "$h")
  [ "$name" = jarvis/jarvis.h ] && continue
  # jarvis/testing.h is for tests (Jarvis::testing), not plugins: jarvis.h must not include it.
  if [ "$name" = jarvis/testing.h ]; then
    if grep -qF "#include \"$name\"" "$SDK/include/jarvis/jarvis.h"; then
      fail "jarvis/jarvis.h includes jarvis/testing.h, which plugins must not see"
    fi
    continue
  fi
  grep -qF "#include \"$name\"" "$SDK/include/jarvis/jarvis.h" ||
    fail "jarvis/jarvis.h does not include $name, so the plugin build would not compile it"
done
echo "ok"

step "installed package files do not name the source or build tree"
if grep -rlF -e "$SOURCE_DIR" -e "$BUILD_DIR" "$SDK/lib/cmake/JarvisSDK" "$SDK/include" \
     "$SDK/share/jarvis/sdk-template" >"$LOG"; then
  sed 's/^/  /' "$LOG" >&2
  fail "installed SDK files reference $SOURCE_DIR or $BUILD_DIR"
fi
echo "ok"

# ---------------------------------------------------------------------------------------------
step "one version: jarvis/version.h, the JarvisSDK package, libjarvis_sdk, jarvis version, template"
ver() { sed -nE "s/^#define JARVIS_SDK_$1 ([0-9]+)\$/\1/p" "$SDK/include/jarvis/version.h"; }
MAJOR=$(ver VERSION_MAJOR)
MINOR=$(ver VERSION_MINOR)
OLDEST=$(ver OLDEST_COMPATIBLE_MINOR)
[ -n "$MAJOR" ] && [ -n "$MINOR" ] && [ -n "$OLDEST" ] || fail "cannot read the version from version.h"
pkg=$(sed -nE 's/^set\(PACKAGE_VERSION "([^"]*)"\)$/\1/p' \
  "$SDK/lib/cmake/JarvisSDK/JarvisSDKConfigVersion.cmake")
[ "$pkg" = "$MAJOR.$MINOR.0" ] || fail "JarvisSDK package version is '$pkg', version.h says $MAJOR.$MINOR"
for lib in jarvis_sdk jarvis_testing; do
  [ -f "$SDK/lib/lib$lib.so.$MAJOR.$MINOR.0" ] || fail "lib$lib.so.$MAJOR.$MINOR.0 not installed"
  soname=$(readelf -d "$SDK/lib/lib$lib.so" | sed -nE 's/.*\(SONAME\).*\[(.*)\]/\1/p')
  [ "$soname" = "lib$lib.so.$MAJOR" ] || fail "lib$lib SONAME is '$soname', expected lib$lib.so.$MAJOR"
done
run_logged "installed jarvis version --json failed" "$JARVIS" version --json
python3 - "$LOG" "$MAJOR" "$MINOR" <<'EOF' || fail "jarvis version disagrees with version.h"
import json, sys
doc = json.load(open(sys.argv[1]))
want = f"{sys.argv[2]}.{sys.argv[3]}"
if doc.get("version") != want + ".0" or doc.get("sdk") != want:
    sys.exit(f"jarvis version says {doc}, version.h says {want}")
EOF
tver=$(sed -nE 's/^ *find_package\(JarvisSDK ([0-9]+)\.([0-9]+) .*/\1 \2/p' \
  "$SDK/share/jarvis/sdk-template/CMakeLists.txt")
read -r T_MAJOR T_MINOR <<<"$tver"
if [ "$T_MAJOR" != "$MAJOR" ] || [ "$T_MINOR" -gt "$MINOR" ] || [ "$T_MINOR" -lt "$OLDEST" ]; then
  fail "the template asks for JarvisSDK '$tver'; the SDK is $MAJOR.$MINOR (oldest loadable minor $OLDEST)"
fi
range="sdk: \">=$T_MAJOR.$T_MINOR <$((MAJOR + 1)).0\""
grep -qF "$range" "$SDK/share/jarvis/sdk-template/plugin.yaml" ||
  fail "the template manifest lacks '$range' (it asks find_package(JarvisSDK $T_MAJOR.$T_MINOR))"
# A plugin asking for a newer minor than installed must not find this package.
NEWER="$WORK/newer"
mkdir -p "$NEWER"
cat >"$NEWER/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.25)
project(newer LANGUAGES CXX)
find_package(JarvisSDK $MAJOR.$((MINOR + 1)) QUIET)
if(JarvisSDK_FOUND)
  message(FATAL_ERROR "JarvisSDK $MAJOR.$((MINOR + 1)) was found in an SDK $MAJOR.$MINOR install")
endif()
EOF
run_logged "find_package(JarvisSDK $MAJOR.$((MINOR + 1))) accepted SDK $MAJOR.$MINOR" \
  cmake -S "$NEWER" -B "$NEWER/build" -G Ninja -DCMAKE_PREFIX_PATH="$SDK"
echo "ok: $MAJOR.$MINOR everywhere (package $pkg, libjarvis_sdk.so.$MAJOR, template asks $T_MAJOR.$T_MINOR)"

# ---------------------------------------------------------------------------------------------
step "copy the INSTALLED template to $HELLO and build it against $SDK"
cp -r "$SDK/share/jarvis/sdk-template" "$HELLO"
grep -qF '#include "jarvis/jarvis.h"' "$HELLO"/src/*.h "$HELLO"/src/*.cpp ||
  fail "the template does not include jarvis/jarvis.h, so its build would not compile every header"
# A sanitizer build of the host (make test-asan) installs a sanitized libjarvis_sdk: the plugin and
# its test executables must then be built with the same sanitizers, or the ASan runtime would not
# come first in their library list. A normal build uses the plain flags a third party would.
SAN_FLAGS=()
if sanitizer_build "$BUILD_DIR"; then
  SAN="-fsanitize=address,undefined -fno-sanitize=vptr -fno-omit-frame-pointer"
  SAN_FLAGS=("-DCMAKE_CXX_FLAGS=$SAN" "-DCMAKE_EXE_LINKER_FLAGS=$SAN"
             "-DCMAKE_SHARED_LINKER_FLAGS=$SAN" "-DCMAKE_MODULE_LINKER_FLAGS=$SAN")
  echo "(sanitizer build: the template is built with $SAN)"
fi
run_logged "configuring the template against the installed SDK failed" \
  nice cmake -S "$HELLO" -B "$HELLO/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$SDK" "${SAN_FLAGS[@]}"
grep -q "^JarvisSDK_DIR:PATH=$SDK/lib/cmake/JarvisSDK\$" "$HELLO/build/CMakeCache.txt" ||
  fail "the template did not find JarvisSDK in $SDK ($(grep '^JarvisSDK_DIR' "$HELLO/build/CMakeCache.txt"))"
run_logged "building the template against the installed SDK failed" \
  nice cmake --build "$HELLO/build" -j1
if grep -lF "$SOURCE_DIR" "$HELLO/build/CMakeCache.txt" "$HELLO/build/build.ninja" >"$LOG"; then
  sed 's/^/  /' "$LOG" >&2
  fail "the out-of-tree build references the source tree $SOURCE_DIR"
fi

PLUGIN_DIR="$HELLO/build/plugins/hello"
for f in libhello.so plugin.yaml migrations/001_greetings.sql; do
  [ -f "$PLUGIN_DIR/$f" ] || fail "plugin folder lacks $f (have: $(ls -A "$PLUGIN_DIR" 2>/dev/null))"
done
echo "plugin folder $PLUGIN_DIR: libhello.so plugin.yaml migrations/"

step "the plugin carries no run path (a drop-in folder names no build machine's directories)"
if readelf -d "$PLUGIN_DIR/libhello.so" | grep -E '\((RPATH|RUNPATH)\)' >"$LOG"; then
  cat "$LOG" >&2
  fail "libhello.so has a run path"
fi
# Sanitizer instrumentation records the source files of its checks (the SDK headers included), so
# a sanitizer build is exempt from this one check.
if [ ${#SAN_FLAGS[@]} -eq 0 ] &&
  strings -a "$PLUGIN_DIR/libhello.so" | grep -F -e "$SDK" -e "$SOURCE_DIR" -e "$BUILD_DIR" >"$LOG"; then
  head -n 5 "$LOG" >&2
  fail "libhello.so names the SDK install, source or build directory"
fi
echo "ok"

# ---------------------------------------------------------------------------------------------
step "the plugin links only libjarvis_sdk and system/public libraries"
LIB="$PLUGIN_DIR/libhello.so"
needed=$(readelf -d "$LIB" | sed -nE 's/.*\(NEEDED\).*\[(.*)\]/\1/p')
echo "NEEDED: $(tr '\n' ' ' <<<"$needed")"
grep -qx 'libjarvis_sdk\.so\.[0-9]*' <<<"$needed" || fail "plugin does not link libjarvis_sdk"
while IFS= read -r lib; do
  case "$lib" in
    libjarvis_sdk.so.*) ;;
    # The C/C++ runtime, and the libraries the SDK headers expose (soci, spdlog, fmt).
    libstdc++.so.* | libgcc_s.so.* | libc.so.* | libm.so.* | libpthread.so.* | libdl.so.* | \
    ld-linux*.so.* | libsoci_core.so.* | libspdlog.so.* | libfmt.so.*) ;;
    # A sanitizer build (SAN_FLAGS above) links the sanitizer runtimes, and only then.
    libasan.so.* | libubsan.so.*) [ ${#SAN_FLAGS[@]} -gt 0 ] || fail "plugin links $lib" ;;
    *) fail "plugin links $lib: a plugin may link only libjarvis_sdk and system libraries" ;;
  esac
done <<<"$needed"

# Every jarvis symbol the plugin needs must be exported by the installed SDK library; a jarvis
# symbol defined only by the host (jarvis::host::… or any other) would fail here.
nm -D --undefined-only --format=posix "$LIB" | awk '{print $1}' | sort -u >"$WORK/undef"
nm -D --defined-only --format=posix "$SDK/lib/libjarvis_sdk.so" | awk '{print $1}' | sort -u \
  >"$WORK/sdk_defs"
grep -E '^_Z[A-Z]*N6jarvis' "$WORK/undef" >"$WORK/undef_jarvis" || true
[ -s "$WORK/undef_jarvis" ] || fail "plugin references no jarvis SDK symbol (nm found none)"
comm -23 "$WORK/undef_jarvis" "$WORK/sdk_defs" >"$WORK/missing"
if [ -s "$WORK/missing" ]; then
  c++filt <"$WORK/missing" | sed 's/^/  /' >&2
  fail "plugin references jarvis symbols not exported by the installed libjarvis_sdk"
fi
if c++filt <"$WORK/undef" | grep -q 'jarvis::host::'; then
  fail "plugin references host symbols (jarvis::host::)"
fi
echo "ok: $(wc -l <"$WORK/undef_jarvis") jarvis symbols, all exported by the installed libjarvis_sdk"

# ---------------------------------------------------------------------------------------------
step "the template's own tests (jarvis/testing.h + GoogleTest) run against the installed host"
[ -x "$HELLO/build/hello_tests" ] || fail "the template's tests (hello_tests) were not built"
if ! (cd "$WORK" && env -u JARVIS_BIN -u DATABASE_URL -u JARVIS_CONFIG_FILE \
  ctest --test-dir "$HELLO/build" --output-on-failure -j2) >"$LOG" 2>&1; then
  cat "$LOG" >&2
  fail "the template's tests failed out of tree"
fi
grep -qE '^100% tests passed, 0 tests failed out of [1-9]' "$LOG" ||
  { cat "$LOG" >&2; fail "ctest ran no template test"; }
grep -E 'tests passed' "$LOG"

# ---------------------------------------------------------------------------------------------
step "the installed host $JARVIS loads the out-of-tree plugin"
# run_host ARGS…: the host with a private SQLite DB, the plugin folder, hello required; settings
# from the caller's environment that could redirect the DB or disable plugins are dropped.
run_host() {
  (cd "$WORK" && env -u DATABASE_URL -u JARVIS_CONFIG_FILE -u JARVIS_PLUGINS_DISABLED \
    APP_DB="$WORK/j.db" JARVIS_PLUGIN_DIRS="$HELLO/build/plugins" JARVIS_PLUGINS_REQUIRED=hello \
    "$JARVIS" "$@")
}

run_logged "jarvis migrate failed" run_host migrate
grep -q 'hello' "$LOG" || { cat "$LOG" >&2; fail "jarvis migrate did not apply the hello migration"; }
echo "jarvis migrate: exit 0 ($(tail -n1 "$LOG"))"

run_logged "jarvis plugins list --json failed" run_host plugins list --json
python3 - "$LOG" "$PLUGIN_DIR" <<'EOF' || fail "jarvis plugins list --json: hello not loaded from the out-of-tree folder"
import json, sys
doc = json.load(open(sys.argv[1]))
hello = [p for p in doc.get("plugins", []) if p.get("name") == "hello"]
if len(hello) != 1:
    sys.exit(f"expected one plugin named hello, got {len(hello)}: {doc}")
p = hello[0]
print(f"hello: state={p.get('state')} version={p.get('version')} dir={p.get('dir')}")
if p.get("state") not in ("loaded", "migrated", "started"):
    sys.exit(f"hello state is {p.get('state')!r} (reason: {p.get('reason')!r})")
if p.get("dir") != sys.argv[2]:
    sys.exit(f"hello was loaded from {p.get('dir')!r}, not {sys.argv[2]!r}")
EOF

run_logged "jarvis hello greet Ada --json failed" run_host hello greet Ada --json
python3 - "$LOG" <<'EOF' || fail "jarvis hello greet Ada --json returned the wrong answer"
import json, sys
doc = json.load(open(sys.argv[1]))
print(f"hello greet Ada: {doc}")
if doc.get("greeting") != "Hello, Ada!" or doc.get("count") != 1:
    sys.exit(f"expected greeting 'Hello, Ada!' and count 1, got {doc}")
EOF

echo "PASS: the example plugin builds out of tree against the installed SDK and loads into the host"
