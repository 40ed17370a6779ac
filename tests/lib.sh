# Helpers sourced by tests: die, expect_fail (exit code + message), same (byte compare),
# games_samples (a small Games dataset and tokenizer).
set -eu
die() { echo "FAIL: $*" >&2; exit 1; }
# expect_fail CODE 'regex' cmd...   -> command must exit CODE and print regex on stderr
expect_fail() {
  local code=$1 re=$2; shift 2
  local rc=0; "$@" 2> err.txt >/dev/null || rc=$?
  [ "$rc" = "$code" ] || die "expected exit $code, got $rc from: $* (stderr: $(cat err.txt))"
  grep -Eq -- "$re" err.txt || die "stderr of '$*' lacks /$re/: $(cat err.txt)"
}
same() { cmp -s "$1" "$2" || die "$1 and $2 differ"; }
# games_samples N PIECES [PY]: ./d/ with N Games samples per split (tests/cft_data.py) and
# ./tok.model, a PIECES-piece sentencepiece trained on their titles and prompts
games_samples() {
  "${3:-python3}" "$ROOT/tests/cft_data.py" "$DATA_ROOT" d "$1"
  "$BIN/mkcorpus" --mode spm --items d/items.jsonl --prompts d/train.prompts.jsonl -o spm.txt
  "$ROOT/tools/spm-train.sh" spm.txt tok.model "$2" > /dev/null
}
