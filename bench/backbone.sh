#!/bin/bash
# Pretrained-backbone benchmarks on the real SmolLM2-135M checkpoint (build/models/smollm2,
# `make backbone-smollm2`), each against its peer in the same run:
#  - tokenizer: `tokenize` (tools/lib/llm/bpe.c) on every title of every dataset in DATA_ROOT
#    (about 50k) vs HF `tokenizers` on the same tokenizer.json, one thread each; our time
#    excludes loading (a run on empty input is subtracted), HF's excludes loading too;
#  - decode: 5 beams, 32 new tokens, BIGRec's length penalty, on MovieLens-100k prompts
#    (mkprompt, Table 1 template) as ids, vs transformers' generate() (KV cache, same beams,
#    same prompts, same threads).
# Prints `bench <name> key=value ...`. Skipped (exit 0, one line) when the backbone is absent.
# Env: BIN, PY, THREADS (2), NPROMPTS (16), DATA_ROOT.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(cd "$ROOT" && cd "${BIN:-bin}" && pwd)
PY=${PY:-$ROOT/build/pyenv/bin/python}; [ -x "$PY" ] || PY=/usr/bin/python3
DATA_ROOT=$(cd "$ROOT" && cd "${DATA_ROOT:-../shared/data}" && pwd)
THREADS=${THREADS:-2}; NPROMPTS=${NPROMPTS:-16}
M=$ROOT/build/models/smollm2
[ -f "$M/config.json" ] || { echo "bench backbone skipped=1 reason=no_build/models/smollm2_(make_backbone-smollm2)"; exit 0; }
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
cd "$W"

# ---- tokenizer ----
"$PY" -c "
import sys
sys.path.insert(0, '$ROOT/tests')
from bpe_oracle import titles
for ts in titles('$DATA_ROOT', 100000).values():
    for t in ts:
        if '\n' not in t and '\r' not in t: print(t)
" > titles.txt
n=$(wc -l < titles.txt)
t0=$(date +%s.%N); "$BIN/tokenize" --model "$M" < /dev/null > /dev/null; t1=$(date +%s.%N)
"$BIN/tokenize" --model "$M" < titles.txt > ours.ids; t2=$(date +%s.%N)
ours=$(echo "($t2 - $t1) - ($t1 - $t0)" | bc -l)
RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false "$PY" - "$M/tokenizer.json" titles.txt ours.ids <<'PY' > hf.out
import sys, time
from tokenizers import Tokenizer
tk = Tokenizer.from_file(sys.argv[1])
lines = open(sys.argv[2], encoding="utf-8").read().split("\n")[:-1]
t0 = time.perf_counter()
enc = [tk.encode(l).ids for l in lines]
el = time.perf_counter() - t0
ours = [[int(x) for x in l.split()] for l in open(sys.argv[3])]
assert ours == enc, "C and HF ids differ"
print(f"{el:.4f}")
PY
hf=$(cat hf.out)
printf 'bench tokenizer-bpe titles=%d ours_s=%.4f hf_s=%.4f speedup=%.1f threads=1 tokenizer=smollm2\n' "$n" "$ours" "$hf" "$(echo "$hf / $ours" | bc -l)"

# ---- decode ----
"$BIN/import" --format movielens "$DATA_ROOT/movielens-100k" --core 5 -q -o inter.jsonl
"$BIN/split811" -o d -q < inter.jsonl
head -n "$NPROMPTS" d/test.jsonl | "$BIN/mkprompt" --category movies -q > p.jsonl
"$PY" - "$M/tokenizer.json" p.jsonl <<'PY' > pid.jsonl
import json, sys
from tokenizers import Tokenizer
tk = Tokenizer.from_file(sys.argv[1])
for l in open(sys.argv[2]):
    r = json.loads(l)
    print(json.dumps({"id": r["id"], "prompt_ids": tk.encode(r["prompt"]).ids}))
PY
plen=$(jq '.prompt_ids|length' pid.jsonl | awk '{s+=$1} END {printf "%d", s/NR}')
t0=$(date +%s.%N)
"$BIN/decode" --model "$M" --prompt-ids --beams 5 --return 5 --max-new-tokens 32 --length-penalty 1.0 --threads "$THREADS" -q < pid.jsonl > ours.pred
t1=$(date +%s.%N)
pps=$(echo "$NPROMPTS / ($t1 - $t0)" | bc -l)
printf 'bench decode-smollm2 prompts_per_s=%.3f prompts=%d beams=5 max_new=32 mean_prompt_len=%d threads=%s\n' "$pps" "$NPROMPTS" "$plen" "$THREADS"
"$PY" "$ROOT/bench/torch_decode.py" "$M" pid.jsonl --beams 5 --ret 5 --max-new 32 --lp 1.0 --batch 16 --threads "$THREADS" 2> torch.err | tee torch.out \
  || { tail -5 torch.err; exit 1; }
t=$(sed -n 's/.* prompts_per_s=\([^ ]*\).*/\1/p' torch.out)
printf 'bench decode-smollm2-vs-torch speedup=%.2f\n' "$(echo "$pps / $t" | bc -l)"
