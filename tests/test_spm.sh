#!/bin/bash
# Tokenizer: mkcorpus builds the tokenizer corpus from real training data (MovieLens-100K
# prompts), tools/spm-train.sh trains it deterministically with Debian's spm_train, and the
# C wrapper (spm.cc, via `tokenize`) round-trips every prompt and response exactly
# (newlines, quotes, non-ASCII via byte fallback), with the special ids we configured.
source "$ROOT/tests/lib.sh"
python3 "$ROOT/tests/cft_data.py" "$DATA_ROOT" d 40
"$BIN/mkcorpus" --mode spm --items d/items.jsonl --prompts d/train.prompts.jsonl -o spm.txt
[ "$(wc -l < spm.txt)" -gt 1000 ] || die "tokenizer corpus too small"
grep -qx '"Toy Story (1995)"' spm.txt || die "titles missing from the tokenizer corpus"
grep -qx '### Response:' spm.txt || die "template words missing from the tokenizer corpus"
"$ROOT/tools/spm-train.sh" spm.txt a.model 800
"$ROOT/tools/spm-train.sh" spm.txt b.model 800
same a.model b.model                                   # deterministic training
"$BIN/tokenize" --model a.model --info > info.json
[ "$(cat info.json)" = '{"vocab_size": 800, "bos": 1, "eos": 2, "pad": 3}' ] || die "ids: $(cat info.json)"
# round trip of every prompt, counterfactual prompt and response, plus hostile text
python3 - <<'PY'
import json
out = open("texts.jsonl", "w")
for f in ("d/train.prompts.jsonl", "d/valid.prompts.jsonl"):
    for ln in open(f):
        r = json.loads(ln)
        for k in ("prompt", "response", "cf_prompt"):
            out.write(json.dumps(r[k]) + "\n")
for t in ["", " ", "  double  space ", "tab\there", "caf\u00e9 \u65e5\u672c \U0001F600", "\"quoted\"\n\n", "x" * 3000]:
    out.write(json.dumps(t) + "\n")
PY
"$BIN/tokenize" --model a.model --json texts.jsonl > ids.txt
"$BIN/tokenize" --model a.model --json --decode ids.txt > back.jsonl
python3 -c "
import json
a=[json.loads(l) for l in open('texts.jsonl')]; b=[json.loads(l) for l in open('back.jsonl')]
assert len(a)==len(b), (len(a), len(b))
bad=[(x,y) for x,y in zip(a,b) if x!=y]
assert not bad, bad[:2]
" || die "round trip differs"
# prompt and response encoded separately then joined decode to their concatenation
p=$(head -1 d/train.prompts.jsonl | python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); print(json.dumps(r["prompt"])); print(json.dumps(r["response"])); print(json.dumps(r["prompt"]+r["response"]))' | "$BIN/tokenize" --model a.model --json)
joined=$(echo "$p" | sed -n '1p;2p' | tr '\n' ' ')
echo "$joined" | "$BIN/tokenize" --model a.model --decode --json > j.txt
echo "$p" | sed -n 3p | "$BIN/tokenize" --model a.model --decode --json > w.txt
same j.txt w.txt
# the template compresses: the common template must not fall back to bytes
n=$(head -1 texts.jsonl | "$BIN/tokenize" --model a.model --json --pieces | tr ' ' '\n' | grep -c '^<0x' || true)
[ "$n" = 0 ] || die "template falls back to $n byte pieces"
# errors: one line, right exit code
expect_fail 3 'missing.model: cannot open: No such file' "$BIN/tokenize" --model missing.model --info
echo garbage > bad.model
expect_fail 1 'bad.model: not a sentencepiece model' "$BIN/tokenize" --model bad.model --info
echo "5 99999" > badids.txt
expect_fail 1 'badids.txt:1: expected token ids in \[0, 800\)' "$BIN/tokenize" --model a.model --decode badids.txt
echo ok
