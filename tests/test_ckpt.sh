#!/bin/bash
# Checkpoint directories: byte-identical round trip (load + save), read by the reference
# safetensors package, BF16 HF-style checkpoints converted exactly, atomic replace that
# refuses to clobber a non-checkpoint directory, and hostile/corrupt checkpoints refused
# with one line naming file, tensor/key and problem.
source "$ROOT/tests/lib.sh"
games_samples 20 500
cat > tied.json <<'J'
{"hidden_size": 32, "intermediate_size": 40, "num_hidden_layers": 2, "num_attention_heads": 4,
 "num_key_value_heads": 2, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "max_position_embeddings": 128,
 "tie_word_embeddings": true}
J
sed 's/"tie_word_embeddings": true/"tie_word_embeddings": false/' tied.json > untied.json
"$BIN/ckpt-tool" --init tied.json A --tokenizer tok.model --seed 3
"$BIN/ckpt-tool" --init untied.json U --tokenizer tok.model --seed 3
for x in A U; do
  "$BIN/ckpt-tool" --copy $x $x.1 && "$BIN/ckpt-tool" --copy $x.1 $x.2
  for f in config.json model.safetensors tokenizer.model; do same $x/$f $x.1/$f; same $x/$f $x.2/$f; done
done
"$BIN/ckpt-tool" --check A > a.json
grep -q '"parameters": 30112, "vocab_size": 500, .*"tied": true, "tokenizer": true' a.json || die "check: $(cat a.json)"
# the reference implementation reads our file; names are HF Qwen2's; BF16 -> F32 conversion is exact
"$PY" - <<'PY' || die "reference safetensors / bf16 check failed"
import json, os, shutil, torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
with safe_open("U/model.safetensors", "pt") as f:
    assert f.metadata() == {"format": "pt"}
    keys = set(f.keys())
