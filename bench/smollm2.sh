#!/bin/bash
# Training-step throughput at the SmolLM2-135M shape (model-check bench --config smollm2:
# C 576, 30 layers, 9 heads / 3 KV, FFN 1536, vocab 49152, tied, no q/k/v biases, random
# weights), micro-batch 4, T 150 = prompt + 12 response tokens, counterfactual prompt of 40
# tokens (the instruction without the history, sharing its first 32 with the normal prompt)
# + the same response. Lines:
#   bench load-smollm2              1-minute load average before the runs (timings need a quiet machine)
#   bench train-cft-smollm2[-freezeN]     our CFT step (L_n + 0.1 L_c, grad clip, AdamW):
#                                   samples/s, GFLOP/s, pct_sgemm (vs an sgemm run in the same
#                                   process just before), peak RSS of the process
#   bench train-bigrec-smollm2[-freezeN]  our BIGRec step (no counterfactual pass)
#   bench cft-over-bigrec-smollm2[-freezeN]  step-time ratio
#   bench train-cft-smollm2-accum4  the same with 4 micro-batches per AdamW step (the study's
#                                   batch 16 / micro-batch 4: AdamW's pass over the weights amortised)
#   bench torch-cft-smollm2         HF LlamaForCausalLM, full logits, two passes (the authors' recipe)
#   bench torch-plain-cft-smollm2   lean PyTorch module, logits only at the response positions
#   bench smollm2-over-torch        our CFT samples/s over each torch one (same run)
# Env: THREADS (2), ITERS (3), FREEZE (20: the --freeze-layers run besides 0). A few minutes.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(cd "$ROOT" && cd "${BIN:-bin}" && pwd)
if [ -z "${PY:-}" ]; then
  if [ -x "$ROOT/build/pyenv/bin/python" ]; then PY="$ROOT/build/pyenv/bin/python"; else PY=/usr/bin/python3; fi
fi
THREADS=${THREADS:-2}
ITERS=${ITERS:-3}
FREEZE=${FREEZE:-20}
out=$(mktemp); trap 'rm -f "$out"' EXIT
echo "bench load-smollm2 loadavg1=$(cut -d' ' -f1 /proc/loadavg) nproc=$(nproc) threads=$THREADS"
"$BIN/model-check" bench --config sgemm --threads "$THREADS"
# one process per --freeze-layers value: the peak RSS is a per-process maximum
for f in 0 $FREEZE; do
  "$BIN/model-check" bench --config smollm2 --iters "$ITERS" --warmup 1 --threads "$THREADS" --plain 0 --freeze-layers "$f" | tee -a "$out"
done
# the trainer as the SmolLM2 study runs it: batch 16 in micro-batches of 4, one AdamW per 16 samples
"$BIN/model-check" bench --config smollm2 --iters "$ITERS" --warmup 1 --threads "$THREADS" --plain 0 --accum 4
"$PY" "$ROOT/bench/torch_step.py" --config smollm2 --impl hf --iters "$ITERS" --threads "$THREADS" | tee -a "$out" ||
  echo "bench torch-cft-smollm2 skipped=1 reason=transformers-unavailable"
"$PY" "$ROOT/bench/torch_step.py" --config smollm2 --impl plain --iters "$ITERS" --threads "$THREADS" | tee -a "$out"
sps() { sed -n "s/^bench $1 samples_per_s=\([0-9.]*\).*/\1/p" "$out"; }
ours=$(sps train-cft-smollm2) hf=$(sps torch-cft-smollm2) plain=$(sps torch-plain-cft-smollm2)
awk -v o="$ours" -v h="${hf:-0}" -v p="$plain" 'BEGIN {
  r = (h > 0) ? sprintf("%.2f", o / h) : "nan"
  printf "bench smollm2-over-torch ratio_hf=%s ratio_plain=%.2f\n", r, o / p }'
