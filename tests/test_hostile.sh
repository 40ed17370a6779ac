#!/bin/bash
# Hostile input, end to end (issue 14): every case is one a user or a broken pipeline can
# produce, and each failed before its fix. A tool must answer with one line naming the file
# (line, field), a meaningful exit code, no crash, no hang and no half-written output, and
# must never destroy what sits at an -o path that is not a regular file.
#  - --resume with out-of-range or wrong-typed trainer_state.json fields, or bad moments;
#  - -o onto a character device, a FIFO, a symlink, a directory; SIGTERM leaves no temp file;
#  - a config whose sizes the weights file cannot hold; prompts and titles past the model's
#    positions; inference holds no gradient or optimizer memory;
#  - FIFOs where a checkpoint's files should be (no hang);
#  - invalid UTF-8, duplicate / string / fractional ids, empty input;
#  - ckpt-tool --check on an empty or random tokenizer.model.
source "$ROOT/tests/lib.sh"
asan=0; case "$BIN" in *asan*) asan=1;; esac
games_samples 30 500
cat > cfg.json <<'J'
{"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
 "num_key_value_heads": 2, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "max_position_embeddings": 256,
 "tie_word_embeddings": true}
J
"$BIN/ckpt-tool" -q --init cfg.json m --tokenizer tok.model

# ---- 1. --resume validates trainer_state.json and the moments before using them ----
COMMON=(--train d/train.prompts.jsonl --tokenizer tok.model --max-samples 32 --batch 8
        --micro-batch 8 --max-len 200 --epochs 1 --lr 1e-3 --warmup 1 --threads 2 --seed 3 -q)
TRAIN=("${COMMON[@]}" --config cfg.json)
"$BIN/cft-step" "${TRAIN[@]}" --out A --save-every 1
[ -f A.state/trainer_state.json ] || die "no state saved"
tamper() {   # tamper DIR 'python expression on the dict s'
  rm -rf "$1"; cp -r A.state "$1"
  python3 -c "import json,sys; p='$1/trainer_state.json'; s=json.load(open(p)); $2; open(p,'w').write(json.dumps(s))"
}
tamper S1 's.update(step=-3, epoch=0, epoch_step=-3)'
expect_fail 1 'S1/trainer_state.json: epoch_step: -3 is not an integer in \[0, 4\]' "$BIN/cft-step" "${TRAIN[@]}" --out A2 --resume S1
tamper S2 's.update(step=1e300, epoch=1e300)'
expect_fail 1 'S2/trainer_state.json: epoch: 1e\+300 is not an integer' "$BIN/cft-step" "${TRAIN[@]}" --out A2 --resume S2
tamper S3 's.update(epoch_step="2")'
expect_fail 1 'S3/trainer_state.json: epoch_step: missing or not a number' "$BIN/cft-step" "${TRAIN[@]}" --out A2 --resume S3
tamper S4 's.update(step=s["step"] - 1)'
expect_fail 1 'S4/trainer_state.json: step [0-9]+ is not epoch' "$BIN/cft-step" "${TRAIN[@]}" --out A2 --resume S4
tamper S5 's.update(bad_epochs=7)'
expect_fail 1 'S5/trainer_state.json: bad_epochs: 7 is not an integer' "$BIN/cft-step" "${TRAIN[@]}" --out A2 --resume S5
# moments: a NaN, then a negative second moment, written into the safetensors data
for v in nan -1; do
  tamper S6 'pass'
  python3 - S6/optimizer.safetensors "$v" <<'PY'
import json, struct, sys
p, v = sys.argv[1], float(sys.argv[2])
b = bytearray(open(p, "rb").read())
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
off = 8 + n + h["adam_v"]["data_offsets"][0] + 4 * 5
b[off:off + 4] = struct.pack("<f", v)
open(p, "wb").write(b)
PY
  expect_fail 1 'S6/optimizer.safetensors: element [0-9]+: .*moments must be finite and adam_v >= 0' \
    "$BIN/cft-step" "${TRAIN[@]}" --out A2 --resume S6
done
[ ! -e A2 ] || die "a refused resume wrote a model"