assert "lm_head.weight" in keys and "model.layers.1.self_attn.k_proj.bias" in keys and len(keys) == 2 + 12 * 2 + 1, keys
assert "lm_head.weight" not in set(load_file("A/model.safetensors"))
cfg = json.load(open("A/config.json"))
assert cfg["architectures"] == ["Qwen2ForCausalLM"] and cfg["model_type"] == "qwen2" and cfg["torch_dtype"] == "float32"
assert (cfg["bos_token_id"], cfg["eos_token_id"], cfg["pad_token_id"], cfg["vocab_size"]) == (1, 2, 3, 500)
# an HF-style bf16 checkpoint of U
t = load_file("U/model.safetensors")
os.makedirs("H", exist_ok=True)
save_file({k: v.to(torch.bfloat16) for k, v in t.items()}, "H/model.safetensors", metadata={"format": "pt"})
cfg = json.load(open("U/config.json")); cfg["torch_dtype"] = "bfloat16"; cfg["transformers_version"] = "4.40.2"
json.dump(cfg, open("H/config.json", "w"))
PY
"$BIN/ckpt-tool" --copy H H32
"$PY" -c "
import torch
from safetensors.torch import load_file
a = load_file('H/model.safetensors'); b = load_file('H32/model.safetensors')
assert set(a) == set(b)
for k in a: assert b[k].dtype == torch.float32 and torch.equal(a[k].float(), b[k]), k
" || die "bf16 conversion differs"
# atomic replace: a checkpoint is replaced in place, a foreign directory is not
"$BIN/ckpt-tool" --copy U A.1
cmp -s A.1/model.safetensors U/model.safetensors || die "checkpoint not replaced"
ls -d A.1.tmp.* A.1.old.* 2>/dev/null && die "temporary directories left behind"
mkdir foreign && echo precious > foreign/notes.txt
expect_fail 3 'foreign: refusing to replace a directory that is not a checkpoint' "$BIN/ckpt-tool" --copy A foreign
[ "$(cat foreign/notes.txt)" = precious ] || die "foreign directory touched"
# hostile / corrupt checkpoints
mk() { rm -rf "$1"; cp -r A "$1"; }
mk c1; rm c1/config.json
expect_fail 3 'c1/config.json: cannot open' "$BIN/ckpt-tool" --check c1
mk c2; echo '{"hidden_size": ' > c2/config.json
expect_fail 1 'c2/config.json: not a JSON object' "$BIN/ckpt-tool" --check c2
mk c3; sed -i 's/"qwen2"/"mistral"/' c3/config.json
expect_fail 1 'c3/config.json: model_type: expected "qwen2" or "llama"' "$BIN/ckpt-tool" --check c3
# a Qwen2 checkpoint relabelled llama (no attention_bias: none) has biases its config lacks
mk c3b; sed -i 's/"qwen2"/"llama"/' c3b/config.json
expect_fail 1 "c3b/model.safetensors: tensor 'model.layers.0.self_attn.q_proj.bias': not a weight of this Llama config" "$BIN/ckpt-tool" --check c3b
mk c3c; sed -i 's/"model_type":/"attention_bias": false, "model_type":/' c3c/config.json
expect_fail 1 'c3c/config.json: attention_bias: Qwen2 always has q/k/v biases' "$BIN/ckpt-tool" --check c3c
mk c3d; sed -i 's/"qwen2"/"llama"/; s/"model_type":/"mlp_bias": true, "model_type":/' c3d/config.json
expect_fail 1 'c3d/config.json: mlp_bias: only false is supported' "$BIN/ckpt-tool" --check c3d
mk c4; sed -i '/"hidden_size"/d' c4/config.json
expect_fail 1 'c4/config.json: hidden_size: missing key' "$BIN/ckpt-tool" --check c4
mk c5; sed -i 's/"num_key_value_heads":\t2/"num_key_value_heads":\t3/' c5/config.json
expect_fail 1 'c5/config.json: num_attention_heads 4 not divisible by num_key_value_heads 3' "$BIN/ckpt-tool" --check c5
mk c6; sed -i 's/"intermediate_size":\t40/"intermediate_size":\t48/' c6/config.json
expect_fail 1 "c6/model.safetensors: tensor 'model.layers.0.mlp.gate_proj.weight': shape \[40, 32\] does not match config.json \(expected \[48, 32\]\)" "$BIN/ckpt-tool" --check c6
mk c7; sed -i 's/"vocab_size":\t500/"vocab_size":\t1e300/' c7/config.json
expect_fail 1 'c7/config.json: vocab_size: expected an integer' "$BIN/ckpt-tool" --check c7
mk c8; sed -i 's/"tie_word_embeddings":\ttrue/"tie_word_embeddings":\tfalse/' c8/config.json
expect_fail 1 "c8/model.safetensors: tensor 'lm_head.weight': missing" "$BIN/ckpt-tool" --check c8
mk c9; head -c -100 A/model.safetensors > c9/model.safetensors
expect_fail 1 "c9/model.safetensors: tensor 'model.norm.weight': data_offsets .* outside the .*truncated" "$BIN/ckpt-tool" --check c9
mk c10; rm c10/model.safetensors; echo '{}' > c10/model.safetensors.index.json
expect_fail 1 'c10: sharded checkpoints' "$BIN/ckpt-tool" --check c10
for c in c11 c12 c13; do mk $c; done
"$PY" - <<'PY'
import torch
from safetensors.torch import load_file, save_file
t = load_file("A/model.safetensors")
u = dict(t); del u["model.norm.weight"]; save_file(u, "c11/model.safetensors", metadata={"format": "pt"})
u = dict(t); u["model.layers.9.evil"] = torch.zeros(2); save_file(u, "c12/model.safetensors", metadata={"format": "pt"})
u = dict(t); u["model.layers.1.self_attn.v_proj.bias"] = u["model.layers.1.self_attn.v_proj.bias"].clone(); u["model.layers.1.self_attn.v_proj.bias"][3] = float("nan")
save_file(u, "c13/model.safetensors", metadata={"format": "pt"})
PY
expect_fail 1 "c11/model.safetensors: tensor 'model.norm.weight': missing" "$BIN/ckpt-tool" --check c11
expect_fail 1 "c12/model.safetensors: tensor 'model.layers.9.evil': not a weight of this Qwen2 config" "$BIN/ckpt-tool" --check c12
expect_fail 1 "c13/model.safetensors: tensor 'model.layers.1.self_attn.v_proj.bias': non-finite value" "$BIN/ckpt-tool" --check c13
echo ok
