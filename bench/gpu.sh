#!/bin/bash
# bench/gpu.sh: the GPU check of the CUDA twin, one command on a GPU machine (bench/gpu-pack.sh
# first, here): the parity suite tests/test_cuda.sh, then the training-step benchmarks at the
# SmolLM2-135M and Qwen2.5-0.5B shapes, batch 64, T 150 (+ the 52-token counterfactual prompt),
# random weights: ours (bf16, TF32 and fp32 GEMMs; the ratio to torch uses bf16) and HF-torch's (the authors' recipe: bf16
# autocast, full logits, two passes) on the same GPU. One `bench ...` line per figure, into
# $OUT/gpu-bench.txt (or ./gpu-bench.txt) and stdout; the suite's log beside it. MFU counts the
# model FLOPs model-check counts (GEMMs + attention as computed) against the chip's dense bf16
# peak (H200/H100 SXM: 989 TFLOP/s; GPU_PEAK_TFLOPS= overrides).
# Then decode prompts/s at the SmolLM2 shape: ours on cuda and on the CPU cores, HF generate()
# on cuda.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
out=${OUT:-.}; res=$out/gpu-bench.txt; : > "$res"
say() { echo "$*" | tee -a "$res"; }
if [ -f build/gpu.tar.xz ]; then
  tar -C build -xJf build/gpu.tar.xz
  export LD_LIBRARY_PATH="$ROOT/build/gpu/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  BIN=$ROOT/build/gpu/bin; export CUDA_TEST_DATA=$ROOT/build/gpu/testdata
else
  make -j"$(nproc)" all >/dev/null || { say "bench gpu-build failed"; exit 1; }
  BIN=$ROOT/bin
fi
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do
  [ -d $d ] && export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$d"
done
export BIN ROOT PY=${PY:-python3}
say "bench gpu-machine $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | head -n 1 | tr ' ' '_')"
# 1. parity suite
T=$(mktemp -d); export T
( cd "$T" && timeout 270 bash "$ROOT/tests/test_cuda.sh" ) > "$out/test_cuda.log" 2>&1; rc=$?
say "bench gpu-parity rc=$rc result=$(tail -n 1 "$out/test_cuda.log" | tr ' ' '_')"
# 2. training steps
PEAK=${GPU_PEAK_TFLOPS:-989}
for cfg in smollm2-b64 qwen2.5-b64; do
  # precision[:fused]: the fused attention kernels (cuda/attention_fused.cuh) at bf16, labelled bf16fa
  for pa in bf16 tf32 fp32 bf16:fused; do
    prec=${pa%:*} att=plain; [ "$pa" = bf16:fused ] && att=fused
    o=$(timeout 120 "$BIN/model-check" bench --config $cfg --device cuda --precision $prec --attention $att --iters 5 --warmup 2 --plain 0 2>&1)
    [ $att = fused ] && prec=bf16fa
    grep -q '^bench train-' <<< "$o" || { say "bench gpu-step-$prec-$cfg failed: $(tail -n 1 <<< "$o" | tr ' ' '_')"; continue; }
    grep '^bench train-' <<< "$o" | sed "s/^bench train-\([a-z]*\)-/bench gpu-\1-$prec-/" \
      | awk -v P="$PEAK" '{ for (i = 2; i <= NF; i++) if ($i ~ /^gflops=/) { split($i, g, "="); printf "%s mfu_bf16_pct=%.2f\n", $0, 100 * g[2] / (P * 1000); next } print }' \
      | tee -a "$res"
  done
  timeout 180 "$PY" bench/torch_step.py --config $cfg --device cuda --bf16 --iters 5 --warmup 2 2>&1 | grep '^bench' \
    | sed 's/^bench torch-/bench gpu-torch-/' | tee -a "$res"
