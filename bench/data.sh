#!/bin/bash
# bench/data.sh: amz-filter throughput on a replicated real review file (plain text on
# stdin, one core), against jq doing the same windowed select, in the same run.
#   bench amz-filter mb_per_s=... peak_rss_mb=... input_mb=...
#   bench jq-select  mb_per_s=... peak_rss_mb=... input_mb=...
#   bench amz-filter-gz mb_per_s=...   (the same file gzip -1'd, read by path via zlib)
# amz-filter does the full D3 job (scan + validate every line, window, metadata titles,
# 5-core, write records); jq only selects the window. Input: All_Beauty_5 + Gift_Cards_5
# decompressed and concatenated to >= BENCH_MB (default 200) MB in a temp file, removed after.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(cd "$ROOT" && cd "${BIN:-bin}" && pwd)
DATA_ROOT=$(cd "$ROOT" && cd "${DATA_ROOT:-../shared/data}" && pwd)
RAW="$DATA_ROOT/amazon2018-raw"
MB=${BENCH_MB:-200}
TMP=$(mktemp -d /tmp/bench-data.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
zcat "$RAW/All_Beauty_5.json.gz" "$RAW/Gift_Cards_5.json.gz" > "$TMP/one.json"
: > "$TMP/in.json"
while [ "$(stat -c %s "$TMP/in.json")" -lt $((MB * 1000000)) ]; do cat "$TMP/one.json" >> "$TMP/in.json"; done
bytes=$(stat -c %s "$TMP/in.json")
in_mb=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }')
pin() { if command -v taskset > /dev/null; then taskset -c 0 "$@"; else "$@"; fi; }   # one core
# run CMD < input, print "seconds peak_rss_kb" (best wall time of $2 runs, RSS of the last)
measure() {
  local reps=$1; shift
  local best=""
  for _ in $(seq "$reps"); do
    local t0 t1
    t0=$(date +%s%N)
    pin /usr/bin/time -f '%M' -o "$TMP/rss" "$@" < "$TMP/in.json" > "$TMP/out"
    t1=$(date +%s%N)
    local s; s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')
    if [ -z "$best" ] || awk -v x="$s" -v y="$best" 'BEGIN { exit !(x < y) }'; then best=$s; fi
  done
  echo "$best $(tail -n 1 "$TMP/rss")"
}
report() {   # name seconds rss_kb
  awk -v n="$1" -v s="$2" -v r="$3" -v b="$bytes" -v m="$in_mb" \
    'BEGIN { printf "bench %s mb_per_s=%.1f peak_rss_mb=%.1f input_mb=%s seconds=%.3f\n", n, b / 1e6 / s, r / 1024, m, s }'
}
A=1506816000   # 2017-10-01 UTC
B=1541030400   # 2018-11-01 UTC
read -r s r < <(measure 3 "$BIN/amz-filter" -q --meta "$RAW/meta_Gift_Cards.json.gz")
report amz-filter "$s" "$r"
rows=$(wc -l < "$TMP/out")
read -r s r < <(measure 1 jq -c "select(.unixReviewTime >= $A and .unixReviewTime < $B)")
report jq-select "$s" "$r"
jq_rows=$(wc -l < "$TMP/out")
# the same through zlib from a .gz path (MB/s of uncompressed input); BENCH_GZ=0 skips
if [ "${BENCH_GZ:-1}" = 1 ]; then
  gzip -1 -c "$TMP/in.json" > "$TMP/in.json.gz"
  read -r s r < <(measure 2 "$BIN/amz-filter" -q --meta "$RAW/meta_Gift_Cards.json.gz" "$TMP/in.json.gz")
  report amz-filter-gz "$s" "$r"
fi
echo "# amz-filter kept $rows interactions (D3 window + 5-core); jq selected $jq_rows lines" >&2
