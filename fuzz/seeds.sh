#!/bin/bash
# Build the fuzz seed corpora and fixed inputs from real data (see fuzz/seeds.py):
#   fuzz/seeds.sh [OUT]      OUT defaults to build/fuzz; DATA_ROOT defaults to ../shared/data
# Writes OUT/data/ (catalogue, tokenizers) and OUT/seeds/<target>/, replacing earlier ones;
# the corpora the fuzzers grow live in OUT/corpus/<target>/ and are left alone.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT/build/fuzz}
DATA_ROOT=${DATA_ROOT:-$ROOT/../shared/data}
[ -d "$DATA_ROOT/movielens-100k" ] && [ -d "$DATA_ROOT/amazon2018-raw" ] || { echo "seeds.sh: no real data under $DATA_ROOT" >&2; exit 1; }
PY=${PY:-python3}
mkdir -p "$OUT"
tmp=$(mktemp -d "$OUT/seeds.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$PY" "$ROOT/fuzz/seeds.py" "$DATA_ROOT" "$tmp"
rm -rf "$OUT/seeds" "$OUT/data"
mv "$tmp/seeds" "$OUT/seeds"
mv "$tmp/data" "$OUT/data"
