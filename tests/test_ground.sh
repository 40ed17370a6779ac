#!/bin/bash
# ground: item embeddings vs PyTorch (final-norm hidden at the title's last token), the
# cache (written once, reused, recomputed when the model changes), interleave/single
# rankings vs a from-scratch PyTorch grounding, and an exact hand-made interleave case.
source "$ROOT/tests/lib.sh"
O="$ROOT/tests/beam_oracle.py"
# a small real tokenizer: 60 MovieLens titles
iconv -f latin1 -t utf-8 "$DATA_ROOT/movielens-100k/u.item" | head -60 | cut -d'|' -f2 > titles.txt
jq -Rc '{title: .}' titles.txt | jq -sc 'to_entries[] | {id: .key, item: ("i" + (.key|tostring)), title: .value.title, count: 1}' > items.jsonl
sed 's/.*/Below is an instruction. ### Response:\n"&"/' titles.txt > corpus.txt
sh "$ROOT/tools/spm-train.sh" corpus.txt tok.model 400
# predictions: catalogue titles, near-misses and an empty title
$PY - <<'PY'
import json
T = [json.loads(l)["title"] for l in open("items.jsonl")]
P = [[T[0], "Toy Story 2 (1999)", T[5], "Golden Eye", T[0]],
     ["Four Room", T[9], "Usual Suspects", "", T[3]],
     [T[20], T[21], T[22], T[23], T[24]]]
with open("pred.jsonl", "w") as f, open("pred_titles.txt", "w") as g:
    for i, p in enumerate(P):
        f.write(json.dumps({"id": i, "predict": p, "scores": [-1.0] * len(p)}) + "\n")
        for t in p:
            if t: g.write(t + "\n")
PY
spm_encode --model=tok.model --output_format=id < titles.txt > item_ids.txt
spm_encode --model=tok.model --output_format=id < pred_titles.txt > title_ids.txt
# pred.jsonl's empty title has no tokens: ground skips it (counted on stderr); so does the oracle
jq -c '.predict |= map(select(. != ""))' pred.jsonl > pred_ne.jsonl
$PY "$O" mkckpt ck --vocab 512 --hidden 32 --layers 2 --heads 4 --kv 2 --ffn 48 \
  ++ embed ck item_ids.txt --out emb_oracle.jsonl \
  ++ ground ck item_ids.txt title_ids.txt pred_ne.jsonl -n 12 --out r_oracle.jsonl \
  ++ ground ck item_ids.txt title_ids.txt pred_ne.jsonl -n 12 --mode single --out s_oracle.jsonl
cp tok.model ck/tokenizer.model

"$BIN/ground" --model ck --items items.jsonl -n 12 --batch 7 < pred.jsonl > r.jsonl
ls ck/item_emb.*.safetensors > /dev/null || die "no embedding cache written"
cachef=$(ls ck/item_emb.*.safetensors)
same r.jsonl r_oracle.jsonl
"$BIN/ground" --model ck --items items.jsonl -n 12 --mode single < pred.jsonl > s.jsonl
same s.jsonl s_oracle.jsonl
$PY - "$cachef" <<'PY' || die "cached item embeddings differ from PyTorch"
import json, sys, torch
from safetensors.torch import load_file
E = load_file(sys.argv[1])["item_emb"].double()
R = torch.tensor([json.loads(l) for l in open("emb_oracle.jsonl")], dtype=torch.float64)
assert E.shape == R.shape, (E.shape, R.shape)
d = ((E - R).abs().max() / R.abs().max()).item()   # values are O(1) after the final norm
print("max abs diff / max abs value", d)
assert d < 2e-5
PY

# cache reuse: overwrite the cached embeddings with a hand-made 1-D layout (same metadata);
# if ground recomputed them the result would not be the hand-worked one below
$PY - "$cachef" <<'PY'
import sys, torch
from safetensors import safe_open
from safetensors.torch import save_file
with safe_open(sys.argv[1], "pt") as f:
    meta, E = f.metadata(), f.get_tensor("item_emb")
x = {0: 0.0, 1: 10.0, 2: 20.0, 3: 0.5, 4: 10.4, 5: 1.0, 6: 19.2, 7: 9.0}
H = torch.zeros_like(E)
for i in range(E.shape[0]):
    H[i, 0] = x.get(i, 1000.0 + i)
