#!/bin/bash
# The CUDA code on the CPU, under tests/cuda_emu (an emulation of CUDA's execution model --
# blocks in turn, threads as coroutines switched at barriers and warp shuffles -- and of the
# runtime / cuBLAS calls the sources make). It checks the kernels' and the host code's
# indexing, tiling, masking, reductions and launch shapes; not the GPU (memory ordering, the
# hardware, speed: tests/test_cuda.sh on a GPU machine).
#  1. the attention kernels (cuda/attention.cuh, attention_fused.cuh) against a double
#     reference over packed plans with shared counterfactual prefixes: out, dq, dk, dv;
#  2. the emulated tools (make emu: model_cuda.cu and infer_cuda.cu built as C++) against the
#     CPU path, a slice of tests/test_cuda.sh: model-check dumps (plain and fused attention,
#     fp32 and bf16, dropout) and decode's beams (free and trie-constrained).
# `make test-cuda-emu` runs all of tests/test_cuda.sh on the emulated tools (about 25 min).
source "$ROOT/tests/lib.sh"
PY=${PY:-python3}
CXX=${CXX:-g++}
command -v "$CXX" > /dev/null || die "no C++ compiler ($CXX)"
E="$ROOT/tests/cuda_emu"
"$CXX" -O2 -std=c++17 -Wall -Wextra -Werror -Wno-unknown-pragmas -Wno-unused-function -DCFT_CUDA_EMU \
  -I"$E" -I"$ROOT/tools/lib/llm" -I"$ROOT/tools/lib/util" -I/usr/include/cjson \
  "$E/attention_emu.cc" "$E/cuda_emu.cc" -o attention_emu -lopenblas || die "attention_emu does not build"
./attention_emu > emu.out 2>&1 || { cat emu.out; die "CUDA attention kernels under emulation differ from the reference"; }
grep -q '^ok: 0 check(s) failed$' emu.out || { cat emu.out; die "unexpected summary"; }
[ "$(grep -c '^ok  ' emu.out)" -eq 40 ] || { cat emu.out; die "expected 40 checks (5 configs x 2 kernels x 4 tensors)"; }

# 2. the emulated tools, built from this tree's normal objects
make -s -C "$ROOT" --no-print-directory emu EMU_BIN="$PWD/emu" > make.log 2>&1 || { tail -20 make.log; die "make emu failed"; }
"$PWD/emu/model-check" dump --device cuda --out probe -q 2> probe.err || die "emulated device refused: $(cat probe.err)"
# two of tests/test_cuda.sh's configs with its seeds (the seventh and the third)
for cs in "7 --layers 2 --hidden 64 --heads 4 --kv-heads 1 --ffn 96 --vocab 300 --batch 6 --len 80 --cf-len 40 --resp 8" \
          "3 --dropout 0.1 --prune 0"; do
  seed=${cs%% *} c=${cs#* }
  # shellcheck disable=SC2086
  "$BIN/model-check" dump --out cpu $c --seed $seed -q
  for pa in fp32:plain fp32:fused bf16:plain; do
    prec=${pa%:*} att=${pa#*:} rtol=1e-4; [ $prec = bf16 ] && rtol=1e-1
    # shellcheck disable=SC2086
    "$PWD/emu/model-check" dump --device cuda --precision $prec --attention $att --out gpu $c --seed $seed -q
    "$PY" "$ROOT/tests/cuda_parity.py" cpu gpu --rtol $rtol --label "emu [$c] $prec $att" || die "emulated parity: $c ($pa)"
  done
done
"$PY" "$ROOT/tests/beam_oracle.py" mkckpt q --vocab 300 --hidden 64 --layers 2 --heads 2 --kv 1 --ffn 96 --eos 2 --head-std 2.0 \
  ++ prompts p.jsonl --n 6 --vocab 300 --min-len 10 --max-len 60 ++ catalogue cat.jsonl --n 80 --vocab 300 --eos 2 \
  2> oracle.err || { cat oracle.err; die "oracle failed"; }
for lp in 1.0 0.0; do
  A=(--model q --prompt-ids --beams 5 --return 5 --max-new-tokens 10 --batch 3 --length-penalty $lp -q)
  [ $lp = 0.0 ] && A+=(--constrain-ids cat.jsonl)
  "$BIN/decode" "${A[@]}" < p.jsonl > dc.jsonl
  "$PWD/emu/decode" "${A[@]}" --device cuda --precision fp32 < p.jsonl > dg.jsonl
  "$PY" "$ROOT/tests/cuda_infer_parity.py" --label "emu decode lp $lp" decode dc.jsonl dg.jsonl --atol 2e-3 \
    || die "emulated decode parity (length penalty $lp)"
done
# prompts that share their first 30 tokens (a template): the device prefill computes them once,
# as the CPU does (the same rows counted), and both agree with the CPU prefilling every prompt whole
jq -c '.prompt_ids = ([range(3; 33)] + .prompt_ids)' p.jsonl > ps.jsonl
A=(--model q --prompt-ids --beams 5 --return 5 --max-new-tokens 10 --batch 3 --length-penalty 1.0 -q --timing)
"$BIN/decode" "${A[@]}" < ps.jsonl > sc.jsonl 2> sc.err
"$BIN/decode" "${A[@]}" --no-share-prefix < ps.jsonl > sw.jsonl 2> sw.err
"$PWD/emu/decode" "${A[@]}" --device cuda --precision fp32 < ps.jsonl > sg.jsonl 2> sg.err
rows() { grep -o 'prefill_rows=[0-9]*' "$1" | cut -d= -f2; }
pos() { grep -o 'prefill_positions=[0-9]*' "$1" | cut -d= -f2; }
[ "$(rows sg.err)" = "$(rows sc.err)" ] && [ "$(rows sg.err)" -le "$(( $(pos sg.err) - 2 * 2 * 30 ))" ] \
  || die "emulated device prefill did not share the template: rows $(rows sg.err), CPU $(rows sc.err), positions $(pos sg.err)"
for ref in sc sw; do
  "$PY" "$ROOT/tests/cuda_infer_parity.py" --label "emu decode, shared template, vs CPU $ref" decode $ref.jsonl sg.jsonl --atol 2e-3 \
    || die "emulated decode parity with a shared template (CPU $ref)"
done
echo ok
