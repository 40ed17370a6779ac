#!/bin/bash
# cft-step --freeze-layers N on a tiny model and real MovieLens-100K prompt records: a short
# fine-tune from an --init checkpoint leaves the frozen tensors of the saved checkpoint
# (embedding, layers < N, and the tied head, which is the embedding) byte-identical to the
# init checkpoint -- with weight decay on, which would move them if AdamW touched them -- and
# changes every trainable one; an untied lm_head keeps training; --resume refuses another N;
# N beyond the layer count is a usage error.
source "$ROOT/tests/lib.sh"
games_samples 40 600
for tied in true false; do
  cat > cfg-$tied.json <<J
{"hidden_size": 32, "intermediate_size": 88, "num_hidden_layers": 3, "num_attention_heads": 4,
 "num_key_value_heads": 2, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "max_position_embeddings": 256,
 "tie_word_embeddings": $tied}
J
done
COMMON=(--train d/train.prompts.jsonl --max-samples 48 --batch 16 --micro-batch 8 --max-len 160 --epochs 1
        --lr 3e-3 --warmup 1 --weight-decay 0.1 --dropout 0.05 --threads 2 --seed 7 -q)
# the init checkpoints: one short run from random weights each
for tied in true false; do
  "$BIN/cft-step" "${COMMON[@]}" --config cfg-$tied.json --tokenizer tok.model --out init-$tied
done
"$BIN/cft-step" "${COMMON[@]}" --init init-true --freeze-layers 2 --out ft-true --save-every 1
"$BIN/cft-step" "${COMMON[@]}" --init init-false --freeze-layers 1 --out ft-false
"$BIN/cft-step" "${COMMON[@]}" --init init-true --freeze-layers 3 --out ft-all   # only model.norm trains
"$BIN/cft-step" "${COMMON[@]}" --init init-true --out ft-none                    # default: nothing frozen
python3 - <<'PY' || die "frozen/trainable tensor check failed"
import json, struct
def tensors(d):
    b = open(d + "/model.safetensors", "rb").read()
    n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n])
    return {k: b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]] for k, v in h.items() if k != "__metadata__"}
def frozen(name, n):
    return n > 0 and (name == "model.embed_tokens.weight" or (name.startswith("model.layers.") and int(name.split(".")[2]) < n))
for init, ft, n in (("init-true", "ft-true", 2), ("init-false", "ft-false", 1), ("init-true", "ft-all", 3), ("init-true", "ft-none", 0)):
    a, b = tensors(init), tensors(ft)
    assert a.keys() == b.keys(), (ft, sorted(set(a) ^ set(b)))
    nf = 0
    for k in a:
        if frozen(k, n):
            assert a[k] == b[k], f"{ft}: frozen {k} changed"; nf += 1
        else:
            assert a[k] != b[k], f"{ft}: trainable {k} did not change"
    per_layer = sum(k.startswith("model.layers.0.") for k in a)
    expect = 0 if n == 0 else 1 + per_layer * n
    assert nf == expect, (ft, nf, expect)
    print(ft, "frozen", nf, "trainable", len(a) - nf)
assert "lm_head.weight" in tensors("ft-false")   # untied: the head was among the changed ones
PY
grep -q '"freeze_layers":	2' ft-true.state/trainer_state.json || die "freeze_layers not in the trainer state args"
expect_fail 2 'freeze_layers is 1 in this run but 2' "$BIN/cft-step" "${COMMON[@]}" --init init-true --freeze-layers 1 --out ft-true --resume ft-true.state
expect_fail 2 'freeze-layers 4: the model has only 3 layers' "$BIN/cft-step" "${COMMON[@]}" --init init-true --freeze-layers 4 --out X
expect_fail 2 'freeze-layers: expected an integer' "$BIN/cft-step" "${COMMON[@]}" --init init-true --freeze-layers -1 --out X
echo ok
