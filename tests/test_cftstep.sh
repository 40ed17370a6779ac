#!/bin/bash
# cft-step on a tiny model and real MovieLens-100K prompt records:
#  - same seed + threads -> byte-identical model.safetensors (dropout on);
#  - SIGKILL mid-run, --resume from the last saved state -> the same final weights as an
#    uninterrupted run; a resume with different flags is refused;
#  - the loss goes down; the log has one JSON line per step with the promised fields;
#  - --eval prints one JSON line (L_n, L_c); lambda 0 / --no-weight-normal change what they
#    should; non-finite loss stops with an error naming the step; usage errors.
source "$ROOT/tests/lib.sh"
games_samples 40 600
cat > cfg.json <<'J'
{"hidden_size": 32, "intermediate_size": 88, "num_hidden_layers": 2, "num_attention_heads": 4,
 "num_key_value_heads": 2, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "max_position_embeddings": 256,
 "tie_word_embeddings": true}
J
COMMON=(--train d/train.prompts.jsonl --valid d/valid.prompts.jsonl --config cfg.json --tokenizer tok.model
        --max-samples 96 --batch 16 --micro-batch 8 --max-len 160 --epochs 2 --lr 3e-3 --warmup 2
        --dropout 0.05 --threads 2 --seed 7 -q)
# determinism (and the reference run for resume)
"$BIN/cft-step" "${COMMON[@]}" --out A --log A.log --save-every 2
"$BIN/cft-step" "${COMMON[@]}" --out B --auto-resume   # no state yet: a fresh run
same A/model.safetensors B/model.safetensors
same A/config.json B/config.json
[ -f A/tokenizer.model ] && same A/tokenizer.model tok.model
[ -f A.state/optimizer.safetensors ] || die "no resumable state written"
# another seed gives other weights
"$BIN/cft-step" "${COMMON[@]}" --out C --seed 8
cmp -s A/model.safetensors C/model.safetensors && die "seed has no effect"
# log: one line per step (12 steps) + one per epoch end; fields present; loss goes down
[ "$(grep -c '"step"' A.log)" = 14 ] || die "log lines: $(wc -l < A.log)"
python3 - <<'PY' || die "log check failed"
import json
L = [json.loads(l) for l in open("A.log")]
steps = [x for x in L if "epoch_end" not in x]
for k in ("step", "epoch", "lr", "loss", "L_n", "L_c", "grad_norm", "samples_per_s", "tokens_per_s"):
    assert all(k in x for x in steps), k
