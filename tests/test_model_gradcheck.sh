#!/bin/bash
# Finite-difference gradient checks in C: every layer pair (rmsnorm, linear+bias, rope,
# swiglu, residual dropout, grouped-query attention with a shared-prefix counterfactual
# sequence) and the whole CFT loss L = L_n + lambda L_c through both passes, with and
# without dropout and prefix sharing, for sampled coordinates of every parameter tensor.
source "$ROOT/tests/lib.sh"
"$BIN/model-check" gradcheck --seed 3 > gc.txt || { grep BAD gc.txt; die "gradient check failed"; }
grep -q "gradcheck: 0 failed" gc.txt || die "no verdict"
[ "$(grep -c '^ok  gradcheck' gc.txt)" -ge 80 ] || die "too few checks ran: $(grep -c '^ok' gc.txt)"
for l in rmsnorm linear rope swiglu dropout attention cft-loss cft-loss-dropout cft-loss-noshare-noprune-dropout; do
  grep -q "gradcheck $l" gc.txt || die "missing check $l"
done
expect_fail 2 'unknown command' "$BIN/model-check" frobnicate
expect_fail 2 'unknown option' "$BIN/model-check" dump --bogus 1
"$BIN/model-check" --help | grep -q usage || die "--help"

# bad batches are refused with one clear line (exit 1), not a crash
expect_fail 1 'row 0: normal token 50 at position 1 outside vocab' "$BIN/model-check" dump --out c1 --corrupt token
expect_fail 1 'row 0: response label -2 outside vocab' "$BIN/model-check" dump --out c2 --corrupt label
expect_fail 1 'row 0: response position [0-9]+ beyond length' "$BIN/model-check" dump --out c3 --corrupt pos
expect_fail 1 'row 0: counterfactual response position [0-9]+ beyond length' "$BIN/model-check" dump --out c4 --corrupt cfpos
expect_fail 1 'row 1: length 25 outside \[0,24\]' "$BIN/model-check" dump --out c5 --corrupt length
echo "gradcheck ok"
