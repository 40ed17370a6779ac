#!/bin/bash
# decode (beam search, KV cache) vs a PyTorch beam search written from HF's BeamSearchScorer
# semantics (tests/beam_oracle.py, no KV cache), itself checked against transformers'
# generate(); token-id mode (--prompt-ids) so no tokenizer is involved.
source "$ROOT/tests/lib.sh"
O="$ROOT/tests/beam_oracle.py"
M="--vocab 64 --hidden 32 --layers 2 --heads 4 --kv 2 --ffn 48 --eos 2"
# one python process for all oracle work (start-up dominates)
$PY "$O" mkckpt ck $M ++ mkckpt tied --vocab 64 --hidden 32 --layers 1 --heads 2 --kv 1 --ffn 40 --eos 2 --tie --seed 5 \
  ++ prompts p.jsonl --n 6 --vocab 64 ++ prompts ps.jsonl --n 6 --vocab 64 --shared 9 --seed 4 \
  ++ catalogue cat.jsonl --n 40 --vocab 64 --eos 2 \
  ++ catalogue cat3.jsonl --n 3 --vocab 64 --eos 2 \
  ++ catalogue catx.jsonl --n 300 --vocab 64 --eos 2 --first 6 \
  ++ beam ck ps.jsonl --lp 1.0 --max-new 12 --out os1.jsonl \
  ++ beam ck ps.jsonl --lp 0.0 --max-new 12 --constrain-ids cat.jsonl --out osc0.jsonl \
  ++ exact ck p.jsonl --ret 10 --max-new 12 --constrain-ids catx.jsonl --out ox.jsonl \
  ++ prompts p24.jsonl --n 24 --vocab 64 --seed 7 \
  ++ exact ck p24.jsonl --ret 10 --max-new 12 --constrain-ids catx.jsonl --out ox24.jsonl \
  ++ beam ck p.jsonl --lp 1.0 --max-new 12 --out o1.jsonl \
  ++ beam ck p.jsonl --lp 0.0 --max-new 12 --out o0.jsonl \
  ++ beam ck p.jsonl --lp 1.0 --max-new 12 --constrain-ids cat.jsonl --out oc1.jsonl \
  ++ beam ck p.jsonl --lp 0.0 --max-new 12 --constrain-ids cat.jsonl --out oc0.jsonl \
  ++ beam tied p.jsonl --beams 3 --ret 2 --lp 1.0 --max-new 8 --out ot.jsonl \
  ++ beam ck p.jsonl --lp 0.0 --max-new 12 --constrain-ids cat3.jsonl --out oc3.jsonl \
  ++ hf ck p.jsonl --lp 1.0 --max-new 12 --out hf1.jsonl \
  ++ hf ck p.jsonl --lp 0.0 --max-new 12 --out hf0.jsonl \
  ++ hf ck p.jsonl --lp 0.0 --max-new 12 --constrain-ids cat.jsonl --out hfc0.jsonl \
  ++ hf ck p.jsonl --lp 0.0 --max-new 12 --constrain-ids cat3.jsonl --out hfc3.jsonl \
  2> oracle.err || { cat oracle.err; die "oracle failed"; }

for lp in 1 0; do
  "$BIN/decode" --model ck --prompt-ids --max-new-tokens 12 --length-penalty $lp.0 --batch 4 < p.jsonl > c$lp.jsonl
  # constrained (D3): a trie over the catalogue's token sequences
  "$BIN/decode" --model ck --prompt-ids --max-new-tokens 12 --length-penalty $lp.0 --constrain-ids cat.jsonl < p.jsonl > cc$lp.jsonl
done
# fewer catalogue sequences (3) than beams (5): 3 hypotheses (HF's -1e9 placeholders dropped)
"$BIN/decode" --model ck --prompt-ids --max-new-tokens 12 --length-penalty 0 --constrain-ids cat3.jsonl < p.jsonl > cc3.jsonl
# batch composition and thread count do not change the result
"$BIN/decode" --model ck --prompt-ids --max-new-tokens 12 --batch 1 --threads 1 < p.jsonl > b1.jsonl
"$BIN/decode" --model ck --prompt-ids --max-new-tokens 12 --batch 6 --threads 2 < p.jsonl > b6.jsonl
# prompts sharing a 9-token template (one of them the template alone): the batch's common
# prefix is prefilled once (the default), every prompt whole with --no-share-prefix
"$BIN/decode" --model ck --prompt-ids --max-new-tokens 12 --batch 6 --timing < ps.jsonl > cs1.jsonl 2> cs1.err
grep -Eq 'prefill_positions=([0-9]+) prefill_rows=([0-9]+)$' cs1.err || { cat cs1.err; die "decode --timing: no prefill counts"; }
read -r pos rows < <(sed -nE 's/.*prefill_positions=([0-9]+) prefill_rows=([0-9]+)$/\1 \2/p' cs1.err)
# 6 prompts share 9 tokens, the template-only one keeps its last: 8 rows once instead of 6 times
[ "$rows" -eq $((pos - 5 * 8)) ] || die "decode: shared prefix: $rows rows computed for $pos positions, expected $((pos - 40))"
"$BIN/decode" --model ck --prompt-ids --max-new-tokens 12 --batch 6 --no-share-prefix < ps.jsonl > cs1n.jsonl
"$BIN/decode" --model ck --prompt-ids --max-new-tokens 12 --batch 6 --length-penalty 0 --constrain-ids cat.jsonl < ps.jsonl > csc0.jsonl
# 3 beams returning 2, one layer, tied embeddings
"$BIN/decode" --model tied --prompt-ids --beams 3 --return 2 --max-new-tokens 8 < p.jsonl > ct.jsonl

