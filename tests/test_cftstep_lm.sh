#!/bin/bash
# Objective lm (the in-project base model): mkcorpus --mode lm builds the corpus from the
# train split only (popularity-weighted titles + train sequences; a valid split is refused),
# cft-step --objective lm trains on it (validation loss goes down, deterministic), and
# padding is invisible: --eval gives the same loss with micro-batch 1 and 7, for lm and rec.
source "$ROOT/tests/lib.sh"
games_samples 40 600
"$BIN/mkcorpus" --mode lm --items d/items.jsonl --train d/train.jsonl -o lm.txt --seed 3
"$BIN/mkcorpus" --mode lm --items d/items.jsonl --train d/train.jsonl --seed 3 | cmp -s - lm.txt || die "mkcorpus not deterministic"
expect_fail 1 'valid.jsonl:1: split: "valid" sample' "$BIN/mkcorpus" --mode lm --items d/items.jsonl --train d/valid.jsonl
# recipe: a title with train count c appears 1+floor(log2(1+c)) times (cap 8); 480 sequence lines
python3 - <<'PY' || die "lm corpus recipe"
import json, math
lines = open("lm.txt").read().split("\n")[:-1]
items = [json.loads(l) for l in open("d/items.jsonl")]
seqs = [l for l in lines if '", "' in l]
assert len(seqs) == sum(1 for l in open("d/train.jsonl") if json.loads(l)["history"]), len(seqs)
cnt = {}
for it in items: cnt[it["title"]] = cnt.get(it["title"], 0) + it["count"]
for t, c in cnt.items():
    want = min(8, 1 + int(math.floor(math.log2(1 + c))))
    assert lines.count('"%s"' % t) == want, (t, c, lines.count('"%s"' % t))
PY
head -n -60 lm.txt > lm.train; tail -n 60 lm.txt > lm.valid
cat > cfg.json <<'J'
{"hidden_size": 32, "intermediate_size": 88, "num_hidden_layers": 2, "num_attention_heads": 4,
 "num_key_value_heads": 2, "max_position_embeddings": 256, "tie_word_embeddings": true}
J
A=(--objective lm --train lm.train --valid lm.valid --config cfg.json --tokenizer tok.model --batch 32
   --micro-batch 16 --epochs 2 --lr 3e-3 --warmup 2 --threads 2 --seed 5 -q)
"$BIN/cft-step" "${A[@]}" --out L1 --log L1.log
"$BIN/cft-step" "${A[@]}" --out L2
same L1/model.safetensors L2/model.safetensors
python3 - <<'PY' || die "lm training did not reduce the loss"
import json
L = [json.loads(l) for l in open("L1.log")]
ends = [x for x in L if "epoch_end" in x]; steps = [x for x in L if "epoch_end" not in x]
assert len(ends) == 2 and ends[1]["val_L_n"] < ends[0]["val_L_n"]
assert steps[-1]["loss"] < steps[0]["loss"] - 1.0, (steps[0]["loss"], steps[-1]["loss"])
PY
"$BIN/cft-step" --eval lm.valid --objective lm --init L1 --micro-batch 1 > e1.json
"$BIN/cft-step" --eval lm.valid --objective lm --init L1 --micro-batch 7 > e7.json
"$BIN/cft-step" --eval d/valid.prompts.jsonl --init L1 --micro-batch 1 > r1.json
"$BIN/cft-step" --eval d/valid.prompts.jsonl --init L1 --micro-batch 7 > r7.json
python3 - <<'PY' || die "padding changes the loss"
import json
e1, e7 = json.load(open("e1.json")), json.load(open("e7.json"))
best = [json.loads(l) for l in open("L1.log") if "epoch_end" in l][-1]["best_val_L_n"]
assert abs(e1["L_n"] - e7["L_n"]) < 1e-5 * e1["L_n"] and abs(e7["L_n"] - best) < 1e-5 * best, (e1, e7, best)
r1, r7 = json.load(open("r1.json")), json.load(open("r7.json"))
for k in ("L_n", "L_c"): assert abs(r1[k] - r7[k]) < 1e-5 * r1[k], (k, r1, r7)
PY
echo ok
