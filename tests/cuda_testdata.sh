#!/bin/bash
# tests/cuda_testdata.sh DIR: the inputs of tests/test_cuda.sh's end-to-end part, made where the
# Debian tools, torch and ../shared/data are (bench/gpu-pack.sh packs them for a bare GPU
# machine; test_cuda.sh calls this itself otherwise):
#   d/, tok.model       40 Games samples per split and a 600-piece sentencepiece (cft-step, text decode, ground)
#   ids/                peaked random checkpoints for token-id decode parity (far-apart beams), their
#                       prompts (30-90 tokens: several 32-key tiles) and a 300-sequence catalogue:
#                       q64  Qwen2 layout, head dim 64, GQA 2:1, untied
#                       l32  Llama layout (no q/k/v biases), head dim 32, GQA 3:1, tied
#                       q128 Qwen2 layout, head dim 128, one layer, no GQA
#                       h24  Qwen2 layout, head dim 24 (not a multiple of the warp)
# Needs BIN (mkcorpus), ROOT, DATA_ROOT, PY (torch).
set -euo pipefail
source "$ROOT/tests/lib.sh"
dir=$1
mkdir -p "$dir" && cd "$dir"
games_samples 40 600 "$PY"
rm -f spm.txt
V="--vocab 300 --eos 2"
"$PY" "$ROOT/tests/beam_oracle.py" \
  mkckpt ids/q64 $V --hidden 128 --layers 2 --heads 2 --kv 1 --ffn 96 --seed 11 \
  ++ mkckpt ids/l32 $V --hidden 96 --layers 2 --heads 3 --kv 1 --ffn 80 --seed 12 --llama --tie \
  ++ mkckpt ids/q128 $V --hidden 256 --layers 1 --heads 2 --kv 2 --ffn 64 --seed 13 \
  ++ mkckpt ids/h24 $V --hidden 48 --layers 2 --heads 2 --kv 1 --ffn 64 --seed 14 \
  ++ prompts ids/p.jsonl --n 12 --vocab 300 --min-len 30 --max-len 90 \
  ++ catalogue ids/cat.jsonl --n 300 --vocab 300 --eos 2 --first 6 --max-len 8 > /dev/null
