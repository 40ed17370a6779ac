#!/bin/bash
# The CUDA attention kernels (tools/lib/llm/cuda/attention.cuh and attention_fused.cuh) run
# on the CPU under tests/cuda_emu/cuda_emu.h (blocks in turn, threads as coroutines switched at
# barriers and warp shuffles) against a double-precision reference of the attention over a
# packed plan with shared counterfactual prefixes: forward output, dq, dk, dv within 2e-5.
# This checks the kernels' indexing, tiling, masking and reductions, not the GPU: memory
# ordering, performance and the hardware are tests/test_cuda.sh's (on a GPU machine).
source "$ROOT/tests/lib.sh"
CXX=${CXX:-g++}
command -v "$CXX" > /dev/null || die "no C++ compiler ($CXX)"
E="$ROOT/tests/cuda_emu"
"$CXX" -O2 -std=c++17 -Wall -Wextra -Werror -Wno-unknown-pragmas -Wno-unused-function -DCFT_CUDA_EMU \
  -I"$E" -I"$ROOT/tools/lib/llm" -I"$ROOT/tools/lib/util" -I/usr/include/cjson \
  "$E/attention_emu.cc" -o attention_emu || die "attention_emu does not build"
./attention_emu > emu.out 2>&1 || { cat emu.out; die "CUDA attention kernels under emulation differ from the reference"; }
grep -q '^ok: 0 check(s) failed$' emu.out || { cat emu.out; die "unexpected summary"; }
[ "$(grep -c '^ok  ' emu.out)" -eq 40 ] || { cat emu.out; die "expected 40 checks (5 configs x 2 kernels x 4 tensors)"; }
echo ok
