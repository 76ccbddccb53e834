#!/usr/bin/env bash
# Task queue and scheduler benchmark (not a test: prints numbers, no thresholds):
#   - trivial-task throughput end to end on SQLite (one host) and on PostgreSQL (two hosts);
#   - one scheduler tick over 10,000 schedules, on both, without and with stored events: all due
#     (worst case) and staggered over the minute (1/60 due, the steady state of "@every:60").
# Issue targets: SQLite ≥ 2,000 tasks/s, two hosts on PostgreSQL ≥ 1,000 tasks/s, tick ≤ 100 ms.
#   bench/tasks.sh [tasks=20000] [workers=4] [schedules=10000]
# Uses the host library of $BUILD (default build/, configure it with -DCMAKE_BUILD_TYPE=Release)
# and a throwaway PostgreSQL (scripts/pg-test.sh). Record results in docs/benchmarks.md.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${BUILD:-$ROOT/build}"
TASKS="${1:-20000}"
WORKERS="${2:-4}"
SCHEDULES="${3:-10000}"
WORK="$(mktemp -d /tmp/jarvis-tasksbench-XXXXXX)"
chmod 0755 "$WORK"
cleanup() { "$ROOT/scripts/pg-test.sh" stop "$WORK/pg" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT

LIB="$BUILD/host/libjarvis_host_core.a"
[ -f "$LIB" ] || { echo "build the host library first: cmake --build $BUILD --target jarvis_host_core" >&2; exit 1; }
SDK=$(ls "$BUILD"/lib/libjarvis_sdk.so* 2>/dev/null | head -1)
[ -n "$SDK" ] || { echo "no libjarvis_sdk.so in $BUILD/lib" >&2; exit 1; }

g++ -std=c++20 -O2 -DNDEBUG -DBOOST_DLL_USE_STD_FS -DJARVIS_SOURCE_DIR="\"$ROOT\"" \
  -I"$ROOT/host/src" -I"$ROOT/sdk/include" -I"$BUILD/sdk/include" \
  "$ROOT/bench/tasks_bench.cpp" -o "$WORK/tasks_bench" \
  "$LIB" "$SDK" -Wl,-rpath,"$(dirname "$SDK")" \
  -lsoci_core -lsoci_sqlite3 -lsoci_postgresql -lsqlite3 -lpq -lspdlog -lfmt -lyaml-cpp -lcurl \
  -lsodium -lpthread -ldl

"$ROOT/scripts/pg-test.sh" start "$WORK/pg" >/dev/null
PG="$(cat "$WORK/pg/url")"
# A fresh database per run on the throwaway server.
newdb() { local name="bench_$1_$$"; psql "$PG" -qc "CREATE DATABASE $name" >/dev/null; echo "${PG%/*}/$name"; }

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# build: $BUILD ($(grep -m1 CMAKE_BUILD_TYPE:STRING "$BUILD/CMakeCache.txt" | cut -d= -f2))"
"$WORK/tasks_bench" throughput "sqlite://$WORK/tp.db" "$TASKS" 1 "$WORKERS"
"$WORK/tasks_bench" throughput "$(newdb tp1)" "$TASKS" 1 "$WORKERS"
"$WORK/tasks_bench" throughput "$(newdb tp2)" "$TASKS" 2 "$WORKERS"
for mode in "" "staggered"; do
  "$WORK/tasks_bench" tick "sqlite://$WORK/tick$mode.db" "$SCHEDULES" $mode
  "$WORK/tasks_bench" tick "sqlite://$WORK/tick-ev$mode.db" "$SCHEDULES" events $mode
  "$WORK/tasks_bench" tick "$(newdb tick$mode)" "$SCHEDULES" $mode
  "$WORK/tasks_bench" tick "$(newdb tickev$mode)" "$SCHEDULES" events $mode
done
# Reference in the same run: the same all-due writes by SQLite alone (bench/tick_floor.sql) on a
# database the host migrated.
"$WORK/tasks_bench" tick "sqlite://$WORK/floor.db" 1 >/dev/null
sqlite3 "$WORK/floor.db" < "$ROOT/bench/tick_floor.sql" |
  awk '/^Run Time/ { total += $4 } END { printf "tick floor sqlite: the same 10,000 dispatches, tasks and advances as one set-based SQL transaction: %.1f ms\n", total * 1000 }'