# --exact (D3's ranking over the whole catalogue) vs brute force: every one of 300 sequences
# scored by teacher forcing. 2 rows per prompt at first, so re-searches must happen.
"$BIN/decode" --model ck --prompt-ids --exact --beams 2 --return 10 --length-penalty 0 --max-new-tokens 12 \
  --constrain-ids catx.jsonl --batch 3 --timing < p.jsonl > cx.jsonl 2> cx.err || { cat cx.err; die "decode --exact failed"; }
grep -q 'decode-exact guessed=0 guess_missed=0 researched=[1-9][0-9]* inexact=0$' cx.err || { cat cx.err; die "--exact: expected re-searches and every prompt certified"; }
# 24 prompts in batches of 4: the last 2 batches start from a guessed bound (16 certified K-th
# scores by then; 256 rows, so that a first search can certify); a high quantile guesses above
# prompts' K-th titles: they are searched again, and every list still equals brute force's
for q in 0.1 0.9 0; do
  "$BIN/decode" --model ck --prompt-ids --exact --beams 256 --return 10 --length-penalty 0 --max-new-tokens 12 \
    --constrain-ids catx.jsonl --batch 4 --exact-guess $q --timing < p24.jsonl > cg$q.jsonl 2> cg$q.err || { cat cg$q.err; die "decode --exact-guess $q failed"; }
done
grep -q 'decode-exact guessed=8 .*inexact=0$' cg0.1.err || { cat cg0.1.err; die "--exact-guess 0.1: expected 8 guessed prompts, all certified"; }
grep -q 'decode-exact guessed=8 guess_missed=8 researched=8 inexact=0$' cg0.9.err || { cat cg0.9.err; die "--exact-guess 0.9: expected missed guesses"; }
grep -q 'decode-exact guessed=0 ' cg0.err || { cat cg0.err; die "--exact-guess 0 still guessed"; }
expect_fail 2 'not a quantile' "$BIN/decode" --model ck --prompt-ids --exact --constrain-ids catx.jsonl --length-penalty 0 --exact-guess 1 < p.jsonl
# capped at 2 rows, some prompts cannot be certified: they say so
"$BIN/decode" --model ck --prompt-ids --exact --beams 2 --max-frontier 2 --return 10 --length-penalty 0 --max-new-tokens 12 \
  --constrain-ids catx.jsonl --timing < p.jsonl > cx2.jsonl 2> cx2.err
grep -q 'decode-exact guessed=0 guess_missed=0 researched=0 inexact=[1-9]' cx2.err || { cat cx2.err; die "--exact at --max-frontier 2: expected uncertified prompts"; }
# the 5-beam search over the same catalogue never beats the exact ranking, rank by rank
"$BIN/decode" --model ck --prompt-ids --length-penalty 0 --max-new-tokens 12 --constrain-ids catx.jsonl < p.jsonl > cbx.jsonl
expect_fail 2 'give --constrain' "$BIN/decode" --model ck --prompt-ids --exact --length-penalty 0 < p.jsonl
# --device cuda without a GPU (or in a build without CUDA): one line, exit 2, nothing written
expect_fail 2 'no usable CUDA device|no CUDA support' "$BIN/decode" --model ck --prompt-ids --device cuda -o dc.jsonl < p.jsonl
[ ! -e dc.jsonl ] || die "decode --device cuda left an output file"
expect_fail 2 'expected cpu or cuda' "$BIN/decode" --model ck --prompt-ids --device gpu < p.jsonl
expect_fail 2 'expected fp32 or tf32' "$BIN/decode" --model ck --prompt-ids --precision bf16 < p.jsonl
# the comparer of tests/test_cuda.sh's decode parity, on two CPU runs (threads 1 vs 2): it
# passes on equal beams and fails on a score moved past its tolerance
"$PY" "$ROOT/tests/cuda_infer_parity.py" --label "decode cpu 1 vs 2 threads" decode b1.jsonl b6.jsonl --atol 1e-5 \
  || die "decode: 1 vs 2 threads differ beyond 1e-5"