save_file({"item_emb": H.contiguous()}, sys.argv[1], metadata=meta)
PY
touch -d '2000-01-01' "$cachef"
T0=$(jq -r .title items.jsonl | sed -n 1p); T1=$(jq -r .title items.jsonl | sed -n 2p); T2=$(jq -r .title items.jsonl | sed -n 3p)
jq -nc --arg a "$T0" --arg b "$T1" --arg c "$T2" '{id: 7, predict: [$a, $b, $c, $a]}' > hand.jsonl
"$BIN/ground" --model ck --items items.jsonl -n 7 < hand.jsonl > h.jsonl
# by hand: q0 (x=0): 0 3 5 7 1 4 6 ; q1 (x=10): 1 4 7 5 6 3 0 ; q2 (x=20): 2 6 4 1 7 5 3
# interleave: rank 0 -> 0 1 2 (0 again: dup), rank 1 -> 3 4 6, rank 2 -> 5
echo '{"id":7,"items":[0,1,2,3,4,6,5]}' > h_expect.jsonl
same h.jsonl h_expect.jsonl
"$BIN/ground" --model ck --items items.jsonl -n 7 --mode single < hand.jsonl > hs.jsonl
echo '{"id":7,"items":[0,3,5,7,1,4,6]}' > hs_expect.jsonl
same hs.jsonl hs_expect.jsonl
[ "$(stat -c %Y "$cachef")" = "$(date -d 2000-01-01 +%s)" ] || die "cache file was rewritten"

# a changed model invalidates the cache: recomputed, real ranking again
touch ck/model.safetensors
"$BIN/ground" --model ck --items items.jsonl -n 12 < pred.jsonl > r2.jsonl
same r2.jsonl r_oracle.jsonl
# --no-cache works in a read-only checkpoint too
"$BIN/ground" --model ck --items items.jsonl -n 12 --no-cache < pred.jsonl > r3.jsonl
same r3.jsonl r_oracle.jsonl

# a generated title met before reuses its embedding: pred.jsonl's records 100 times over (three
# chunks of records) rank as the oracle did, and only its 4 distinct non-catalogue titles
# are embedded
jq -c '.' pred.jsonl | jq -sc '[range(100) as $k | .[] | .id += 10 * $k] | .[]' > rep.jsonl
"$BIN/ground" --model ck --items items.jsonl -n 12 --timing -q < rep.jsonl > rr.jsonl 2> rr.err
grep -q ' titles=1400 embedded=4 ' rr.err || die "ground: repeated titles were embedded again: $(cat rr.err)"
jq -c '.id %= 10' rr.jsonl > rr10.jsonl
for k in $(seq 100); do cat r_oracle.jsonl; done > rr_expect.jsonl
same rr10.jsonl rr_expect.jsonl

# bad input
printf '{"id": 0, "title": "A"}\n{"id": 0, "title": "B"}\n' > dup.jsonl
expect_fail 1 'dup.jsonl:2: id: 0 appears twice' "$BIN/ground" --model ck --items dup.jsonl < pred.jsonl
printf '{"id": 0, "title": "A"}\n{"id": 2, "title": "B"}\n' > gap.jsonl
expect_fail 1 'gap.jsonl: id: 1 missing' "$BIN/ground" --model ck --items gap.jsonl < pred.jsonl
printf '{"id": 3, "predict": ["A", 5]}\n' > badp.jsonl
expect_fail 1 '<stdin>:1: predict: element 1' "$BIN/ground" --model ck --items items.jsonl -o out.jsonl < badp.jsonl
[ ! -e out.jsonl ] || die "output file left behind after an error"
expect_fail 2 'mode' "$BIN/ground" --model ck --items items.jsonl --mode both < pred.jsonl
expect_fail 2 'no usable CUDA device|no CUDA support' "$BIN/ground" --model ck --items items.jsonl --device cuda -o gc.jsonl < pred.jsonl
[ ! -e gc.jsonl ] || die "ground --device cuda left an output file"
expect_fail 2 'expected fp32 or tf32' "$BIN/ground" --model ck --items items.jsonl --precision half < pred.jsonl
"$BIN/ground" --help | grep -q interleave || die "--help"
echo ok
