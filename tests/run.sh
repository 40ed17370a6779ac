#!/bin/bash
# Test runner: every tests/test_*.sh runs in its own temp dir (exit 0 passes, 77 skips: it
# could not run on this machine, its last output line says why; anything else fails) with
#   BIN (tool dir, absolute), DATA_ROOT (absolute), PY (python with torch + HF oracles),
#   ROOT (repo root), T (scratch dir). A test passes when it exits 0.
# Usage: tests/run.sh [pattern]   e.g. tests/run.sh split
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export ROOT
export BIN=$(cd "$ROOT" && cd "${BIN:-bin}" && pwd)
export DATA_ROOT=$(cd "$ROOT" && cd "${DATA_ROOT:-../shared/data}" && pwd)
if [ -x "$ROOT/build/pyenv/bin/python" ]; then export PY="$ROOT/build/pyenv/bin/python"; else export PY=/usr/bin/python3; fi
pat=${1:-}
pass=0; fail=0; skip=0; failed=""; skipped=""
for t in "$ROOT"/tests/test_*.sh; do
  name=$(basename "$t" .sh)
  [ -n "$pat" ] && [[ "$name" != *"$pat"* ]] && continue
  T=$(mktemp -d); export T
  start=$(date +%s%N)
  rc=0; (cd "$T" && bash "$t") > "$T.log" 2>&1 || rc=$?
  if [ "$rc" = 0 ]; then
    pass=$((pass+1)); ms=$(( ($(date +%s%N) - start) / 1000000 )); printf 'PASS %-32s %4d.%01ds\n' "$name" $((ms/1000)) $(((ms%1000)/100))
  elif [ "$rc" = 77 ]; then
    # exit 77 (the automake convention): the test could not run here; its last line says why
    skip=$((skip+1)); skipped="$skipped $name"
    printf 'SKIP %-32s %s\n' "$name" "$(tail -n 1 "$T.log")"
  else
    fail=$((fail+1)); failed="$failed $name"
    printf 'FAIL %-32s (log below)\n' "$name"; tail -n 40 "$T.log" | sed 's/^/   | /'
  fi
  rm -rf "$T" "$T.log"
done
echo "tests: $pass passed, $fail failed${failed:+ ($failed )}, $skip skipped${skipped:+ ($skipped )}"
[ "$fail" = 0 ]