# ---- 2. -o never replaces what is not a regular file; signals leave no temp file ----
head -n 20 d/train.jsonl > s20.jsonl
"$BIN/mkprompt" -q -o /dev/null < s20.jsonl
[ -c /dev/null ] || die "/dev/null is no longer a character device"
mkfifo fifo
cat fifo > from_fifo.jsonl & reader=$!
"$BIN/mkprompt" -q -o fifo < s20.jsonl
wait $reader
[ -p fifo ] || die "the FIFO at -o was replaced"
[ "$(wc -l < from_fifo.jsonl)" = 20 ] || die "the FIFO's reader got $(wc -l < from_fifo.jsonl) lines"
echo old > real.jsonl; ln -s real.jsonl link.jsonl
"$BIN/mkprompt" -q -o link.jsonl < s20.jsonl
[ -L link.jsonl ] || die "the symlink at -o was replaced by a file"
[ "$(wc -l < real.jsonl)" = 20 ] || die "the symlink's target was not written"
mkdir outdir
expect_fail 3 'outdir: is a directory' "$BIN/mkprompt" -q -o outdir < s20.jsonl
# SIGTERM while the output is open: the temp file goes, the target never appears
( sleep 30 | "$BIN/mkprompt" -q -o term.jsonl ) & pipe=$!
for i in $(seq 100); do ls term.jsonl.tmp.* >/dev/null 2>&1 && break; sleep 0.1; done
ls term.jsonl.tmp.* >/dev/null 2>&1 || die "mkprompt never opened its temp file"
pkill -TERM -f 'mkprompt -q -o term.jsonl' || true
for i in $(seq 50); do ls term.jsonl.tmp.* >/dev/null 2>&1 || break; sleep 0.1; done
pkill -f 'sleep 30' || true; wait $pipe 2>/dev/null || true
! ls term.jsonl* >/dev/null 2>&1 || die "SIGTERM left $(ls term.jsonl*)"

# ---- 3. sizes: the file bounds the model; positions bound the text ----
mkdir big; cp m/model.safetensors m/tokenizer.model big/
python3 -c "import json; c=json.load(open('m/config.json')); c['vocab_size']=4194304; json.dump(c, open('big/config.json','w'))"
# (release build: under 1 GB of address space, which the 2 GB the config claims would not fit)
lim=unlimited; [ "$asan" = 0 ] && lim=1000000
expect_fail 1 "big/model.safetensors: tensor 'model.embed_tokens.weight': shape \[[0-9]+, 32\] does not match config.json \(expected \[4194304, 32\]\)" \
  sh -c "ulimit -v $lim; timeout 20 \"$BIN/ckpt-tool\" --check big"
"$BIN/mkprompt" -q < s20.jsonl > p20.jsonl
python3 -c "
import json
r = json.loads(open('p20.jsonl').readline())
r['prompt'] = r['prompt'] + ' word' * 400
print(json.dumps(r))" > long.jsonl
expect_fail 1 '<stdin>:1: prompt: [0-9]+ tokens \+ --max-new-tokens 16 exceed the model.s max_position_embeddings 256' \
  sh -c "\"$BIN/decode\" --model m --max-new-tokens 16 -q < long.jsonl"
python3 -c "
import json
print(json.dumps({'id': 0, 'predict': ['x' + ' word' * 400]}))" > longpred.jsonl
expect_fail 1 '<stdin>:1: predict\[0\]: [0-9]+ tokens exceed the model.s max_position_embeddings 256' \
  sh -c "\"$BIN/ground\" --model m --items d/items.jsonl --no-cache -q < longpred.jsonl"
# inference holds the weights alone: SmolLM2's check fits in 1.4 GB of address space (weights
# 514 MB, mapped file 514 MB); gradients and AdamW moments would need 1.6 GB more.
# (ASan reserves terabytes of address space, so this check runs on the release build only.)
S="$ROOT/build/models/smollm2"
if [ "$asan" = 0 ] && [ -f "$S/config.json" ]; then
  # plus the address space the CUDA libraries take when the build links them (mapped, not used)
  cu=$(ldd "$BIN/ckpt-tool" | awk '/libcublas|libcudart/ {print $3}' | xargs -r du -kL | awk '{s += $1} END {print s + 0}')
  ( ulimit -v $((1400000 + cu)); "$BIN/ckpt-tool" --check "$S" > /dev/null ) || die "ckpt-tool --check on SmolLM2 needs more than 1.4 GB (+ ${cu} kB of CUDA libraries)"
fi

# ---- 4. FIFOs in a checkpoint: refused at once, never waited on ----
for f in model.safetensors config.json; do
  rm -rf ff; cp -r m ff; rm ff/$f; mkfifo ff/$f
  expect_fail 3 "ff/$f: not a regular file" timeout 10 "$BIN/ckpt-tool" --check ff
  expect_fail 3 "ff/$f: not a regular file" timeout 10 sh -c "\"$BIN/decode\" --model ff --max-new-tokens 16 -q < p20.jsonl"
  expect_fail 3 "ff/$f: not a regular file" timeout 10 "$BIN/cft-step" "${COMMON[@]}" --init ff --out F1
done
rm -rf ff; cp -r m ff; rm ff/model.safetensors; mkfifo ff/model.safetensors
expect_fail 3 "ff/model.safetensors: not a regular file" timeout 10 "$BIN/st-info" ff/model.safetensors

