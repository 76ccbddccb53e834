#!/usr/bin/env bash
# scripts/ctest-failures.sh — after a failed `make test`: the recorded output of every failed
# test again, last, with the machine's state (disk, memory, load). CI keeps only the tail of a
# run's output, and `ctest --output-on-failure` prints a failure where it happens — often a
# thousand lines before the end. Reads what ctest wrote; runs nothing again.
#
# usage: scripts/ctest-failures.sh BUILD_DIR [LINES]   (LINES: the last LINES of each output, 120)
set -uo pipefail

build_dir=${1:?usage: $0 BUILD_DIR [LINES]}
lines=${2:-120}
log="$build_dir/Testing/Temporary/LastTest.log"
failed="$build_dir/Testing/Temporary/LastTestsFailed.log"

echo
echo "==================== failed tests, their recorded output again ===================="
if [ ! -f "$failed" ] || [ ! -f "$log" ]; then
  echo "(no ctest failure record under $build_dir/Testing: ctest did not get to run the tests)"
else
  while IFS= read -r entry; do
    name=${entry#*:}
    echo
    echo "---- $name (last $lines lines of its output) ----"
    # One test's record runs from "N/M Test: NAME" to its '"NAME" end time:' line.
    awk -v name="$name" '
      $0 ~ /^[0-9]+\/[0-9]+ Testing: / { inside = 0 }
      $0 ~ /^[0-9]+\/[0-9]+ Test: / { t = $0; sub(/^[0-9]+\/[0-9]+ Test: /, "", t); inside = (t == name) }
      inside { print }
      inside && index($0, "\"" name "\" end time:") == 1 { inside = 0 }
    ' "$log" | tail -n "$lines"
  done <"$failed"
fi
echo
echo "---- the machine ----"
uptime
df -h "$build_dir" "${TMPDIR:-/tmp}" 2>/dev/null
free -m 2>/dev/null
echo "===================================================================================="
