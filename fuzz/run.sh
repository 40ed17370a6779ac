#!/bin/bash
# Run one fuzz target for a set time and print one summary line:
#   fuzz <target> execs=N crashes=K seconds=S exec_per_s=R corpus=C
#   fuzz/run.sh TARGET SECONDS [LIBFUZZER_FLAG...]
# Env: FUZZ_DIR (build/fuzz): binaries in $FUZZ_DIR/bin, seeds in $FUZZ_DIR/seeds/TARGET;
#      CORPUS (default $FUZZ_DIR/corpus/TARGET): the corpus the run grows;
#      ARTIFACTS (default $FUZZ_DIR/artifacts/TARGET): crash-/leak-/timeout-/oom- files;
#      FUZZ_LOG (default $FUZZ_DIR/logs/TARGET.log): libFuzzer's output.
# Inputs: the corpus, the seeds and fuzz/regress/TARGET/ (inputs that crashed once, now fixed).
# One process, one worker: never -jobs/-workers. Exit 1 when the run found anything.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
t=$1 secs=$2; shift 2
FUZZ_DIR=${FUZZ_DIR:-$ROOT/build/fuzz}
bin=$FUZZ_DIR/bin/fuzz_$t
CORPUS=${CORPUS:-$FUZZ_DIR/corpus/$t}
ARTIFACTS=${ARTIFACTS:-$FUZZ_DIR/artifacts/$t}
FUZZ_LOG=${FUZZ_LOG:-$FUZZ_DIR/logs/$t.log}
[ -x "$bin" ] || { echo "fuzz $t: $bin missing (make fuzz-build)" >&2; exit 2; }
[ -d "$FUZZ_DIR/seeds/$t" ] || { echo "fuzz $t: no seeds in $FUZZ_DIR/seeds/$t (fuzz/seeds.sh)" >&2; exit 2; }
case $t in
  amzscan)           opts="-max_len=8192 -dict=$ROOT/fuzz/json.dict" ;;
  gguf)              opts="-max_len=8192 -dict=$ROOT/fuzz/gguf.dict" ;;
  safetensors|config|items|samples|ranked|prompts) opts="-max_len=8192 -dict=$ROOT/fuzz/json.dict" ;;
  bpe)               opts="-max_len=2048" ;;
  bpe_load)          opts="-max_len=16384 -dict=$ROOT/fuzz/json.dict" ;;
  *)                 echo "fuzz: unknown target '$t'" >&2; exit 2 ;;
esac
mkdir -p "$CORPUS" "$ARTIFACTS" "$(dirname "$FUZZ_LOG")"
dirs=("$CORPUS" "$FUZZ_DIR/seeds/$t")
[ -d "$ROOT/fuzz/regress/$t" ] && dirs+=("$ROOT/fuzz/regress/$t")   # inputs that once crashed
before=$(find "$ARTIFACTS" -type f | wc -l)
start=$(date +%s)
# -close_fd_mask=2: the parsers' own die() lines (expected rejections, millions of them) are
# dropped; libFuzzer's and the sanitizers' reports still reach the log.
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
  -detect_leaks=1 -close_fd_mask=2 -print_final_stats=1 -artifact_prefix="$ARTIFACTS/" $opts "$@" \
  "${dirs[@]}" > "$FUZZ_LOG" 2>&1
rc=$?
secs_run=$(( $(date +%s) - start ))
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$FUZZ_LOG" | tail -n 1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$FUZZ_LOG" | tail -n 1)
crashes=$(( $(find "$ARTIFACTS" -type f | wc -l) - before ))
[ "$rc" != 0 ] && [ "$crashes" = 0 ] && crashes=1   # died without an artifact: count it
ncorpus=$(find "$CORPUS" -type f | wc -l)
echo "fuzz $t execs=${execs:-0} crashes=$crashes seconds=$secs_run exec_per_s=${rate:-0} corpus=$ncorpus"
if [ "$crashes" != 0 ]; then
  echo "fuzz $t: FOUND (exit $rc), artifacts in $ARTIFACTS, log $FUZZ_LOG:" >&2
  grep -E '^==[0-9]+==|ERROR|SUMMARY|invariant failed|#[0-9]+ 0x|artifact|runtime error|Test unit written' "$FUZZ_LOG" | head -n 40 >&2
  exit 1
fi
exit 0
