#!/usr/bin/env bash
# scripts/release-evidence.sh — `make release-evidence` ("Release Evidence", docs/runbook.md;
# docs/release-checklist.md; decision 0062). Runs the evidence commands and writes
# docs/reports/release-evidence-YYYYMMDD.md:
#   1. secret scan            jarvis secrets scan --json (the tree; never prints a secret)
#   2. doctor                 jarvis doctor --json (this checkout's configuration; outage classes)
#   3. readiness soak         a scratch host (scratch database, free port): /readyz polled
#   4. backup/restore drill   on a scratch copy of the database: backup, change, restore, verify
#   5. test summary           the last ctest run recorded under $BUILD_DIR/Testing, if any
# The report holds no secret values: findings are fingerprints, URLs are redacted by doctor, every
# configured secret-looking value is replaced by [redacted], and the finished report is itself
# secret-scanned (a finding deletes it and fails the run).
#
# usage: scripts/release-evidence.sh
# environment:
#   BUILD_DIR (build), JARVIS_BIN ($BUILD_DIR/bin/jarvis)
#   RELEASE_EVIDENCE_OUT   report path (default docs/reports/release-evidence-$(date -u +%Y%m%d).md)
#   RELEASE_SOAK_SECONDS   readiness soak length, one /readyz a second (default 10)
#   RELEASE_READY_WAIT_SECONDS  how long the scratch host may take to answer /readyz 200 at all
#                          (default 120; a loaded machine starts slowly — the soak is about answers,
#                          not speed: each poll may take up to 15 s)
#   DOCTOR_PROBE_TIMEOUT_MS  per-dependency probe timeout (default 3000)
#   RESTORE_MIN_FREE_BYTES, RESTORE_MAX_BYTES  the drill's restore limits (environment, else .env,
#                          else the host's defaults: 256 MiB free kept, 64 GiB at most)
# exit: 0 every mandatory item passed (secret scan, readiness, drill when available), 1 otherwise.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root" || exit 1
build_dir=${BUILD_DIR:-build}
case "$build_dir" in /*) ;; *) build_dir="$root/$build_dir" ;; esac
jarvis=${JARVIS_BIN:-$build_dir/bin/jarvis}
day=$(date -u +%Y%m%d)
out=${RELEASE_EVIDENCE_OUT:-$root/docs/reports/release-evidence-$day.md}
soak=${RELEASE_SOAK_SECONDS:-10}
probe_ms=${DOCTOR_PROBE_TIMEOUT_MS:-3000}

if [ ! -x "$jarvis" ]; then
  echo "release-evidence: no host binary at $jarvis (make build)" >&2
  exit 1
fi
# shellcheck source=scripts/scratch-host.sh
source "$root/scripts/scratch-host.sh"
scratch_init jarvis-release-evidence

report="$scratch/report.md"
results=()  # "item|PASS/FAIL/SKIP|note"
result() { results+=("$1|$2|$3"); }
section() { printf '\n## %s\n\n' "$1" >>"$report"; }
fence() {  # lang file
  { printf '```%s\n' "$1"; cat "$2"; printf '\n```\n'; } >>"$report"
}

# --- 1. secret scan ---------------------------------------------------------------------------
"$jarvis" secrets scan --json >"$scratch/scan.json" 2>"$scratch/scan.err"
scan_rc=$?
section "1. Secret scan (\`make secret-scan\`)"
{
  echo "Command: \`jarvis secrets scan --json\` in the checkout — exit $scan_rc."
  echo
  echo "Summary: $(tail -1 "$scratch/scan.err")"
  echo
  echo "Findings are path:line:kind and a fingerprint (first 12 hex digits of the SHA-256, keyed"
  echo "with the install's key for passwords and assigned values); the scanner never prints a"
  echo "matched value. Its messages (skipped paths, the key it used):"
} >>"$report"
fence text "$scratch/scan.err"
fence json "$scratch/scan.json"
case $scan_rc in
  0) result "secret scan" PASS "no findings" ;;
  *) result "secret scan" FAIL "exit $scan_rc: see section 1" ;;
esac

# --- 2. doctor --------------------------------------------------------------------------------
"$jarvis" doctor --json --probe-timeout-ms "$probe_ms" >"$scratch/doctor.json" 2>"$scratch/doctor.err"
doctor_rc=$?
section "2. Doctor (\`jarvis doctor --json\`)"
{
  echo "Command: \`jarvis doctor --json --probe-timeout-ms $probe_ms\` with this checkout's"
  echo "configuration — exit $doctor_rc. Each configured external dependency is probed once,"
  echo "unauthenticated; a failure carries its outage class (\`dns_resolution\`, \`timeout\`,"
  echo "\`network_unreachable\`, \`provider_unavailable\`)."
} >>"$report"
fence json "$scratch/doctor.json"
if [ $doctor_rc -eq 0 ]; then
  result "doctor" PASS "every check passed"
else
  classes=$(grep -o '"outage_class": "[a-z_]*"' "$scratch/doctor.json" | sort | uniq -c |
              sed 's/"outage_class": //; s/"//g' | tr -s ' ' | tr '\n' ',' | sed 's/,$//')
  failed_checks=$(awk '/"name": /{n=$2} /"passed": false/{gsub(/[",]/,"",n); printf "%s ", n}' \
                    "$scratch/doctor.json" | sed 's/ $//')
  result "doctor" ATTENTION "exit $doctor_rc; failed: ${failed_checks:-?}; outage classes:${classes:- none} (section 2)"
fi

# --- 3. readiness soak of a scratch host ---------------------------------------------------------
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
# Below the kernel's ephemeral range (32768-60999 by default), where the suite's servers and
# every outgoing connection get their ports: fewer collisions when this runs inside `make test`.
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$(( 20000 + RANDOM % 12000 ))
    port_open 127.0.0.1 "$p" || { echo "$p"; return 0; }
  done
  return 1
}
mkdir -p "$scratch/host"
# Scratch hosts get an empty environment plus what they need: the operator's variables
# (MEMORY_EMBED_BASE_URL, BACKUP_LOCAL_DIR, provider keys, …) must not reach them.
clean_env=(env -i PATH="$PATH" HOME="${HOME:-/tmp}" LANG="${LANG:-C.UTF-8}" TMPDIR="${TMPDIR:-/tmp}")
host_env=("${clean_env[@]}" APP_DB="$scratch/host/jarvis.db" LOG_LEVEL=warn
          JARVIS_CONFIG_FILE="$scratch/host/none.yaml")
section "3. Readiness soak (scratch host)"
soak_state=""  # migrations_failed | no_port | started
if ! (cd "$scratch/host" && "${host_env[@]}" "$jarvis" migrate >"$scratch/migrate.log" 2>&1); then
  echo "Migrations on the scratch database failed:" >>"$report"
  fence text "$scratch/migrate.log"
  result "readiness soak" FAIL "scratch migrations failed"
  soak_state=migrations_failed
else
  # A port that another process takes between the check and the host's bind: the host exits
  # with "cannot listen"; another port, up to three times.
  code=""; port=""
  ready_wait=${RELEASE_READY_WAIT_SECONDS:-120}
  for attempt in 1 2 3; do
    port=$(free_port) || { port=""; break; }
    (cd "$scratch/host" && exec "${host_env[@]}" BIND_HOST=127.0.0.1 BIND_PORT="$port" \
       "$jarvis" serve --no-migrate >"$scratch/serve.log" 2>&1) &
    server_pid=$!
    ready_deadline=$(( $(date +%s) + ready_wait ))
    while :; do
      code=$(curl -s -o "$scratch/readyz.json" -w '%{http_code}' -m 15 \
               "http://127.0.0.1:$port/readyz" 2>/dev/null) || code=""
      [ "$code" = "200" ] && break
      kill -0 "$server_pid" 2>/dev/null || break
      [ "$(date +%s)" -lt "$ready_deadline" ] || break
      sleep 0.5
    done
    if [ "$code" != "200" ] && ! kill -0 "$server_pid" 2>/dev/null &&
       grep -q "cannot listen" "$scratch/serve.log" && [ "$attempt" -lt 3 ]; then
      echo "Port $port was taken before the scratch host could listen on it; another port." >>"$report"
      wait "$server_pid" 2>/dev/null
      continue
    fi
    break
  done
  if [ -n "$port" ]; then soak_state=started; else soak_state=no_port; fi
fi
if [ "$soak_state" = no_port ]; then
  result "readiness soak" FAIL "no free port"
elif [ "$soak_state" = started ]; then
  if [ "$code" != "200" ]; then
    alive=running; kill -0 "$server_pid" 2>/dev/null || alive="exited"
    echo "The scratch host never answered /readyz 200 within ${ready_wait} s (last: '${code:-nothing}'," \
         "host $alive). Last body and log tail:" >>"$report"
    [ -s "$scratch/readyz.json" ] && fence json "$scratch/readyz.json"
    tail -20 "$scratch/serve.log" >"$scratch/serve.tail"
    fence text "$scratch/serve.tail"
    result "readiness soak" FAIL "/readyz never 200"
  else
    good=0; total=0; codes=""
    for _ in $(seq 1 "$soak"); do
      total=$((total + 1))
      c=$(curl -s -o "$scratch/poll.json" -w '%{http_code}' -m 15 "http://127.0.0.1:$port/readyz") || c=""
      codes="$codes ${c:-none}"
      if [ "$c" = "200" ]; then
        good=$((good + 1))
      elif [ ! -s "$scratch/bad-poll.json" ]; then
        cp "$scratch/poll.json" "$scratch/bad-poll.json" 2>/dev/null
      fi
      sleep 1
    done
    {
      echo "\`curl http://127.0.0.1:$port/readyz\` on the built host (scratch database, free port):"
      echo "$good of $total polls answered 200 over ${soak} s (statuses:$codes). First /readyz body:"
    } >>"$report"
    fence json "$scratch/readyz.json"
    if [ -s "$scratch/bad-poll.json" ]; then
      echo "The first poll that was not 200 answered:" >>"$report"
      fence json "$scratch/bad-poll.json"
    fi
    if [ "$good" -eq "$total" ]; then
      result "readiness soak" PASS "$good/$total /readyz 200"
    else
      result "readiness soak" FAIL "$good/$total /readyz 200"
    fi
  fi
  stop_host "$server_pid"
  server_pid=""
fi

# --- 4. backup-and-restore drill on a scratch copy -------------------------------------------
section "4. Backup-and-restore drill (scratch copy)"
drill="$scratch/drill"
mkdir -p "$drill/backups"
dotenv_value() {  # KEY: its value in ./.env, if any
  [ -f "$root/.env" ] && sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$root/.env" |
    tail -1 | tr -d '"'"'"
}
drill_env=("${clean_env[@]}" APP_DB="$drill/jarvis.db" LOG_LEVEL=warn
           JARVIS_CONFIG_FILE="$drill/none.yaml" BACKUP_LOCAL_DIR="$drill/backups")
# The operator's restore limits are the drill's too (a restore that would leave less than
# RESTORE_MIN_FREE_BYTES free on the scratch folder's disk is refused, insufficient_space).
for limit in RESTORE_MIN_FREE_BYTES RESTORE_MAX_BYTES; do
  value=${!limit:-$(dotenv_value "$limit")}
  [ -n "$value" ] && drill_env+=("$limit=$value")
done
dj() { (cd "$drill" && "${drill_env[@]}" "$jarvis" "$@"); }
configured_db=""
database_url=${DATABASE_URL:-$(dotenv_value DATABASE_URL)}
if [ -z "$database_url" ] || [[ "$database_url" == sqlite://* ]]; then
  configured_db=${database_url#sqlite://}
  [ -n "$configured_db" ] || configured_db=${APP_DB:-$(dotenv_value APP_DB)}
  [ -n "$configured_db" ] || configured_db=var/jarvis.db
  case "$configured_db" in /*) ;; *) configured_db="$root/$configured_db" ;; esac
fi
db_help=$("$jarvis" db --help 2>&1)
if [[ "$db_help" != *"db backup"* || "$db_help" != *"db restore"* ]]; then
  echo "SKIPPED: this build has no \`jarvis db backup\` / \`jarvis db restore\` (issue 14 item 3 is" \
       "not in this tree yet), so no drill could run. Re-run \`make release-evidence\` once it lands." \
       >>"$report"
  result "backup/restore drill" SKIP "jarvis db backup/restore not in this build"
else
  source_note="a fresh migrated scratch database"
  if [ -n "$configured_db" ] && [ -f "$configured_db" ] && command -v sqlite3 >/dev/null; then
    sqlite3 "$configured_db" ".backup '$drill/jarvis.db'" 2>"$drill/copy.err" &&
      source_note="a copy of $configured_db (sqlite3 .backup)"
  fi
  log="$drill/drill.log"
  step() { echo "\$ jarvis $*" >>"$log"; dj "$@" >>"$log" 2>&1; }
  marker="drill-before-$day-$$"
  later="drill-after-$day-$$"
  pw="drill-password-$RANDOM$RANDOM"
  ok=1
  step migrate || ok=0
  echo "$pw" | dj users add "$marker" --password-stdin >>"$log" 2>&1 || ok=0
  counts() { sqlite3 "$drill/jarvis.db" "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name" |
               while read -r t; do
                 n=$(sqlite3 "$drill/jarvis.db" "SELECT count(*) FROM \"$t\"")
                 [ "$n" = 0 ] || printf '%s=%s ' "$t" "$n"  # empty tables left out
               done; }
  before=$(counts)
  step db backup --to "$drill/backups" || ok=0
  snapshot=$(ls -t "$drill/backups" 2>/dev/null | head -1)
  echo "$pw" | dj users add "$later" --password-stdin >>"$log" 2>&1 || ok=0
  if [ -n "$snapshot" ]; then
    step db restore "$drill/backups/$snapshot" || ok=0
  else
    echo "no snapshot file was written to $drill/backups" >>"$log"; ok=0
  fi
  after=$(counts)
  users=$(dj users list --json 2>/dev/null)
  integrity=$(sqlite3 "$drill/jarvis.db" "PRAGMA integrity_check" 2>&1)
  [[ "$users" == *"$marker"* ]] || { echo "restored database lacks $marker" >>"$log"; ok=0; }
  [[ "$users" != *"$later"* ]] || { echo "restored database still has $later" >>"$log"; ok=0; }
  [ "$before" = "$after" ] || { echo "row counts differ after restore" >>"$log"; ok=0; }
  [ "$integrity" = "ok" ] || { echo "integrity_check: $integrity" >>"$log"; ok=0; }
  {
    echo "On $source_note: user \`$marker\` added, \`jarvis db backup\`, user \`$later\` added,"
    echo "\`jarvis db restore\` of the snapshot; then \`$marker\` must exist, \`$later\` must not,"
    echo "every table's row count must equal the count at backup time, and PRAGMA integrity_check"
    echo "must say ok (it said: $integrity). Snapshot: ${snapshot:-none}."
    echo
    echo "Row counts of the non-empty tables at backup: \`${before}\`"
    echo
    echo "Row counts after restore: \`${after}\`"
  } >>"$report"
  sed "s/$pw/[redacted]/g" "$log" >"$log.safe"
  fence text "$log.safe"
  if [ $ok -eq 1 ]; then
    result "backup/restore drill" PASS "snapshot restored, marker rows as expected"
  else
    why="see section 4"
    grep -q '(insufficient_space)' "$log" &&
      why="restore refused: insufficient_space on the scratch folder's disk (RESTORE_MIN_FREE_BYTES; section 4)"
    result "backup/restore drill" FAIL "$why"
  fi
fi

# --- 5. the last test run -----------------------------------------------------------------------
section "5. Test summary (last ctest run)"
last="$build_dir/Testing/Temporary/LastTest.log"
if [ -f "$last" ]; then
  passed=$(grep -c '^Test Passed\.' "$last" || true)
  failed=$(grep -c '^Test Failed\.' "$last" || true)
  started=$(grep -m1 '^Start testing:' "$last" | sed 's/^Start testing: //')
  ended=$(grep '^End testing:' "$last" | tail -1 | sed 's/^End testing: //')
  {
    echo "From \`$(realpath --relative-to="$root" "$last" 2>/dev/null || echo "$last")\`: started"
    echo "${started:-?}, ended ${ended:-? (still running or interrupted)}; $passed passed, $failed failed."
  } >>"$report"
  failed_list="$build_dir/Testing/Temporary/LastTestsFailed.log"
  if [ "$failed" -gt 0 ] && [ -f "$failed_list" ]; then
    echo "Failed tests:" >>"$report"
    head -50 "$failed_list" >"$scratch/failed.txt"
    fence text "$scratch/failed.txt"
  fi
  # A full run only: as many results as `ctest -N` lists tests, and not older than HEAD.
  # `ctest -N` rewrites <dir>/Testing/Temporary/LastTest.log — also while a `make test` in that
  # build is still writing it (this script runs inside the suite as ReleaseEvidence.*), which
  # garbled that run's log. It runs on a copy of the build's CTestTestfile.cmake files instead
  # (they include the test lists by absolute path), so its Testing/ is the scratch copy's.
  mirror="$scratch/ctest-mirror"
  (cd "$build_dir" && find . -name CTestTestfile.cmake -print0 |
     while IFS= read -r -d '' f; do mkdir -p "$mirror/$(dirname "$f")" && cp "$f" "$mirror/$f"; done)
  total=$(cd "$mirror" 2>/dev/null && ctest -N 2>/dev/null | sed -n 's/^Total Tests: //p')
  run_epoch=$(stat -c %Y "$last" 2>/dev/null || echo 0)
  head_epoch=$(git log -1 --format=%ct 2>/dev/null || echo 0)
  age="run $(( ($(date +%s) - run_epoch) / 60 )) min ago"
  [ "$run_epoch" -lt "$head_epoch" ] && age="$age, OLDER than HEAD's commit"
  echo "The build lists ${total:-?} tests (ctest -N); this run recorded $((passed + failed)); $age." \
    >>"$report"
  if [ "$failed" -eq 0 ] && [ -n "$total" ] && [ "$passed" -eq "$total" ] &&
     [ "$run_epoch" -ge "$head_epoch" ]; then
    result "test summary" PASS "$passed/$total passed (last ctest run, $started)"
  else
    result "test summary" ATTENTION "$passed passed, $failed failed of ${total:-?} ($age; $started)"
  fi
else
  echo "No ctest run is recorded under \`$build_dir/Testing\`: run \`make test\` first." >>"$report"
  result "test summary" SKIP "no ctest run recorded"
fi

# --- assemble, redact, self-scan --------------------------------------------------------------
final="$scratch/final.md"
{
  echo "# Release evidence $day"
  echo
  echo "Generated by \`make release-evidence\` (scripts/release-evidence.sh) at $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "on $(uname -srm), load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)."
  echo "Commit \`$(git rev-parse --short HEAD 2>/dev/null || echo unknown)\`" \
       "($(git status --porcelain 2>/dev/null | grep -vc '^??' || true) tracked file(s) modified);" \
       "host \`$("$jarvis" version 2>/dev/null)\`. Checklist: docs/release-checklist.md."
  echo
  echo "| Item | Result | Note |"
  echo "|---|---|---|"
  for r in "${results[@]}"; do
    IFS='|' read -r item res note <<<"$r"
    echo "| $item | $res | $note |"
  done
  cat "$report"
} >"$final"

# Replace every configured secret-looking value (environment and .env, `export KEY=` and quoted
# values too) and every credential-holding *_URL value (and its user:password part) by [redacted].
content=$(cat "$final")
redact_value() {
  [ ${#1} -ge 6 ] || return 0
  content=${content//"$1"/[redacted]}
}
while IFS= read -r line; do
  line=${line#"${line%%[![:space:]]*}"}
  line=${line#export }
  line=${line#"${line%%[![:space:]]*}"}
  [[ "$line" =~ ^([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*=[[:space:]]*(.*)$ ]] || continue
  key=${BASH_REMATCH[1]}
  value=${BASH_REMATCH[2]}
  value=${value%"${value##*[![:space:]]}"}
  if [[ "$value" =~ ^\"(.*)\"$ || "$value" =~ ^\'(.*)\'$ ]]; then value=${BASH_REMATCH[1]}; fi
  upper=${key^^}
  if [[ "$upper" =~ (TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|APIKEY|PRIVATE|CREDENTIAL) ]]; then
    redact_value "$value"
  fi
  if [[ "$upper" == *_URL && "$value" == *@* ]]; then
    redact_value "$value"
    userinfo=${value#*://}
    userinfo=${userinfo%@*}
    redact_value "$userinfo"             # user:password
    [[ "$userinfo" == *:* ]] && redact_value "${userinfo#*:}"  # the password alone
  fi
done < <(env; [ -f "$root/.env" ] && cat "$root/.env")
printf '%s\n' "$content" >"$final"

# The self-scan keys its (never published) fingerprints with a throwaway key of its own: it
# works with HOME unset or read-only and outside a work tree, and writes nothing outside $scratch.
if ! SECRET_SCAN_KEY_FILE="$scratch/self-scan.key" "$jarvis" secrets scan "$final" \
       >"$scratch/self.out" 2>&1; then
  echo "release-evidence: the report itself tripped the secret scan; not written:" >&2
  sed "s|$final|report|" "$scratch/self.out" >&2
  exit 1
fi
mkdir -p "$(dirname "$out")"
cp "$final" "$out"
echo "release-evidence: wrote $out"
for r in "${results[@]}"; do
  IFS='|' read -r item res note <<<"$r"
  printf '  %-22s %-9s %s\n' "$item" "$res" "$note"
done
for r in "${results[@]}"; do
  [[ "$r" == *"|FAIL|"* ]] && exit 1
done
exit 0
