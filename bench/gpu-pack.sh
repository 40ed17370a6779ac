#!/bin/bash
# bench/gpu-pack.sh: run HERE (the CPU machine) before a GPU session. A GPU machine starts bare
# (no Debian -dev packages, no ../shared/data), so this packs what bench/gpu.sh needs into
# build/gpu.tar.xz (tens of MB): the tools built for x86-64-v3 (not -march=native: the GPU
# host's CPU is another), the shared libraries they need beyond glibc and CUDA (OpenBLAS,
# cJSON, sentencepiece, PCRE2, utf8proc, libgomp, libgfortran, libstdc++), and the small
# inputs of tests/test_cuda.sh's end-to-end part (tests/cuda_testdata.sh). Then:
#   device run, carry ["build/gpu.tar.xz"], command "bash bench/gpu.sh", timeout_s 480
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
B=build/gpu-bin O=build/gpu-obj P=build/gpu
make -j"$(nproc)" all BIN=$B OBJ=$O OPT="-O2 -march=x86-64-v3" >/dev/null
rm -rf $P && mkdir -p $P/bin $P/lib $P/testdata
for t in model-check cft-step decode ground mkcorpus ckpt-tool; do cp $B/$t $P/bin/; done
ldd $P/bin/* | awk '/=>/ {print $3}' | sort -u | while read -r l; do
  case "$(basename "$l")" in
    libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*|ld-linux*|libcuda*|libcublas*|libcudart*) ;;
    *) cp -L "$l" $P/lib/ ;;
  esac
done
PY=${PY:-$([ -x build/pyenv/bin/python ] && echo build/pyenv/bin/python || echo python3)}
case $PY in /*) ;; */*) PY=$ROOT/$PY ;; *) PY=$(command -v "$PY") ;; esac
BIN="$ROOT/$B" ROOT="$ROOT" PY="$PY" \
  DATA_ROOT="$(cd "${DATA_ROOT:-../shared/data}" && pwd)" bash tests/cuda_testdata.sh $P/testdata
tar -C build -cJf build/gpu.tar.xz gpu
echo "bench/gpu-pack.sh: build/gpu.tar.xz $(du -h build/gpu.tar.xz | cut -f1) (carry it: bash bench/gpu.sh)"
