#!/bin/bash
# resumable.sh STORE CHUNK IN OUT KEYPART... -- cmd args...
# Runs a line-for-line filter (decode, ground: one output line per input line, in order) over
# IN in chunks of CHUNK lines, appending each finished chunk to STORE (gzip members, one per
# chunk, written whole or not at all), so a run killed at the end of a session -- or moved to
# another machine with STORE committed -- continues where it stopped. STORE.key identifies
# what made the lines: the sha256 of IN and of every KEYPART file (the model's weights) and the
# command line; a STORE made by anything else is refused, never mixed in. When STORE holds
# every line, OUT (the make target) is written from it.
#
# A retrain on another machine does not reproduce a fine-tune bitwise (OpenBLAS picks its
# kernels by CPU, and a float's last bits steer the rest of training), so its key differs.
# RESUMABLE_ACCEPT_RETRAIN=1 takes a COMPLETE store with another key as the result of the same
# recipe, after measuring how far this run's weights are from the ones that made it: the first
# chunk is run again and compared with the store's (OUT.retrain.json: lines compared, lines
# equal apart from scores, the lists' mean overlap, the largest score difference); lists that
# share less than half on average are another recipe and refused. An incomplete store is never continued by other weights.
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
  total=$(wc -l < "$in")
  if [ "${RESUMABLE_ACCEPT_RETRAIN:-0}" = 1 ] && [ -f "$store" ] && [ "$(zcat "$store" | wc -l)" = "$total" ]; then
    tmp=$(mktemp "${TMPDIR:-/tmp}/resumable.XXXXXX")
    trap 'rm -f "$tmp" "$tmp.in" "$tmp.old"' EXIT
    awk -v b="$chunk" 'NR > b { exit } 1' "$in" > "$tmp.in"
    "$@" < "$tmp.in" > "$tmp"
    zcat "$store" | awk -v b="$chunk" 'NR <= b' > "$tmp.old"   # no early exit: zcat would die of SIGPIPE
    /usr/bin/python3 - "$tmp.old" "$tmp" "$(cat "$store.key")" "$key" > "$out.retrain.json.tmp" <<'PY'
import json, sys
old, new = ([json.loads(l) for l in open(f)] for f in sys.argv[1:3])
if len(old) != len(new):
    sys.exit(f"resumable.sh: the first chunk gave {len(new)} lines, the store has {len(old)}")
strip = lambda r: {k: v for k, v in r.items() if k != "scores"} if isinstance(r, dict) else r
diffs = [abs(a - b) for o, n in zip(old, new) if isinstance(o, dict) and isinstance(n, dict)
         and "scores" in o and "scores" in n for a, b in zip(o["scores"], n["scores"])]
# the lists themselves (decode's titles, ground's items): share of the longer list's length
# the two have in common, per line (a deep top-50 list reorders near-ties under other weights)
def overlap(o, n):
    for k in ("predict", "items", "predict_ids"):
        if isinstance(o, dict) and isinstance(n, dict) and k in o and k in n:
            a, b = [json.dumps(x) for x in o[k]], [json.dumps(x) for x in n[k]]
            return len(set(a) & set(b)) / max(len(a), len(b), 1)
    return float(strip(o) == strip(n))
print(json.dumps({"store_key": sys.argv[3], "this_key": sys.argv[4], "compared": len(old),
                  "equal_apart_from_scores": sum(strip(o) == strip(n) for o, n in zip(old, new)),
                  "mean_list_overlap": round(sum(overlap(o, n) for o, n in zip(old, new)) / max(len(old), 1), 6),
                  "max_score_diff": max(diffs) if diffs else None}))
PY
    # another command or input (not only other weights) agrees on few lines: refused
    /usr/bin/python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); sys.exit(r["mean_list_overlap"] < 0.5)' \
      "$out.retrain.json.tmp" || { rm -f "$out.retrain.json.tmp"; die "$store: made by another model, input or command, and this run's lists share less than half with it on the first chunk: not a retrain of the same recipe; remove $store and $store.key to recompute"; }
    mv "$out.retrain.json.tmp" "$out.retrain.json"
    echo "resumable.sh: $store: made by other weights of this command (retrained?); taken whole (RESUMABLE_ACCEPT_RETRAIN=1): $(cat "$out.retrain.json")" >&2
    zcat "$store" > "$out.part" && mv "$out.part" "$out"
    exit 0
  fi
  die "$store was made by another model, input or command (key $(cat "$store.key"), this run $key): remove $store and $store.key to recompute"
fi
rm -f "$out.retrain.json"
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
