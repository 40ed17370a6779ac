#!/bin/bash
# resumable.sh STORE CHUNK IN OUT KEYPART... -- cmd args...
# Runs a line-for-line filter (decode, ground: one output line per input line, in order) over
# IN in chunks of CHUNK lines, appending each finished chunk to STORE (gzip members, one per
# chunk, written whole or not at all), so a run killed at the end of a session -- or moved to
# another machine with STORE committed -- continues where it stopped. STORE.key identifies
# what made the lines: the sha256 of IN and of every KEYPART file (the model's weights) and the
# command line; a STORE made by anything else is refused, never mixed in. When STORE holds
# every line, OUT (the make target) is written from it.
set -euo pipefail
die() { echo "resumable.sh: $*" >&2; exit 1; }
[ $# -ge 6 ] || die "usage: resumable.sh STORE CHUNK IN OUT KEYPART... -- cmd args..."
store=$1 chunk=$2 in=$3 out=$4; shift 4
parts=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do parts+=("$1"); shift; done
[ "${1:-}" = "--" ] || die "missing -- before the command"
shift
[ $# -ge 1 ] || die "no command"
[[ "$chunk" =~ ^[1-9][0-9]*$ ]] || die "CHUNK must be a positive integer, got '$chunk'"
[ -f "$in" ] || die "$in: no such input"
key=$( { sha256sum "$in" | cut -d' ' -f1; for p in "${parts[@]}"; do sha256sum "$p" | cut -d' ' -f1; done; printf '%s\n' "$*"; } | sha256sum | cut -d' ' -f1)
mkdir -p "$(dirname "$store")"
if [ -f "$store.key" ] && [ "$(cat "$store.key")" != "$key" ]; then
  die "$store was made by another model, input or command (key $(cat "$store.key"), this run $key): remove $store and $store.key to recompute"
fi
[ -f "$store" ] || { : | gzip -n > "$store.tmp" && mv "$store.tmp" "$store"; }
echo "$key" > "$store.key"
total=$(wc -l < "$in")
done_=$(zcat "$store" | wc -l)
[ "$done_" -le "$total" ] || die "$store holds $done_ lines, more than the $total of $in"
tmp=$(mktemp "${TMPDIR:-/tmp}/resumable.XXXXXX")
trap 'rm -f "$tmp" "$tmp.in"' EXIT
while [ "$done_" -lt "$total" ]; do
  # awk reads the file itself and stops after the chunk: no pipe to break (pipefail + SIGPIPE)
  awk -v a="$((done_ + 1))" -v b="$((done_ + chunk))" 'NR > b { exit } NR >= a' "$in" > "$tmp.in"
  n=$(wc -l < "$tmp.in")
  "$@" < "$tmp.in" > "$tmp"
  [ "$(wc -l < "$tmp")" = "$n" ] || die "the command wrote $(wc -l < "$tmp") lines for $n input lines (lines $((done_ + 1))-$((done_ + n)) of $in)"
  # one gzip member per chunk, appended after a full write: a kill leaves the store as it was
  gzip -n < "$tmp" > "$tmp.gz"
  cat "$store" "$tmp.gz" > "$store.tmp" && sync "$store.tmp" && mv "$store.tmp" "$store"
  rm -f "$tmp.gz"
  done_=$((done_ + n))
  echo "resumable.sh: $store: $done_/$total lines" >&2
done
zcat "$store" > "$out.part" && mv "$out.part" "$out"
