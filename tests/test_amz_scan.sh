#!/bin/bash
# amzscan (amz-filter's JSON scanner) against Python's json module on mutated real review
# lines: same valid/invalid verdict for every line, same decoded "asin". The harness is
# compiled here from tools/lib (with ASan+UBSan when the suite runs on bin-asan).
source "$ROOT/tests/lib.sh"
SAN=""
case "$BIN" in *asan*) SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined";; esac
${CC:-cc} -O1 -g $SAN -std=gnu11 -I"$ROOT/tools/lib/util" -I"$ROOT/tools/lib/data" -I"$ROOT/tools/lib/llm" "$ROOT/tests/amz_scan_check.c" "$ROOT/tools/lib/data/amzscan.c" \
  "$ROOT/tools/lib/data/textclean.c" -o check || die "cannot build the harness"
for seed in 1 2; do
  "$PY" "$ROOT/tests/amz_scan_fuzz.py" $seed 5000 "$DATA_ROOT/amazon2018-raw/Gift_Cards_5.json.gz" lines.txt want.txt
  ./check < lines.txt > got.txt
  n_ok=$(grep -c '^1' want.txt)
  [ "$n_ok" -gt 1000 ] && [ "$n_ok" -lt 4000 ] || die "fuzz mix is off: $n_ok valid of 5000"
  paste -d'|' want.txt got.txt lines.txt | awk -F'|' '$1 != $2' | head -n 3 > diff.txt
  [ ! -s diff.txt ] || die "scanner disagrees with Python json (want|got|line): $(cat diff.txt)"
done
echo ok
