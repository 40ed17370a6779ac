#!/bin/bash
# emu_source.sh IN.cu OUT.cc: a CUDA source as C++ for cuda_emu.h -- each launch
# `kernel<<<grid, block[, shared]>>>(args)` becomes `emu_cfg(grid, block[, shared]).run(kernel, args)`.
# A launch must have its `<<<...>>>(` on one line and take arguments (every launch here does);
# anything else left with `<<<` is an error.
set -eu
[ $# -eq 2 ] || { echo "usage: emu_source.sh IN.cu OUT.cc" >&2; exit 2; }
sed -E 's/([A-Za-z_][A-Za-z0-9_]*)<<<(.*)>>>\(/emu_cfg(\2).run(\1, /' "$1" > "$2.tmp"
if grep -n '<<<\|>>>' "$2.tmp" >&2; then echo "emu_source.sh: $1: a launch left unconverted (above)" >&2; rm -f "$2.tmp"; exit 1; fi
mv "$2.tmp" "$2"
