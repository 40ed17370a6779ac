#!/bin/bash
# Determinism and dropout semantics of the model math:
# - same seed + same thread count -> bitwise-identical losses, gradients, updated weights
#   (with dropout on), for 1 and 2 threads;
# - dropout changes the training gradients but never the evaluation logits;
# - AdamW on one batch drives both losses down;
# - a batch without response tokens gives zero loss and gradients;
# - the shared-prefix counterfactual pass and the pruned last layer equal two full passes
#   through every layer (no dropout) to rounding.
source "$ROOT/tests/lib.sh"
M="$BIN/model-check"
for th in 1 2; do
  "$M" dump --out a$th --dropout 0.1 --threads $th --seed 11
  "$M" dump --out b$th --dropout 0.1 --threads $th --seed 11
  for f in grads.bin params2.bin logits.bin lm_grads.bin meta.json; do same a$th/$f b$th/$f; done
done
"$M" dump --out nodrop --threads 2 --seed 11
"$M" dump --out noshare --threads 2 --seed 11 --share 0 --prune 0
same nodrop/logits.bin a2/logits.bin          # eval ignores dropout
same nodrop/params0.bin a2/params0.bin
cmp -s nodrop/grads.bin a2/grads.bin && die "dropout did not change the gradients"
"$PY" - <<'PYEOF'
import numpy as np, json, sys
def ld(d, f): return np.fromfile(f"{d}/{f}", dtype=np.float32)
for f in ("logits.bin", "grads.bin", "params2.bin"):
    a, b = ld("nodrop", f), ld("noshare", f)
    err = np.max(np.abs(a - b)) / max(1e-12, np.max(np.abs(b)))
    assert err < 1e-5, f"shared prefix differs from two passes in {f}: rel {err}"
ma, mb = json.load(open("nodrop/meta.json")), json.load(open("noshare/meta.json"))
for k in ("Ln_eval", "Lc_eval", "L_train"):
    assert abs(ma[k] - mb[k]) <= 1e-5 * abs(mb[k]), (k, ma[k], mb[k])
# dropout: the train loss differs from the eval loss, the eval loss does not
md = json.load(open("a2/meta.json"))
assert md["L_eval"] == ma["L_eval"] and md["L_train"] != md["L_eval"], (md["L_eval"], md["L_train"])
print("shared prefix == two passes; dropout only in training")
PYEOF
# a batch without response tokens: zero loss, zero gradients, no crash
"$M" dump --out empty --resp 0
"$PY" - <<'PYEOF'
import numpy as np, json
m = json.load(open("empty/meta.json"))
assert m["L_train"] == 0 and m["Ln_eval"] == 0 and m["logit_rows"] == 0, m
assert not np.fromfile("empty/grads.bin", dtype=np.float32).any()
PYEOF
# training sanity: 40 AdamW steps on one batch (dropout on) cut L_n and L_c by 5x
"$M" overfit --iters 40 --lr 1e-2 --wd 0 > overfit.txt || die "overfit failed: $(cat overfit.txt)"
# bench --accum: N micro-batches per AdamW step; samples/s counts all of them, and the FLOPs
# per sample match the single-micro-batch run's (same work per micro-batch)
"$M" bench --config A --iters 1 --warmup 0 --threads 1 --plain 0 > b1.txt
"$M" bench --config A --iters 1 --warmup 0 --threads 1 --plain 0 --accum 3 > b3.txt
grep -q '^bench train-cft-A-accum3 .* accum=3$' b3.txt || die "bench --accum 3: $(cat b3.txt)"
"$PY" - <<'PYEOF' || die "bench --accum: FLOPs per sample differ"
import re
def fps(f):
    l = [x for x in open(f) if x.startswith("bench train-cft-")][0]
    v = dict(kv.split("=") for kv in l.split()[2:])
    return float(v["gflops"]) / float(v["samples_per_s"])
a, b = fps("b1.txt"), fps("b3.txt")
assert abs(a - b) <= 0.02 * a, (a, b)
PYEOF
expect_fail 2 'accum' "$M" bench --config A --accum 0
echo "determinism ok"
