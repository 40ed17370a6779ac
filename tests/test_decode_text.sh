#!/bin/bash
# decode on text prompts with a real sentencepiece tokenizer: text mode == token-id mode on
# the same ids, and --constrain (D3) only ever yields catalogue titles.
source "$ROOT/tests/lib.sh"
O="$ROOT/tests/beam_oracle.py"
iconv -f latin1 -t utf-8 "$DATA_ROOT/movielens-100k/u.item" | head -80 | cut -d'|' -f2 > titles.txt
jq -Rc '{title: .}' titles.txt | jq -sc 'to_entries[] | {id: .key, item: ("i" + (.key|tostring)), title: .value.title, count: 1}' > items.jsonl
sed 's/.*/The user watched: &. ### Response:\n"&"/' titles.txt > corpus.txt
sh "$ROOT/tools/spm-train.sh" corpus.txt tok.model 400
$PY "$O" mkckpt ck --vocab $(wc -l < tok.vocab) --hidden 32 --layers 2 --heads 4 --kv 2 --ffn 48 --eos 2
cp tok.model ck/tokenizer.model
# one-line prompts (spm_encode works line by line) ...
for i in 0 1 2 3; do
  h=$(sed -n "$((i*7+1)),$((i*7+3))p" titles.txt | paste -sd, -)
  echo "The user watched: $h. Next:"
done > prompts.txt
jq -Rc '{prompt: .}' prompts.txt | jq -sc 'to_entries[] | {id: .key, prompt: .value.prompt}' > p.jsonl
spm_encode --model=tok.model --output_format=id < prompts.txt | jq -Rc 'split(" ") | map(tonumber)' \
  | jq -sc 'to_entries[] | {id: .key, prompt_ids: .value}' > pid.jsonl
# ... plus one with the real template's newline
printf '{"id": 9, "prompt": "Below is an instruction.\\n### Response:\\n"}\n' >> p.jsonl

"$BIN/decode" --model ck --max-new-tokens 16 < p.jsonl > text.jsonl
"$BIN/decode" --model ck --max-new-tokens 16 --prompt-ids < pid.jsonl > ids.jsonl
$PY - <<'PY' || die "text mode and id mode disagree"
import json
T = [json.loads(l) for l in open("text.jsonl")]
I = [json.loads(l) for l in open("ids.jsonl")]
assert len(T) == 5 and len(I) == 4
for t, i in zip(T, I):
    assert t["id"] == i["id"] and len(t["predict"]) == 5 and all(isinstance(x, str) for x in t["predict"])
    assert max(abs(a - b) for a, b in zip(t["scores"], i["scores"])) < 1e-6, (t, i)
PY

for lp in 0.0 1.0; do
  "$BIN/decode" --model ck --constrain items.jsonl --length-penalty $lp --batch 2 < p.jsonl > con.jsonl
  $PY - <<'PY' || die "constrained decoding produced a title outside the catalogue"
import json
cat = {json.loads(l)["title"] for l in open("items.jsonl")}
n = 0
for l in open("con.jsonl"):
    r = json.loads(l)
    assert len(r["predict"]) == 5 and len(set(r["predict"])) == 5, r
    assert r["scores"] == sorted(r["scores"], reverse=True), r
    for t in r["predict"]:
        assert t in cat, t
        n += 1
assert n == 25, n
PY
done
# --dedupe: a repeated prompt gets its first occurrence's record (its own id), and the distinct
# prompts come out exactly as a run over them alone (the same batches), beam search and --exact
jq -c '.' p.jsonl | jq -sc '[.[0], .[1], .[0], .[2], .[0], .[1], .[3], .[4], .[3]] | to_entries[] | {id: (100 + .key), prompt: .value.prompt}' > rep.jsonl
jq -sc 'unique_by(.prompt) | sort_by(.id)[]' rep.jsonl > uniq.jsonl
for mode in "" "--constrain items.jsonl --length-penalty 0 --exact --beams 4 --return 3"; do
  "$BIN/decode" -q --model ck --max-new-tokens 16 --batch 2 $mode --dedupe --timing < rep.jsonl > dd.jsonl 2> dd.err
  grep -q 'decode-timing prompts=9 distinct=5 ' dd.err || die "decode --dedupe: not 5 distinct of 9 prompts: $(cat dd.err)"
  "$BIN/decode" -q --model ck --max-new-tokens 16 --batch 2 $mode < uniq.jsonl > du.jsonl
  $PY - <<'PY' || die "decode --dedupe ($mode): repeats or distinct prompts differ"
import json
P = [json.loads(l) for l in open("rep.jsonl")]
D = [json.loads(l) for l in open("dd.jsonl")]
U = {r["id"]: r for r in map(json.loads, open("du.jsonl"))}
assert [r["id"] for r in D] == [p["id"] for p in P], "ids not in input order"
first = {}
for p, d in zip(P, D):
    body = {k: v for k, v in d.items() if k != "id"}
    if p["prompt"] in first:
        assert body == first[p["prompt"]], (p, d)
    else:
        first[p["prompt"]] = body
        assert d == U[p["id"]], (d, U[p["id"]])
assert len(first) == len(U) == 5
PY
done

printf '{"id": 1, "title": "A"}\n{"id": 2}\n' > badcat.jsonl
expect_fail 1 'badcat.jsonl:2: title' "$BIN/decode" --model ck --constrain badcat.jsonl < p.jsonl
printf '{"id": 1, "prompt": ""}\n' > empty.jsonl
expect_fail 1 '<stdin>:1: prompt: encodes to no tokens' "$BIN/decode" --model ck < empty.jsonl
echo ok
