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
echo "gradcheck ok"