"$PY" -c "
import json, sys
rs = [json.loads(l) for l in open('b1.jsonl')]
rs[0]['scores'][0] += 0.01
open('b1x.jsonl', 'w').write(''.join(json.dumps(r) + '\n' for r in rs))"
expect_fail 1 'score' "$PY" "$ROOT/tests/cuda_infer_parity.py" decode b1.jsonl b1x.jsonl --atol 1e-3
expect_fail 2 'length-penalty 0' "$BIN/decode" --model ck --prompt-ids --exact --constrain-ids catx.jsonl < p.jsonl

# hf*: the oracle agrees with transformers' generate() (plain and prefix-constrained); the
# rest: decode == oracle
$PY "$O" compare hf1.jsonl o1.jsonl hf0.jsonl o0.jsonl hfc0.jsonl oc0.jsonl hfc3.jsonl oc3.jsonl \
  cc3.jsonl oc3.jsonl c1.jsonl o1.jsonl c0.jsonl o0.jsonl cc1.jsonl oc1.jsonl \
  cc0.jsonl oc0.jsonl ct.jsonl ot.jsonl b1.jsonl b6.jsonl cx.jsonl ox.jsonl \
  cg0.1.jsonl ox24.jsonl cg0.9.jsonl ox24.jsonl cg0.jsonl ox24.jsonl \
  cs1.jsonl os1.jsonl cs1n.jsonl os1.jsonl csc0.jsonl osc0.jsonl --tol 1e-4 || die "decode != oracle (see above)"
$PY - <<'PY' || die "checks on the outputs failed"
import json
# both finishing paths are exercised: hypotheses ending with EOS and at the length limit
L = [len(t) for l in open("o1.jsonl") for t in json.loads(l)["predict_ids"]]
assert any(x < 12 for x in L) and any(x == 12 for x in L), L
# constrained output is always a catalogue sequence, 5 per prompt
cat = {tuple(json.loads(l)["ids"]) for l in open("cat.jsonl")}
cat3 = {tuple(json.loads(l)["ids"]) for l in open("cat3.jsonl")}
for f in ("cc1.jsonl", "cc0.jsonl"):
    n = 0
    for l in open(f):
        r = json.loads(l)
        assert len(r["predict_ids"]) == 5, r
        for t in r["predict_ids"]:
            assert tuple(t + [2]) in cat, (f, t)
            n += 1
    assert n == 30, n
ex = [json.loads(l) for l in open("cx.jsonl")]
assert all(r["exact"] is True and len(r["predict_ids"]) == 10 for r in ex), ex
assert not all(json.loads(l)["exact"] for l in open("cx2.jsonl"))
beat = 0
for r, b in zip(ex, (json.loads(l) for l in open("cbx.jsonl"))):
    for s, t in zip(r["scores"], b["scores"]):
        assert t <= s + 1e-4, (r, b)
    beat += r["scores"][:5] != b["scores"]
assert beat > 0   # HF's beam search loses titles (EOS ranked >= beams is dropped); the exact search does not
for l in open("cc3.jsonl"):
    r = json.loads(l)
    assert len(r["predict_ids"]) == 3 and all(tuple(t + [2]) in cat3 for t in r["predict_ids"]), r
PY

# bad input: one clear line naming file, line and field; usage errors exit 2
printf '{"id": 1, "prompt_ids": [5, 6]}\n{"id": 2, "prompt_ids": [5, 999]}\n' > bad.jsonl
expect_fail 1 '<stdin>:2: prompt_ids: element 1' "$BIN/decode" --model ck --prompt-ids -o out.jsonl < bad.jsonl
[ ! -e out.jsonl ] || die "output file left behind after an error"
printf '{"id": 1}\n' > bad2.jsonl
expect_fail 1 '<stdin>:1: prompt_ids' "$BIN/decode" --model ck --prompt-ids < bad2.jsonl
expect_fail 2 'return' "$BIN/decode" --model ck --prompt-ids --beams 3 --return 4 < p.jsonl
expect_fail 2 'unknown option' "$BIN/decode" --model ck --bogus < p.jsonl
expect_fail 3 'nope' "$BIN/decode" --model nope --prompt-ids < p.jsonl
"$BIN/decode" --help | grep -q 'length-penalty' || die "--help"
echo ok