assert [x["step"] for x in steps] == list(range(1, 13))
assert steps[0]["lr"] == 0 and abs(steps[1]["lr"] - 1.5e-3) < 1e-9 and abs(steps[2]["lr"] - 3e-3) < 1e-9
assert all(abs(x["loss"] - (x["L_n"] + 0.1 * x["L_c"])) < 1e-4 for x in steps)
ends = [x for x in L if "epoch_end" in x]
assert len(ends) == 2 and ends[1]["val_L_n"] < ends[0]["val_L_n"], ends
first = sum(x["L_n"] for x in steps[:2]) / 2; last = sum(x["L_n"] for x in steps[-2:]) / 2
assert last < first - 0.3, (first, last)
PY
# SIGKILL mid-run, then resume: identical final weights. The kill is made deterministic by a
# test hook: the process SIGKILLs itself in the middle of step 4 (after one of its two
# micro-batches; the last state is step 3's), or inside the save of step 5's state (temp dir
# written, not yet swapped in: the step-4 state must still be intact and usable).
rc=0; CFT_TEST_KILL_AT_STEP=4 "$BIN/cft-step" "${COMMON[@]}" --out K --save-every 1 --log K.log || rc=$?
[ "$rc" = 137 ] || die "expected death by SIGKILL (137), got $rc"
[ "$(python3 -c 'import json;print(json.load(open("K.state/trainer_state.json"))["step"])')" = 3 ] || die "state not at step 3"
expect_fail 2 'lr is 0.001 in this run but 0.003' "$BIN/cft-step" "${COMMON[@]}" --lr 1e-3 --out K --resume K.state
"$BIN/cft-step" "${COMMON[@]}" --out K --save-every 1 --log K.log --resume K.state
same A/model.safetensors K/model.safetensors
same A.state/optimizer.safetensors K.state/optimizer.safetensors
rc=0; CFT_TEST_KILL_IN_SAVE=5 "$BIN/cft-step" "${COMMON[@]}" --out S --save-every 1 || rc=$?
[ "$rc" = 137 ] || die "expected death by SIGKILL (137) in the save, got $rc"
[ "$(python3 -c 'import json;print(json.load(open("S.state/trainer_state.json"))["step"])')" = 4 ] || die "state not at step 4"
ls -d S.state.tmp.* >/dev/null || die "the kill did not happen inside the save"
"$BIN/cft-step" "${COMMON[@]}" --out S --save-every 1 --auto-resume   # = --resume S.state
same A/model.safetensors S/model.safetensors
ls -d S.state.tmp.* 2>/dev/null && die "stale temp dir of the killed writer not cleaned"
# the resumed log is the uninterrupted one (timings aside)
python3 -c "
import json
strip = lambda f: [{k: v for k, v in json.loads(l).items() if not k.endswith('_per_s')} for l in open(f)]
assert strip('A.log') == strip('K.log')" || die "resumed log differs"
same A.state/optimizer.safetensors K.state/optimizer.safetensors
# --eval: one JSON line; lambda/weighting semantics
"$BIN/cft-step" --eval d/valid.prompts.jsonl --init A --max-len 160 --threads 2 > ev.json
[ "$(wc -l < ev.json)" = 1 ] || die "eval output not one line"
"$BIN/cft-step" --eval d/valid.prompts.jsonl --init A --max-len 160 --threads 2 --no-weight-normal --lambda 0 > ev2.json
"$BIN/cft-step" --eval d/valid.prompts.jsonl --init A --max-len 160 --threads 2 --beta 1 > ev3.json
"$BIN/cft-step" --eval d/valid.prompts.jsonl --init A --max-len 160 --threads 2 --beta 1 --no-weight-normal > ev4.json
"$BIN/cft-step" --eval d/valid.prompts.jsonl --init A --max-len 160 --threads 2 --beta-prime 1.3333333333333333 > ev5.json
python3 - <<'PY' || die "eval check failed"
import json
a = json.load(open("ev.json")); b = json.load(open("ev2.json"))
c, d, e = (json.load(open(f)) for f in ("ev3.json", "ev4.json", "ev5.json"))
assert abs(c["L_n"] - d["L_n"]) < 1e-6 and abs(c["L_n"] - b["L_n"]) < 1e-6   # beta 1 = uniform = token mean
assert abs(e["L_n"] - a["L_n"]) < 1e-6 and abs(e["L_c"] - a["L_c"]) < 1e-6   # beta' = 4/3 is beta = 0.25
assert a["n"] == 40 and a["objective"] == "rec"
assert abs(a["loss"] - (a["L_n"] + 0.1 * a["L_c"])) < 1e-5
assert abs(b["L_c"] - a["L_c"]) < 1e-6 and abs(b["loss"] - b["L_n"]) < 1e-6   # L_c weighted either way
assert abs(b["L_n"] - a["L_n"]) > 1e-4                                       # unweighted L_n differs
best = [json.loads(l) for l in open("A.log") if "epoch_end" in l][-1]["best_val_L_n"]
assert abs(a["L_n"] - best) < 1e-5, (a["L_n"], best)    # validation = weighted L_n of the best model
PY
# non-finite loss: stop naming the step, no output written
expect_fail 1 'non-finite loss at step [0-9]+' "$BIN/cft-step" "${COMMON[@]}" --lr 1e30 --warmup 0 --out N
[ -e N ] && die "output written after a non-finite loss"
# usage and data errors
expect_fail 2 'no CUDA support|no usable CUDA device' "$BIN/cft-step" "${COMMON[@]}" --out X --device cuda
expect_fail 2 'no CUDA support|no usable CUDA device' "$BIN/cft-step" "${COMMON[@]}" --out X --device cuda --precision bf16
expect_fail 2 'expected tf32, fp32 or bf16' "$BIN/cft-step" "${COMMON[@]}" --out X --device cuda --precision fp16
# the fused attention kernels are CUDA's: refused on the CPU, a bad name refused
expect_fail 2 'no CUDA support|no usable CUDA device' "$BIN/cft-step" "${COMMON[@]}" --out X --device cuda --attention fused
expect_fail 2 'give --device cuda' "$BIN/cft-step" "${COMMON[@]}" --out X --attention fused
expect_fail 2 'expected plain or fused' "$BIN/cft-step" "${COMMON[@]}" --out X --attention flash
[ ! -e X ] || die "cft-step left X after a refused --attention"
expect_fail 2 'exactly one of --init' "$BIN/cft-step" --train d/train.prompts.jsonl --out X --tokenizer tok.model
head -3 d/train.prompts.jsonl > bad.jsonl; echo '{"id": 9, "prompt": "x"}' >> bad.jsonl
expect_fail 1 'bad.jsonl:4: response: missing field' "$BIN/cft-step" --train bad.jsonl --config cfg.json --tokenizer tok.model --out X
python3 -c "
import json
for l in open('d/train.prompts.jsonl'):
    r=json.loads(l); del r['cf_prompt']; print(json.dumps(r))" > nocf.jsonl
expect_fail 1 'nocf.jsonl:1: cf_prompt: missing field' "$BIN/cft-step" --train nocf.jsonl --config cfg.json --tokenizer tok.model --out X
# lambda 0 needs no cf_prompt (BIGRec)
"$BIN/cft-step" --train nocf.jsonl --config cfg.json --tokenizer tok.model --out Z --lambda 0 --max-samples 32 --batch 16 --epochs 1 --max-len 160 -q
[ -f Z/model.safetensors ] || die "lambda 0 run wrote nothing"
echo ok