done
# 3. decode on a random SmolLM2-shaped checkpoint: 64 prompts of 150 ids, 5 beams, 32 new
#    tokens (random weights rarely emit EOS: every prompt runs all 32 steps), ours on cuda
#    (fp32 and TF32) and on this machine's CPU cores, HF generate() on cuda (bf16 and fp32)
D=$T/dec; mkdir -p "$D"
cat > "$D/cfg.json" <<'J'
{"model_type": "llama", "attention_bias": false, "vocab_size": 49152, "hidden_size": 576,
 "intermediate_size": 1536, "num_hidden_layers": 30, "num_attention_heads": 9, "num_key_value_heads": 3,
 "rms_norm_eps": 1e-5, "rope_theta": 100000.0, "max_position_embeddings": 8192, "tie_word_embeddings": true,
 "eos_token_id": 2, "bos_token_id": 1, "pad_token_id": 2}
J
"$BIN/ckpt-tool" --init "$D/cfg.json" "$D/m" --seed 1 > /dev/null 2>&1 || say "bench gpu-decode-init failed"
"$PY" -c "
import random; random.seed(5)
with open('$D/p.jsonl', 'w') as f:
    for i in range(64): f.write('{\"id\": %d, \"prompt_ids\": %s}\n' % (i, [random.randrange(3, 49152) for _ in range(150)]))"
head -n 16 "$D/p.jsonl" > "$D/p16.jsonl"
dec_bench() {   # name, input, decode args
  local name=$1 in=$2; shift 2
  local n; n=$(wc -l < "$in")
  local t0 t1; t0=$(date +%s.%N)
  timeout 120 "$BIN/decode" --model "$D/m" --prompt-ids --beams 5 --return 5 --max-new-tokens 32 --batch 16 -q "$@" \
    < "$in" > "$D/out.jsonl" 2> "$D/err" || { say "bench gpu-decode-$name failed: $(tail -n 1 "$D/err" | tr ' ' '_')"; return; }
  t1=$(date +%s.%N)
  say "$(awk -v n="$n" -v a="$t0" -v b="$t1" -v nm="$name" 'BEGIN { printf "bench gpu-decode-%s prompts_per_s=%.3f prompts=%d seconds=%.2f beams=5 max_new=32 prompt_len=150\n", nm, n / (b - a), n, b - a }')"
}
dec_bench cuda-fp32 "$D/p.jsonl" --device cuda --precision fp32
dec_bench cuda-tf32 "$D/p.jsonl" --device cuda --precision tf32
dec_bench cpu-$(nproc)t "$D/p16.jsonl" --threads "$(nproc)"
for dt in bf16 fp32; do
  flag=; [ $dt = bf16 ] && flag=--bf16
  timeout 150 "$PY" bench/torch_decode.py "$D/m" "$D/p.jsonl" --beams 5 --ret 5 --max-new 32 --lp 1.0 --batch 16 \
    --device cuda $flag 2>&1 | grep '^bench' | sed "s/^bench torch-decode/bench gpu-torch-decode-$dt/" | tee -a "$res"
done
awk '/^bench gpu-decode-cuda-tf32 / { split($3, s, "="); o = s[2] }
     /^bench gpu-decode-cpu-/ { split($3, s, "="); c = s[2] }
     /^bench gpu-torch-decode-bf16 / { split($3, s, "="); t = s[2] }
     END { if (o && c) printf "bench gpu-decode-cuda-over-cpu ratio=%.2f\n", o / c;
           if (o && t) printf "bench gpu-decode-cuda-over-torch-bf16 ratio=%.2f\n", o / t }' "$res" | tee -a "$res"
# ours over torch, same run
for v in bf16 bf16fa; do
  # fields: bench NAME samples_per_s=X ...
  awk -v V="$v" '$2 ~ "^gpu-cft-" V "-" { split($3, s, "="); c = $2; sub("^gpu-cft-" V "-", "", c); ours[c] = s[2] }
       $2 ~ /^gpu-torch-cft-/ { split($3, s, "="); c = $2; sub(/^gpu-torch-cft-/, "", c); th[c] = s[2] }
       END { for (c in ours) if (c in th) printf "bench gpu-cft-%s-over-torch-%s ratio=%.2f\n", V, c, ours[c] / th[c] }' "$res" | tee -a "$res.x"
done
cat "$res.x" >> "$res"; rm -f "$res.x"
rm -rf "$T"
