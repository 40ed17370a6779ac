#!/bin/bash
# The prompt-template sharing of the CPU prefill (infer.c: a batch's common token prefix is
# computed once) against prefilling every prompt whole (decode --no-share-prefix), in the same
# run, on a TRAINED model's real prompts: runs/$DATASET/bigrec and data/$DATASET/test.prompts.jsonl
# (the SmolLM2 study's by default); skipped with a note when they are absent. D3's decode as the
# study runs it (5 beams, length penalty 0, the catalogue trie). One `bench` line each, then
# the ratios; the beams of both runs are compared (the same lists, scores within 1e-3).
# Env: BIN, DATASET (games-smollm2), NPROMPTS (48), THREADS (2).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(cd "$ROOT" && cd "${BIN:-bin}" && pwd)
DATASET=${DATASET:-games-smollm2}; NPROMPTS=${NPROMPTS:-48}; THREADS=${THREADS:-2}
M=$ROOT/runs/$DATASET/bigrec; D=$ROOT/data/$DATASET
if [ ! -f "$M/config.json" ] || [ ! -f "$D/test.prompts.jsonl" ]; then
  echo "bench share skipped=1 reason=no_trained_run_in_runs/$DATASET"; exit 0
fi
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
head -n "$NPROMPTS" "$D/test.prompts.jsonl" > "$W/p.jsonl"
A=(-q --model "$M" --beams 5 --return 5 --max-new-tokens 48 --length-penalty 0.0 --constrain "$D/items.jsonl"
   --threads "$THREADS" --timing)
kv() { sed -nE "s/.*[ ]$1=([0-9.]+).*/\1/p" "$2"; }
for mode in shared whole; do
  flag=; [ $mode = whole ] && flag=--no-share-prefix
  "$BIN/decode" "${A[@]}" $flag < "$W/p.jsonl" > "$W/$mode.jsonl" 2> "$W/$mode.err"
  printf 'bench decode-prefix-%s dataset=%s prompts=%d seconds=%s prefill_s=%s step_s=%s prefill_positions=%s prefill_rows=%s threads=%s\n' \
    $mode "$DATASET" "$(wc -l < "$W/p.jsonl")" "$(kv seconds "$W/$mode.err")" "$(kv prefill_s "$W/$mode.err")" \
    "$(kv step_s "$W/$mode.err")" "$(kv prefill_positions "$W/$mode.err")" "$(kv prefill_rows "$W/$mode.err")" "$THREADS"
done | tee "$W/bench.txt"
awk '{ m = $2; sub(/^decode-prefix-/, "", m); for (i = 3; i <= NF; i++) { split($i, kv, "="); v[m, kv[1]] = kv[2] } }
     END { printf "bench decode-prefix-sharing prefill_speedup=%.2f decode_speedup=%.2f rows_fraction=%.3f\n",
                  v["whole", "prefill_s"] / v["shared", "prefill_s"], v["whole", "seconds"] / v["shared", "seconds"],
                  v["shared", "prefill_rows"] / v["shared", "prefill_positions"] }' "$W/bench.txt"
python3 - "$W/shared.jsonl" "$W/whole.jsonl" <<'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]; b = [json.loads(l) for l in open(sys.argv[2])]
same = sum(x["predict"] == y["predict"] for x, y in zip(a, b))
d = max(abs(s - t) for x, y in zip(a, b) for s, t in zip(x["scores"], y["scores"]))
print(f"bench decode-prefix-agreement same_lists={same}/{len(a)} max_score_diff={d:.2e}")
sys.exit(0 if same == len(a) and d < 1e-3 else 1)
PY
