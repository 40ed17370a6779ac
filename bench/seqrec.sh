#!/bin/bash
# seqrec benchmark: training seconds per epoch and test-set full-ranking throughput of
# SASRec / GRU4Rec / Caser on MovieLens-1M (leave-one-out split, 3,416 items) and Amazon
# Games (8:1:1 split, 16,874 items), 2 threads.
#   bench seqrec-<model>-<data> s_per_epoch=S train_samples_per_s=X rank_per_s=R ...
# s_per_epoch is extrapolated to the full train split from a timed pass over SAMPLES
# training examples (the per-example cost does not depend on the split's size); rank_per_s
# ranks all items for up to RANK test samples. Configs: configs/seqrec/<model>.conf.
# Env: BIN (default bin), DATA_ROOT, THREADS (2), SAMPLES (20000), RANK (5000), KEEP=dir
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(cd "$ROOT" && cd "${BIN:-bin}" && pwd)
DATA_ROOT=$(cd "$ROOT" && cd "${DATA_ROOT:-../shared/data}" && pwd)
THREADS=${THREADS:-2}; SAMPLES=${SAMPLES:-20000}; RANK=${RANK:-5000}
W=${KEEP:-$(mktemp -d)}
[ -n "${KEEP:-}" ] || trap 'rm -rf "$W"' EXIT
mkdir -p "$W"

prep() {   # prep NAME SRCDIR MODE
  local d="$W/$1"
  [ -s "$d/items.jsonl" ] && return
  mkdir -p "$d"
  "$BIN/import" --format tsv "$2" -q | "$BIN/split811" --mode "$3" -q -o "$d"
  wc -l < "$d/train.jsonl" > "$d/n_train"
  # the timed subsets: loading 1M JSON samples would dominate the run otherwise
  head -n "$SAMPLES" "$d/train.jsonl" > "$d/train_sub.jsonl"
  head -n "$RANK" "$d/test.jsonl" > "$d/test_sub.jsonl"
  rm -f "$d/train.jsonl" "$d/valid.jsonl"
}
prep ml1m "$DATA_ROOT/movielens-1m" loo
prep games "$DATA_ROOT/amazon2018-games" 811

for data in ml1m games; do
  d="$W/$data"
  for m in sasrec gru4rec caser; do
    nice "$BIN/seqrec" --model $m --config "$ROOT/configs/seqrec/$m.conf" --train "$d/train_sub.jsonl" \
      --test "$d/test_sub.jsonl" --items "$d/items.jsonl" --epochs 1 --threads "$THREADS" --seed 1 \
      --out "$W/out.jsonl" --report "$W/rep.json" -q
    python3 - "$W/rep.json" "$(cat "$d/n_train")" "$m" "$data" "$THREADS" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); n_train = int(sys.argv[2])
sps = r["samples_per_epoch"] / r["s_per_epoch"]
print(f"bench seqrec-{sys.argv[3]}-{sys.argv[4]} s_per_epoch={n_train / sps:.1f} train_samples_per_s={sps:.0f} "
      f"rank_per_s={r['rank_per_s']:.0f} items={r['items']} n_train={n_train} timed_samples={r['samples_per_epoch']} "
      f"ranked={r['test']['n']} threads={sys.argv[5]} params={r['params']}")
PY
  done
done
