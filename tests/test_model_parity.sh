#!/bin/bash
# Model math vs an independent PyTorch implementation (tests/model_parity.py): logits at the
# response positions, L_n, L_c, L (lambda > 0, beta < 1 token weights), every gradient and two
# AdamW steps, over configurations covering GQA, q/k/v biases, non-default RoPE theta,
# the Llama layout without them, right padding with different row lengths, tied and untied heads, the shared-prefix
# counterfactual pass on and off, the BIGRec case without a counterfactual pass, and
# --freeze-layers (random configs and a slice of the real SmolLM2 weights).
source "$ROOT/tests/lib.sh"
run() {
  local name=$1; shift
  "$BIN/model-check" dump --out "$name" "$@" || die "model-check dump $* failed"
  "$PY" "$ROOT/tests/model_parity.py" "$name" > "$name.log" 2>&1 || { cat "$name.log"; die "parity failed: $*"; }
  grep -q "parity ok" "$name.log" || die "no verdict: $*"
}
run untied  --tied 0 --lambda 0.3 --beta 0.25 --theta 5000
run tied    --tied 1 --lambda 0.7 --beta 0.5 --seed 2
run plain   --share 0 --prune 0 --seed 3
run noprune --prune 0 --tied 1 --seed 9
run onelayer --layers 1 --seed 10
run bigrec  --cf-len 0 --seed 4
run mqa     --layers 3 --heads 4 --kv-heads 1 --hidden 48 --ffn 64 --theta 100 --batch 3 --len 30 --cf-len 20 --tied 1 --threads 1 --seed 5
run mha     --heads 2 --kv-heads 2 --lambda 1.5 --beta 1 --seed 6 --threads 2
run long    --batch 8 --len 90 --cf-len 40 --resp 6 --seed 8   # > 512 lm rows: chunked head
run llama   --bias 0 --tied 1 --theta 100000 --seed 11          # Llama layout: no q/k/v biases
run llamagqa --bias 0 --heads 9 --kv-heads 3 --hidden 36 --ffn 48 --tied 1 --seed 12 --threads 1
# --freeze-layers N: embedding + layers < N frozen (a tied head with them), torch requires_grad
# False there; trainable gradients and AdamW as above, frozen gradients exactly 0, frozen
# parameters bitwise unchanged by AdamW (weight decay 0.1 on), the lm objective too
run freeze1tied   --freeze-layers 1 --tied 1 --seed 13
run freeze1untied --freeze-layers 1 --tied 0 --seed 14 --wd 0.3
run freeze2of3    --layers 3 --freeze-layers 2 --prune 0 --share 0 --seed 15 --threads 1
run freezeall     --layers 2 --freeze-layers 2 --tied 0 --seed 16      # only norm + lm_head train
run freezeallt    --layers 1 --freeze-layers 1 --tied 1 --seed 17      # only the final norm trains
run freezegqa     --bias 0 --heads 9 --kv-heads 3 --hidden 36 --ffn 48 --layers 4 --freeze-layers 2 --tied 1 --seed 18
run freezebigrec  --cf-len 0 --layers 3 --freeze-layers 1 --seed 19
# real weights: a 4-layer slice of SmolLM2-135M (tied, Llama layout), the lower 2 layers frozen
SMOL="$ROOT/build/models/smollm2"
[ -f "$SMOL/config.json" ] || die "backbone missing: run 'make backbone-smollm2'"
run smolfreeze --init "$SMOL" --keep-layers 4 --freeze-layers 2 --threads 2
grep -q "frozen, nonzero=0" smolfreeze.log || die "smolfreeze: frozen tensors not checked"
"$BIN/model-check" dump --out fzbad --freeze-layers 9 2>err.txt && die "--freeze-layers beyond the layer count accepted"
grep -q "freeze layers 9: must be in \[0, 2\]" err.txt || die "bad --freeze-layers message: $(cat err.txt)"

# the oracle must be able to fail: a nonzero frozen gradient, a moved frozen parameter
cp -r freeze1tied fzg; cp -r freeze1tied fzp
"$PY" - fzg fzp <<'PYEOF'
import numpy as np, sys
g = np.fromfile(sys.argv[1] + "/grads.bin", dtype=np.float32); g[3] = 1e-30; g.tofile(sys.argv[1] + "/grads.bin")
p = np.fromfile(sys.argv[2] + "/params2.bin", dtype=np.float32); p[5] = np.nextafter(p[5], np.float32(1)); p.tofile(sys.argv[2] + "/params2.bin")
PYEOF
if "$PY" "$ROOT/tests/model_parity.py" fzg > fzg.log 2>&1; then die "parity accepted a nonzero frozen gradient"; fi
grep -q "BAD grad model.embed_tokens.weight .*frozen, nonzero=1" fzg.log || die "frozen gradient not reported: $(tail -3 fzg.log)"
if "$PY" "$ROOT/tests/model_parity.py" fzp > fzp.log 2>&1; then die "parity accepted a changed frozen parameter"; fi
grep -q "frozen but changed" fzp.log || die "changed frozen parameter not reported: $(tail -3 fzp.log)"

# the oracle must be able to fail: corrupt one gradient and expect a complaint
"$BIN/model-check" dump --out bad --seed 7
"$PY" - bad <<'PYEOF'
import numpy as np, sys
g = np.fromfile(sys.argv[1] + "/grads.bin", dtype=np.float32); g[len(g) // 2] += 1e-2; g.tofile(sys.argv[1] + "/grads.bin")
PYEOF
if "$PY" "$ROOT/tests/model_parity.py" bad > bad.log 2>&1; then die "parity check accepted a corrupted gradient"; fi
grep -q "BAD grad" bad.log || die "corrupted gradient not reported: $(tail -3 bad.log)"
echo "model parity ok"
