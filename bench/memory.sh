#!/usr/bin/env bash
# Memory benchmark (issue 11): 100,000 items of real text from the public-domain and free texts
# Debian installs under /usr/share/doc (changelogs, READMEs, copyright files: prose-like lines of
# 40-240 characters, de-duplicated, every third one), through the memory core on SQLite:
# ingest with redaction, FTS5 and local embeddings, index build / save / reload, hybrid search
# p50/p95, recall@10 of BM25 alone vs vectors alone vs fused on a labelled query set, peak RSS.
# The driver is bench/memory_bench.cpp (target jarvis-memory-bench). Not a test: no thresholds.
# Record results in docs/benchmarks.md.
#   bench/memory.sh [items=100000] [queries=300]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ITEMS="${1:-100000}"
QUERIES="${2:-300}"
WORK="$(mktemp -d /tmp/jarvis-membench-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

flock /tmp/jarvis-build.lock cmake --build "$ROOT/build" -j2 --target jarvis-memory-bench >/dev/null

# The corpus: deterministic for a given set of installed packages.
find /usr/share/doc \( -name '*.gz' -o -name 'copyright' -o -name 'README*' -o -name '*.txt' \) -type f -print0 |
  LC_ALL=C sort -z |
  xargs -0 -n 50 sh -c 'for f; do case "$f" in *.gz) zcat "$f";; *) cat "$f";; esac; done' sh 2>/dev/null |
  LC_ALL=C tr -c '[:print:]\n' ' ' | sed -E 's/^[[:space:]*+-]+//; s/[[:space:]]+$//' |
  grep -E "^[A-Za-z][A-Za-z0-9 ,.;:()'\"/-]{38,}$" |
  awk 'NF>=7 { l=$0; n=gsub(/[A-Za-z]/,"",l); if (n/length($0) > 0.7) print }' |
  LC_ALL=C sort -u | awk 'NR % 3 == 0' > "$WORK/corpus.txt"
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(wc -l < "$WORK/corpus.txt") corpus lines available"
"$ROOT/build/bench/jarvis-memory-bench" "$WORK/corpus.txt" "$WORK" "$ITEMS" "$QUERIES"
