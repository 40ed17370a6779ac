#!/bin/bash
# D3's exact ranking (decode --exact) against D3's beam search on a TRAINED model: prompts/s,
# rows per prompt and how many top-10 lists are certified exact, the same without the guessed
# first bound (--exact-guess 0), and how often beam search
# with 5 / 10 / 64 beams returns the exact top 10. A random-init model spreads its mass too
# thinly for the bound to prune (every prefix stays a candidate), so this needs a finished run:
# runs/$DATASET/bigrec and data/$DATASET/valid.eval.prompts.jsonl or valid.prompts.jsonl (make lr-sweep, table3 or a study
# DATASET=steam-cpu); skipped with a note when they are absent.
# Env: BIN, DATASET (steam-cpu), NPROMPTS (500 validation prompts), THREADS (2).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(cd "$ROOT" && cd "${BIN:-bin}" && pwd)
DATASET=${DATASET:-steam-cpu}; NPROMPTS=${NPROMPTS:-500}; THREADS=${THREADS:-2}
M=$ROOT/runs/$DATASET/bigrec; D=$ROOT/data/$DATASET
# the validation prompts the grid evaluates, or (a SmolLM2 study before its grid) the fine-tune's
VP=$D/valid.eval.prompts.jsonl; [ -f "$VP" ] || VP=$D/valid.prompts.jsonl
if [ ! -f "$M/config.json" ] || [ ! -f "$VP" ]; then
  echo "bench exact skipped=1 reason=no_trained_run_in_runs/$DATASET"; exit 0
fi
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
head -n "$NPROMPTS" "$VP" > "$W/p.jsonl"
n=$(wc -l < "$W/p.jsonl")
MAXNEW=$(make -s -C "$ROOT" --no-print-directory DATASET="$DATASET" print-DS_MAXNEW 2>/dev/null || echo 48)
kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" "$2"; }
dec() {  # name, extra args
  local name=$1; shift
  local t0=$(date +%s.%N)
  "$BIN/decode" --model "$M" --length-penalty 0 --constrain "$D/items.jsonl" --max-new-tokens "$MAXNEW" \
    --threads "$THREADS" --timing -q "$@" < "$W/p.jsonl" > "$W/$name.jsonl" 2> "$W/$name.err"
  local t1=$(date +%s.%N)
  echo "$n / ($t1 - $t0)" | bc -l > "$W/$name.pps"
}
dec exact --exact --beams 64 --return 10
dec exact0 --exact --beams 64 --return 10 --exact-guess 0
for b in 5 10 64; do dec beam$b --beams $b --return $([ $b -ge 10 ] && echo 10 || echo $b); done
printf 'bench decode-exact prompts_per_s=%.3f prompts=%d row_steps_per_prompt=%.0f certified=%s researched=%s dataset=%s threads=%s\n' \
  "$(cat $W/exact.pps)" "$n" "$(echo "$(kv row_steps $W/exact.err) / $n" | bc -l)" \
  "$(jq -s 'map(select(.exact)) | length' $W/exact.jsonl)" "$(kv researched $W/exact.err)" "$DATASET" "$THREADS"
# the guessed first bound (the default) against none: the same lists, fewer rows
printf 'bench decode-exact-noguess prompts_per_s=%.3f prompts=%d row_steps_per_prompt=%.0f same_lists=%s dataset=%s threads=%s\n' \
  "$(cat $W/exact0.pps)" "$n" "$(echo "$(kv row_steps $W/exact0.err) / $n" | bc -l)" \
  "$(cmp -s <(jq -c .predict $W/exact.jsonl) <(jq -c .predict $W/exact0.jsonl) && echo yes || echo no)" "$DATASET" "$THREADS"
for b in 5 10 64; do
  k=$([ $b -ge 10 ] && echo 10 || echo $b)
  same=$(jq -sc --argjson k $k '.' "$W/exact.jsonl" | jq -c --slurpfile B "$W/beam$b.jsonl" --argjson k $k \
    '[range(length) as $i | select(.[$i].predict[:$k] == $B[$i].predict[:$k])] | length')
  printf 'bench decode-beam%s prompts_per_s=%.3f prompts=%d top%s_equal_to_exact=%s dataset=%s threads=%s\n' \
    "$b" "$(cat $W/beam$b.pps)" "$n" "$k" "$same" "$DATASET" "$THREADS"
done