# ---- 5. records: UTF-8, ids, emptiness ----
printf '{"id": 1, "user": "u", "history": [{"item": "a", "title": "ok", "ts": 1}, {"item": "b", "title": "caf\xe9", "ts": 2}], "target": {"item": "c", "title": "t", "ts": 3}, "split": "test"}\n' > latin1.jsonl
expect_fail 1 '^mkprompt: <stdin>:1: history\[1\]\.title: invalid UTF-8 \(byte [0-9]+ of the line\)$' sh -c "\"$BIN/mkprompt\" < latin1.jsonl"
printf '{"user": "u1", "item": "i1", "title": "Caf\xe9", "ts": 5}\n' > inter.jsonl
expect_fail 1 '^split811: <stdin>:1: title: invalid UTF-8' sh -c "\"$BIN/split811\" -o sp < inter.jsonl"
{ head -n 1 p20.jsonl; printf '{"id": 99, "prompt": "Caf\xe9"}\n'; } > badp.jsonl
expect_fail 1 '^decode: <stdin>:2: prompt: invalid UTF-8' sh -c "\"$BIN/decode\" --model m --max-new-tokens 16 -q < badp.jsonl"
printf '{"id": 0, "predict": ["Caf\xe9"]}\n' > badg.jsonl
expect_fail 1 '^ground: <stdin>:1: predict\[0\]: invalid UTF-8' sh -c "\"$BIN/ground\" --model m --items d/items.jsonl --no-cache -q < badg.jsonl"
{ head -n 3 d/items.jsonl; printf '{"id": 3, "item": "zz", "title": "Caf\xe9", "count": 0}\n'; } > items_bad.jsonl
echo '{"id": 0, "items": [0, 1]}' > rk.jsonl
expect_fail 1 '^metrics: items_bad\.jsonl:4: title: invalid UTF-8' "$BIN/metrics" --truth d/valid.jsonl --items items_bad.jsonl --ranked rk.jsonl
# ids: duplicates, strings, fractions, negatives
{ head -n 2 s20.jsonl; head -n 1 s20.jsonl; } > dup.jsonl
expect_fail 1 '^mkprompt: <stdin>:3: id: duplicate id [0-9]+ \(first on line 1\)$' sh -c "\"$BIN/mkprompt\" < dup.jsonl"
{ head -n 2 p20.jsonl; head -n 1 p20.jsonl; } > dupp.jsonl
expect_fail 1 '^decode: <stdin>:3: id: duplicate id [0-9]+ \(first on line 1\)$' sh -c "\"$BIN/decode\" --model m --max-new-tokens 16 -q < dupp.jsonl"
printf '{"id": 4, "predict": ["a"]}\n{"id": 4, "predict": ["b"]}\n' > dupg.jsonl
expect_fail 1 '^ground: <stdin>:2: id: duplicate id 4 \(first on line 1\)$' sh -c "\"$BIN/ground\" --model m --items d/items.jsonl --no-cache -q < dupg.jsonl"
head -n 1 p20.jsonl | jq -c '.id = "7"' > sid.jsonl
expect_fail 1 '^decode: <stdin>:1: id: expected a number$' sh -c "\"$BIN/decode\" --model m --max-new-tokens 16 -q < sid.jsonl"
printf '{"id": 1.5, "predict": ["a"]}\n' > fid.jsonl
expect_fail 1 '^ground: <stdin>:1: id: expected an integer$' sh -c "\"$BIN/ground\" --model m --items d/items.jsonl --no-cache -q < fid.jsonl"
head -n 1 p20.jsonl | jq -c '.id = -2' > nid.jsonl
expect_fail 1 '^decode: <stdin>:1: id: -2 is negative$' sh -c "\"$BIN/decode\" --model m --max-new-tokens 16 -q < nid.jsonl"
# nothing to do is an error, and writes nothing
expect_fail 1 '^mkprompt: <stdin>: no samples \(empty input\)$' sh -c "\"$BIN/mkprompt\" -o e1.jsonl < /dev/null"
expect_fail 1 '^decode: <stdin>: no prompts \(empty input\)$' sh -c "\"$BIN/decode\" --model m --max-new-tokens 16 -o e2.jsonl < /dev/null"
expect_fail 1 '^ground: <stdin>: no prediction records \(empty input\)$' sh -c "\"$BIN/ground\" --model m --items d/items.jsonl --no-cache -o e3.jsonl < /dev/null"
! ls e1.jsonl* e2.jsonl* e3.jsonl* >/dev/null 2>&1 || die "an empty run left output: $(ls e*.jsonl*)"

# ---- 6. ckpt-tool --check loads the tokenizer as the tools do ----
rm -rf tk; cp -r m tk; : > tk/tokenizer.model
expect_fail 1 'tk/tokenizer.model: not a sentencepiece model' "$BIN/ckpt-tool" --check tk
head -c 4096 /dev/urandom > tk/tokenizer.model
expect_fail 1 'tk/tokenizer.model: not a sentencepiece model' "$BIN/ckpt-tool" --check tk
echo ok
