#!/bin/bash
# The CUDA twin of the model (tools/lib/llm/model_cuda.cu) against the CPU path, on a machine
# with a GPU; without one it SKIPS (exit 77, the reason on the last line), never passes.
#  - model-check dump on both devices, small random configs (Qwen2 and Llama layouts, tied and
#    untied, GQA, dropout with the same masks -- against the CPU's unpruned last block: pruned,
#    the CPU keys that block's masks by compact row --, frozen layers, no shared prefix, no
#    counterfactual pass, a longer batch) and a 2-layer slice of the real SmolLM2 when it is
#    installed: eval logits, L_n / L_c, every gradient tensor of a CFT step, the weights after
#    two AdamW steps, the LM-objective gradients. Tolerance per tensor max|d| <= rtol max|ref|:
#    fp32 GEMMs rtol 1e-4 (the backbone issue's logits bound), TF32 GEMMs rtol 3e-2, bf16
#    GEMM operands rtol 1e-1 (8-bit mantissas; a wrong layout or transpose is off by O(1));
#    each with the plain and (fp32, bf16) the fused attention kernels, head dims 8-128;
#  - cft-step trained on cuda: its loss log follows the CPU run's (TF32, 2e-2), the
#    checkpoint it saves loads on the CPU and decodes there, and a state saved on the GPU
#    resumes on the CPU;
#  - decode and ground with --device cuda (tools/lib/llm/infer_cuda.cu) against the CPU:
#    beams and scores on random Qwen2- and Llama-layout checkpoints (head dims 24-128; both
#    length penalties, the trie, --exact) and on C in text mode; scores within 2e-3 fp32 /
#    5e-2 tf32, the best beam equal unless a near tie; ground's item embeddings (rtol 1e-4
#    fp32 / 3e-2 tf32) and first items.
# The driver of the whole check on a GPU machine is bench/gpu.sh.
source "$ROOT/tests/lib.sh"
PY=${PY:-python3}
rc=0; "$BIN/model-check" dump --device cuda --out probe -q 2> probe.err || rc=$?
if [ "$rc" != 0 ]; then
  grep -Eq 'no usable CUDA device|no CUDA support' probe.err || die "probe failed otherwise (rc $rc): $(cat probe.err)"
  echo "SKIP: $(sed 's/^model-check: //' probe.err | head -n 1)"
  exit 77
