#!/bin/bash
# bench/split.sh: split811 and metrics throughput on MovieLens-1M (999,611 interactions,
# built into interaction records with awk; item id as title), one core.
#   bench split811 interactions=... seconds=... inter_per_s=... peak_rss_mb=...
#   bench metrics  samples=... seconds=... samples_per_s=... resamples=1000 (with --compare)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(cd "$ROOT" && cd "${BIN:-bin}" && pwd)
DATA_ROOT=$(cd "$ROOT" && cd "${DATA_ROOT:-../shared/data}" && pwd)
TMP=$(mktemp -d /tmp/bench-split.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
pin() { if command -v taskset > /dev/null; then taskset -c 0 "$@"; else "$@"; fi; }
zcat "$DATA_ROOT/movielens-1m/interactions.tsv.gz" | tail -n +2 |
  awk -F'\t' '{ printf "{\"user\": \"%s\", \"item\": \"%s\", \"title\": \"%s\", \"ts\": %s}\n", $1, $2, $2, $3 }' > "$TMP/in.jsonl"
n=$(wc -l < "$TMP/in.jsonl")
t0=$(date +%s%N)
pin /usr/bin/time -f '%M' -o "$TMP/rss" "$BIN/split811" -q -o "$TMP/d" < "$TMP/in.jsonl"
t1=$(date +%s%N)
awk -v n="$n" -v ns=$((t1 - t0)) -v kb="$(tail -1 "$TMP/rss")" \
  'BEGIN { s = ns / 1e9; printf "bench split811 interactions=%d seconds=%.3f inter_per_s=%.0f peak_rss_mb=%.1f\n", n, s, n / s, kb / 1024 }'
"$BIN/mostpop" -q --items "$TMP/d/items.jsonl" -n 20 < "$TMP/d/test.jsonl" > "$TMP/a.jsonl"
"$BIN/mostpop" -q --items "$TMP/d/items.jsonl" -n 20 --exclude-history < "$TMP/d/test.jsonl" > "$TMP/b.jsonl"
ns=$(wc -l < "$TMP/d/test.jsonl")
t0=$(date +%s%N)
pin "$BIN/metrics" -q --truth "$TMP/d/test.jsonl" --items "$TMP/d/items.jsonl" --ranked "$TMP/a.jsonl" \
  --compare "$TMP/b.jsonl" --popularity 5 --topk 20 > "$TMP/m.json"
t1=$(date +%s%N)
awk -v n="$ns" -v ns=$((t1 - t0)) 'BEGIN { s = ns / 1e9; printf "bench metrics samples=%d seconds=%.3f samples_per_s=%.0f resamples=1000\n", n, s, n / s }'
