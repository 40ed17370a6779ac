#!/bin/bash
# Fuzz smoke run: builds the libFuzzer harnesses of every parser (fuzz/, make fuzz-build:
# clang, ASan + UBSan, into build/fuzz/) and the seed corpora from the real data, then runs
# each target a few seconds (FUZZ_SMOKE_SECONDS, default 4: under a minute for all ten) on
# its seeds plus fuzz/regress/<target>/ (inputs that once crashed). Fails on any crash,
# sanitizer report, leak, timeout or huge allocation, and when a target runs too few inputs
# to have tested anything. Needs clang with libFuzzer: missing, it fails (it does not skip).
source "$ROOT/tests/lib.sh"
command -v clang > /dev/null && command -v clang++ > /dev/null ||
  die "clang/clang++ not found: the fuzz harnesses need clang with libFuzzer (apt-get install clang)"
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }' > probe.c
clang -fsanitize=fuzzer,address probe.c -o probe 2> probe.err || die "clang cannot link libFuzzer: $(tail -n 3 probe.err)"
make -C "$ROOT" --no-print-directory -j2 fuzz-build fuzz-seeds DATA_ROOT="$DATA_ROOT" > build.log 2>&1 ||
  die "building the fuzz harnesses failed: $(tail -n 20 build.log)"
SECS=${FUZZ_SMOKE_SECONDS:-4}
targets=$(sed -n 's/^FUZZ_TARGETS *?= *//p' "$ROOT/fuzz/fuzz.mk")
[ -n "$targets" ] || die "no fuzz targets listed in fuzz/fuzz.mk"
start=$(date +%s)
fail=""
for t in $targets; do
  rc=0
  line=$(CORPUS="$T/corpus/$t" ARTIFACTS="$T/artifacts/$t" FUZZ_LOG="$T/$t.log" "$ROOT/fuzz/run.sh" "$t" "$SECS" -seed=14) || rc=$?
  echo "$line"
  if [ $rc != 0 ]; then
    fail="$fail $t"
    mkdir -p "$ROOT/build/fuzz/smoke-artifacts/$t"
    cp "$T/artifacts/$t"/* "$T/$t.log" "$ROOT/build/fuzz/smoke-artifacts/$t/" 2> /dev/null
    grep -E 'ERROR|SUMMARY|invariant failed|runtime error|#[0-9]+ 0x' "$T/$t.log" | head -n 25 >&2
    continue
  fi
  execs=$(echo "$line" | sed -n 's/.* execs=\([0-9]*\) .*/\1/p')
  [ "${execs:-0}" -ge 200 ] || fail="$fail $t(only ${execs:-0} runs)"
done
echo "smoke: $(( $(date +%s) - start )) s for $(echo $targets | wc -w) targets"
[ -z "$fail" ] || die "fuzz smoke found:$fail (inputs and logs: build/fuzz/smoke-artifacts/)"
echo ok