fi
cfgs=(
  "--bias 1 --tied 0"
  "--bias 0 --tied 1"
  "--dropout 0.1 --prune 0"
  "--freeze-layers 1"
  "--share 0"
  "--cf-len 0"
  "--layers 2 --hidden 64 --heads 4 --kv-heads 1 --ffn 96 --vocab 300 --batch 6 --len 80 --cf-len 40 --resp 8"
  "--layers 1 --hidden 256 --heads 2 --kv-heads 1 --ffn 64 --vocab 100 --batch 3 --len 70 --cf-len 33 --resp 5"
)
SMOL="$ROOT/build/models/smollm2"
[ -f "$SMOL/config.json" ] && cfgs+=("--init $SMOL --keep-layers 2 --batch 2 --len 40 --cf-len 20 --resp 6 --init-std 0")
PAS="fp32:plain tf32:plain bf16:plain fp32:fused bf16:fused"
# CUDA_TEST_QUICK=1 (tests/test_cuda_emu.sh, where the device is a CPU emulation): three of the
# configs, three precision/attention pairs; the rest of the suite unchanged
if [ -n "${CUDA_TEST_QUICK:-}" ]; then cfgs=("${cfgs[2]}" "${cfgs[6]}" "${cfgs[7]}"); PAS="fp32:plain fp32:fused bf16:fused"; fi
n=0
for c in "${cfgs[@]}"; do
  n=$((n+1))
  # shellcheck disable=SC2086
  "$BIN/model-check" dump --out cpu$n $c --seed $n -q
  # precision:attention (plain: cuda/attention.cuh; fused: cuda/attention_fused.cuh)
  for pa in $PAS; do
    prec=${pa%:*} att=${pa#*:}
    rtol=1e-4; [ $prec = tf32 ] && rtol=3e-2; [ $prec = bf16 ] && rtol=1e-1
    # shellcheck disable=SC2086
    "$BIN/model-check" dump --device cuda --precision $prec --attention $att --out gpu$n$prec$att $c --seed $n -q
    "$PY" "$ROOT/tests/cuda_parity.py" cpu$n gpu$n$prec$att --rtol $rtol --label "[$c] $prec $att" || die "parity: $c ($prec, $att attention)"
  done
done
# the fused kernels take head_dim <= 128 (one register slot per lane and 32 dims): 160 is refused
expect_fail 2 'head_dim <= 128' "$BIN/model-check" dump --device cuda --attention fused --hidden 320 --heads 2 --kv-heads 1 --out f160 -q
# cft-step on the GPU: the same run as on the CPU, saved and decoded on the CPU
# (a GPU machine has no ../shared/data: bench/gpu-pack.sh makes these files and CUDA_TEST_DATA names them)
if [ -n "${CUDA_TEST_DATA:-}" ]; then cp -r "$CUDA_TEST_DATA"/. .
else bash "$ROOT/tests/cuda_testdata.sh" .
fi
cat > cfg.json <<'J'
{"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
 "num_key_value_heads": 2, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "max_position_embeddings": 1024,
 "tie_word_embeddings": true}
J
COMMON=(--train d/train.prompts.jsonl --valid d/valid.prompts.jsonl --config cfg.json --tokenizer tok.model
        --max-samples 64 --batch 16 --micro-batch 8 --max-len 160 --epochs 1 --lr 3e-3 --warmup 1
        --dropout 0.05 --threads 2 --seed 7 --lambda 0.1 --beta-prime 1.6 -q)
"$BIN/cft-step" "${COMMON[@]}" --out C --log C.log
"$BIN/cft-step" "${COMMON[@]}" --out G --log G.log --device cuda
"$PY" - <<'PY' || die "GPU loss log does not follow the CPU's"
import json
c = [json.loads(l) for l in open("C.log") if '"epoch_end"' not in l]
g = [json.loads(l) for l in open("G.log") if '"epoch_end"' not in l]
assert len(c) == len(g) == 4, (len(c), len(g))
for a, b in zip(c, g):
    for k in ("loss", "L_n", "L_c", "grad_norm"):
        assert abs(a[k] - b[k]) <= 2e-2 * abs(a[k]) + 1e-6, (a["step"], k, a[k], b[k])
PY
"$BIN/cft-step" --eval d/valid.prompts.jsonl --init G -q > g_eval.json          # GPU-trained, evaluated on the CPU
"$BIN/cft-step" --eval d/valid.prompts.jsonl --init G --device cuda -q > g_eval_cuda.json
"$PY" -c "
import json; a = json.load(open('g_eval.json')); b = json.load(open('g_eval_cuda.json'))
assert abs(a['L_n'] - b['L_n']) <= 2e-2 * abs(a['L_n']), (a, b)" || die "eval on cpu vs cuda"
head -n 3 d/valid.prompts.jsonl | "$BIN/decode" --model G --beams 3 --return 3 --max-new-tokens 8 -q > pred.jsonl
[ "$(wc -l < pred.jsonl)" = 3 ] || die "decode of the GPU-trained checkpoint"
# a state saved on the GPU resumes on the CPU (the run identity does not include the device)
rc=0; CFT_TEST_KILL_AT_STEP=4 "$BIN/cft-step" "${COMMON[@]}" --out R --device cuda --save-every 2 2> /dev/null || rc=$?
[ "$rc" = 137 ] || die "the killed cuda run exited $rc"
[ -f R.state/optimizer.safetensors ] || die "no state saved by the cuda run"
"$BIN/cft-step" "${COMMON[@]}" --out R --auto-resume     # continues on the CPU
[ -f R/model.safetensors ] || die "the CPU did not finish the GPU's run"
# decode and ground on the GPU (infer_cuda.cu) against the CPU. decode: token-id mode on the
# peaked random checkpoints of cuda_testdata.sh (head dims 24/32/64/128, both layouts; both
# length penalties, free and trie-constrained beams, D3's exact ranking), and text mode on C
# (the tokenizer path, constrained); ground: C's item embeddings and first items for
# near-miss titles.
dec() { "$BIN/decode" --beams 5 --return 5 --max-new-tokens 12 --batch 4 -q "$@"; }
check_decode() {   # label, input, then decode's arguments
  local label=$1 in=$2; shift 2
  dec "$@" < "$in" > pc.jsonl
  for prec in fp32 tf32; do
    atol=2e-3; [ $prec = tf32 ] && atol=5e-2
    dec "$@" --device cuda --precision $prec < "$in" > pg.jsonl
    "$PY" "$ROOT/tests/cuda_infer_parity.py" --label "decode $label $prec" decode pc.jsonl pg.jsonl --atol $atol \
      || die "decode parity: $label $prec"
  done
}
P=(--prompt-ids --constrain-ids ids/cat.jsonl)
check_decode "q64 lp1" ids/p.jsonl --model ids/q64 --prompt-ids --length-penalty 1.0
check_decode "q64 lp0" ids/p.jsonl --model ids/q64 --prompt-ids --length-penalty 0.0
check_decode "q64 trie lp0" ids/p.jsonl --model ids/q64 "${P[@]}" --length-penalty 0.0
check_decode "q64 trie lp1" ids/p.jsonl --model ids/q64 "${P[@]}" --length-penalty 1.0
check_decode "q64 exact" ids/p.jsonl --model ids/q64 "${P[@]}" --length-penalty 0.0 --exact --beams 4 --return 10
for mdl in l32 q128 h24; do
  check_decode "$mdl lp1" ids/p.jsonl --model ids/$mdl --prompt-ids --length-penalty 1.0
  check_decode "$mdl trie lp0" ids/p.jsonl --model ids/$mdl "${P[@]}" --length-penalty 0.0
done
head -n 12 d/valid.prompts.jsonl > dp.jsonl
check_decode "C text trie lp0" dp.jsonl --model C --constrain d/items.jsonl --length-penalty 0.0 --max-new-tokens 64
"$PY" - <<'PY'
import json
T = [json.loads(l)["title"] for l in open("d/items.jsonl")]
with open("gp.jsonl", "w") as f:   # near misses: each title without its last word
    for i in range(24):
        p = [" ".join(t.split()[:-1]) or t for t in T[3 * i: 3 * i + 3]]
        f.write(json.dumps({"id": i, "predict": p, "scores": [-1.0] * len(p)}) + "\n")
PY
rm -rf Mc && cp -r C Mc && rm -f Mc/item_emb.* && "$BIN/ground" --model Mc --items d/items.jsonl -n 20 -q < gp.jsonl > rc.jsonl
for prec in fp32 tf32; do
  rtol=1e-4; [ $prec = tf32 ] && rtol=3e-2
  rm -rf Mg && cp -r C Mg && rm -f Mg/item_emb.*
  "$BIN/ground" --model Mg --items d/items.jsonl -n 20 --device cuda --precision $prec -q < gp.jsonl > rg.jsonl
  "$PY" "$ROOT/tests/cuda_infer_parity.py" --label "ground C $prec" ground Mc Mg rc.jsonl rg.jsonl --rtol $rtol \
    || die "ground parity: $prec"
done
echo "cuda parity: ${#cfgs[@]} configs x fp32/tf32/bf16, cft-step, eval, decode, ground: ok"
