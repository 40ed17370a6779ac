#!/bin/bash
# Training-step throughput of the C model (model-check bench) next to PyTorch
# (bench/torch_step.py), configs A and B of issue 3: micro-batch 16, 12 response tokens at
# the end of each row, counterfactual prompt shorter than the normal one and sharing its
# instruction prefix. One line per measurement:
#   bench train-cft-<cfg>     our CFT step (normal + counterfactual, L_n + 0.1 L_c, AdamW)
#   bench train-bigrec-<cfg>  our BIGRec step (no counterfactual pass)
#   bench train-cft-plain-<cfg>  CFT step without prefix sharing and last-layer pruning
#   bench cft-over-bigrec-<cfg>  ratio of the step times
#   bench torch-cft-<cfg>     PyTorch, Hugging Face Qwen2ForCausalLM (the authors' code path)
#   bench torch-plain-cft-<cfg>  PyTorch, lean hand-written module, logits only where needed
#   bench sgemm-1024          OpenBLAS sgemm reference rate with the same threads
# gflops = FLOPs actually performed per second (counted as the work is done; see
# model_flops in tools/lib/llm/model.h and flops() in bench/torch_step.py).
# Env: THREADS (default: all cores), ITERS (default 10), CONFIGS (default "A B").
# Timings are only meaningful on an otherwise idle machine.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(cd "$ROOT" && cd "${BIN:-bin}" && pwd)
if [ -z "${PY:-}" ]; then
  if [ -x "$ROOT/build/pyenv/bin/python" ]; then PY="$ROOT/build/pyenv/bin/python"; else PY=/usr/bin/python3; fi
fi
THREADS=${THREADS:-$(nproc)}
ITERS=${ITERS:-10}
"$BIN/model-check" bench --config sgemm --threads "$THREADS"
for cfg in ${CONFIGS:-A B}; do
  "$BIN/model-check" bench --config "$cfg" --iters "$ITERS" --warmup 2 --threads "$THREADS"
  "$PY" "$ROOT/bench/torch_step.py" --config "$cfg" --impl hf --iters "$ITERS" --threads "$THREADS" ||
    echo "bench torch-cft-$cfg skipped=1 reason=transformers-unavailable"
  "$PY" "$ROOT/bench/torch_step.py" --config "$cfg" --impl plain --iters "$ITERS" --threads "$THREADS"
done
