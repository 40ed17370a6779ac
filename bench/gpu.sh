#!/bin/bash
# bench/gpu.sh: the GPU check of the CUDA twin, one command on a GPU machine (bench/gpu-pack.sh
# first, here): the parity suite tests/test_cuda.sh, then the training-step benchmarks at the
# SmolLM2-135M and Qwen2.5-0.5B shapes, batch 64, T 150 (+ the 52-token counterfactual prompt),
# random weights: ours (TF32 and fp32 GEMMs) and HF-torch's (the authors' recipe: bf16
# autocast, full logits, two passes) on the same GPU. One `bench ...` line per figure, into
# $OUT/gpu-bench.txt (or ./gpu-bench.txt) and stdout; the suite's log beside it. MFU counts the
# model FLOPs model-check counts (GEMMs + attention as computed) against the chip's dense bf16
# peak (H200/H100 SXM: 989 TFLOP/s; GPU_PEAK_TFLOPS= overrides).
# Not measured yet: decode / ground prompts/s (their CUDA path is not written).
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
( cd "$T" && timeout 240 bash "$ROOT/tests/test_cuda.sh" ) > "$out/test_cuda.log" 2>&1; rc=$?
say "bench gpu-parity rc=$rc result=$(tail -n 1 "$out/test_cuda.log" | tr ' ' '_')"
# 2. training steps
PEAK=${GPU_PEAK_TFLOPS:-989}
for cfg in smollm2-b64 qwen2.5-b64; do
  for prec in tf32 fp32; do
    o=$(timeout 120 "$BIN/model-check" bench --config $cfg --device cuda --precision $prec --iters 5 --warmup 2 --plain 0 2>&1)
    grep -q '^bench train-' <<< "$o" || { say "bench gpu-step-$prec-$cfg failed: $(tail -n 1 <<< "$o" | tr ' ' '_')"; continue; }
    grep '^bench train-' <<< "$o" | sed "s/^bench train-\([a-z]*\)-/bench gpu-\1-$prec-/" \
      | awk -v P="$PEAK" '{ for (i = 2; i <= NF; i++) if ($i ~ /^gflops=/) { split($i, g, "="); printf "%s mfu_bf16_pct=%.2f\n", $0, 100 * g[2] / (P * 1000); next } print }' \
      | tee -a "$res"
  done
  timeout 180 "$PY" bench/torch_step.py --config $cfg --device cuda --bf16 --iters 5 --warmup 2 2>&1 | grep '^bench' \
    | sed 's/^bench torch-/bench gpu-torch-/' | tee -a "$res"
done
# ours over torch, same run
awk '/^bench gpu-cft-tf32-/ { split($2, s, "="); n = $2; sub(/^bench gpu-cft-tf32-/, "", $1); ours[$1] = s[2] }
     /^bench gpu-torch-cft-/ { split($2, s, "="); c = $1; sub(/^bench gpu-torch-cft-/, "", c); th[c] = s[2] }
     END { for (c in ours) if (c in th) printf "bench gpu-cft-over-torch-%s ratio=%.2f\n", c, ours[c] / th[c] }' "$res" | tee -a "$res.x"
cat "$res.x" >> "$res"; rm -f "$res.x"
rm -rf "$T"
