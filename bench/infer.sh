#!/bin/bash
# Inference benchmark (issue 4): decode prompts/s (5 beams, 64 new tokens) with and without
# --constrain, ground items/s, and a PyTorch KV-cache beam search (transformers' generate)
# on the same random-init checkpoint, config B of the model-core issue (d=256, 4 layers,
# 4 heads / 2 kv, ffn 704, vocab 8000), 160-token prompts. Prints `bench <name> k=v ...`.
# Env: BIN (tool dir), PY, THREADS (2), NPROMPTS (32), NTORCH (16 prompts for PyTorch, in one
# batch of 16 like decode's default --batch),
# DATA_ROOT (ground's catalogue: MovieLens-1M titles).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(cd "$ROOT" && cd "${BIN:-bin}" && pwd)
PY=${PY:-$ROOT/build/pyenv/bin/python}; [ -x "$PY" ] || PY=/usr/bin/python3
DATA_ROOT=$(cd "$ROOT" && cd "${DATA_ROOT:-../shared/data}" && pwd)
THREADS=${THREADS:-2}; NPROMPTS=${NPROMPTS:-32}; NTORCH=${NTORCH:-16}
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
cd "$W"
O="$ROOT/tests/beam_oracle.py"
# random init like model_new (N(0, 0.02)): near-uniform next-token distributions, so the
# unconstrained search never meets EOS and runs all 64 steps (the worst case)
$PY "$O" mkckpt ck --vocab 8000 --hidden 256 --layers 4 --heads 4 --kv 2 --ffn 704 --std 0.02 --head-std 0.02 --eos 2 \
  ++ prompts p.jsonl --n "$NPROMPTS" --min-len 160 --max-len 160 --vocab 8000 \
  ++ catalogue cat.jsonl --n 2000 --vocab 8000 --max-len 20 --first 300 --eos 2 \
  ++ catalogue catlong.jsonl --n 2000 --vocab 8000 --min-len 70 --max-len 80 --first 300 --eos 2
kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" "$2"; }

run_decode() {  # name, extra args
  local name=$1; shift
  local t0=$(date +%s.%N)
  "$BIN/decode" --model ck --prompt-ids --beams 5 --return 5 --max-new-tokens 64 --threads "$THREADS" --timing -q "$@" \
    < p.jsonl > "$name.jsonl" 2> "$name.err"
  local t1=$(date +%s.%N)
  local pps=$(echo "$NPROMPTS / ($t1 - $t0)" | bc -l)
  printf 'bench %s prompts_per_s=%.3f prompts=%d beams=5 max_new=64 prompt_len=160 threads=%s steps=%s row_steps=%s us_per_row_step=%s select_us_per_row_step=%s config=B\n' \
    "$name" "$pps" "$NPROMPTS" "$THREADS" "$(kv steps "$name.err")" "$(kv row_steps "$name.err")" \
    "$(kv us_per_row_step "$name.err")" "$(kv select_us_per_row_step "$name.err")"
  echo "$pps" > "$name.pps"
}
run_decode decode
# D3: trie of 2000 catalogue sequences (1-20 tokens + EOS); the search stops when titles end
run_decode decode-constrained --constrain-ids cat.jsonl --length-penalty 0.0
# the trie's cost: a catalogue of 70-80-token sequences keeps every beam alive for all 64
# steps, exactly the unconstrained run's shape (same rows per step, same steps)
run_decode decode-constrained-64 --constrain-ids catlong.jsonl
u=$(cat decode.pps); c=$(cat decode-constrained-64.pps)
printf 'bench decode-constrained-overhead time_ratio=%.3f\n' "$(echo "$u / $c" | bc -l)"

# ground: embed the MovieLens-1M catalogue (3.9k titles) with a tokenizer trained on it
tail -n +2 "$DATA_ROOT/movielens-1m/movies.dat" | iconv -f latin1 -t utf-8 | awk -F'::' '{print $2}' > titles.txt
jq -Rc '{title: .}' titles.txt | jq -sc 'to_entries[] | {id: .key, item: ("i" + (.key|tostring)), title: .value.title, count: 1}' > items.jsonl
sh "$ROOT/tools/spm-train.sh" titles.txt ck/tokenizer.model 8000
head -n 200 titles.txt | jq -Rc '{predict: [., . + " II", "The " + ., "A Movie", .]}' \
  | jq -sc 'to_entries[] | {id: .key, predict: .value.predict}' > pred.jsonl
"$BIN/ground" --model ck --items items.jsonl --no-cache --threads "$THREADS" --timing -q < pred.jsonl > ranked.jsonl 2> ground.err
printf 'bench ground items_per_s=%s items=%s records_per_s=%s records=%s threads=%s config=B\n' \
  "$(kv items_per_s ground.err)" "$(kv items ground.err)" "$(kv records_per_s ground.err)" "$(kv records ground.err)" "$THREADS"

# PyTorch: transformers' generate (KV cache) on the same checkpoint and prompts
"$PY" "$ROOT/bench/torch_decode.py" ck p.jsonl --n "$NTORCH" --batch 16 --threads "$THREADS" 2> torch.err | tee torch.out \
  || { tail -5 torch.err; exit 1; }
t=$(kv prompts_per_s torch.out)
printf 'bench decode-vs-torch speedup=%.2f\n' "$(echo "$(cat decode.pps) / $t" | bc -l)"
