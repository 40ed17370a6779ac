#!/bin/bash
# GGUF import (`ckpt-tool --import-gguf`) of the real pretrained backbones, checked against an
# oracle that runs the GGUF file itself with llama.cpp's semantics (tests/gguf_model_oracle.py:
# gguf-py dequantisation, llama's interleaved RoPE on the converter-permuted Q/K rows, Qwen2's
# NeoX RoPE), so the importer's un-permutation is proven by numbers:
#  - SmolLM2-135M (llama, Q4_1/Q8_0): logits at every position of our training forward, of our
#    KV-cache inference and of HF LlamaForCausalLM on the imported directory, <= 1e-4 relative;
#    a copy with Q/K left permuted must fail the same oracle; a greedy continuation of 20
#    tokens from `decode` equal to HF generate(); a CFT step's loss, logits, every gradient and
#    AdamW on a 2-layer slice of the real weights against PyTorch (tests/model_parity.py);
#  - Qwen2.5-0.5B (qwen2, Q5_0/Q8_0/Q4_K/Q6_K, untied head, q/k/v biases) from its six raw
#    parts: the same three-way logits check on the whole model;
#  - refusals: an architecture or pre-tokeniser we do not compute, a missing part.
source "$ROOT/tests/lib.sh"
SMOL=$ROOT/build/backbones/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
QW=$ROOT/build/backbones/qwen2.5
[ -f "$SMOL" ] && [ -f "$QW/part06.bin" ] || die "backbone files missing: run 'make backbones' (tools/fetch-backbone.sh)"

"$BIN/ckpt-tool" -q --import-gguf "$SMOL" -o smol
"$PY" - smol <<'PY'
import json, sys
c = json.load(open(sys.argv[1] + "/config.json"))
want = dict(model_type="llama", hidden_size=576, num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3,
            intermediate_size=1536, vocab_size=49152, tie_word_embeddings=True, attention_bias=False, rope_theta=100000.0,
            bos_token_id=1, eos_token_id=2, pad_token_id=2, architectures=["LlamaForCausalLM"])
bad = {k: (c.get(k), v) for k, v in want.items() if c.get(k) != v}
assert not bad, bad
t = json.load(open(sys.argv[1] + "/tokenizer_config.json"))
assert t["eos_token"] == "<|im_end|>" and t["chat_template"].startswith("{% for message"), t
PY
ids=$("$PY" -c "
from tokenizers import Tokenizer
t = Tokenizer.from_file('smol/tokenizer.json')
print(','.join(map(str, t.encode('The capital of France is Paris. The capital of Germany is').ids)))")
"$BIN/model-check" logits --init smol --ids "$ids" --out cs > /dev/null
"$PY" "$ROOT/tests/gguf_model_oracle.py" "$SMOL" smol cs "$ids" > oracle.log 2>&1 || { cat oracle.log; die "SmolLM2 import disagrees with the GGUF oracle"; }
cat oracle.log

# the oracle must be able to fail: put llama.cpp's Q/K permutation back into a copy
mkdir perm && cp smol/config.json smol/tokenizer.json perm/
"$PY" - smol perm <<'PY'
import sys
from safetensors.numpy import load_file, save_file
w = load_file(sys.argv[1] + "/model.safetensors")
def permute(x, n):  # llama.cpp convert_hf_to_gguf.LlamaModel.permute
    return x.reshape(n, 2, x.shape[0] // n // 2, *x.shape[1:]).swapaxes(1, 2).reshape(x.shape)
for k in w:
    if k.endswith("q_proj.weight"): w[k] = permute(w[k], 9)
    if k.endswith("k_proj.weight"): w[k] = permute(w[k], 3)
save_file(w, sys.argv[2] + "/model.safetensors", metadata={"format": "pt"})
PY
"$BIN/model-check" logits --init perm --ids "$ids" --out cp > /dev/null
if "$PY" "$ROOT/tests/gguf_model_oracle.py" "$SMOL" perm cp "$ids" > perm.log 2>&1; then die "oracle accepted permuted Q/K rows"; fi
grep -q "gguf oracle FAILED" perm.log || die "permuted import not reported: $(tail -3 perm.log)"

# greedy continuation: decode (1 beam) == HF generate(do_sample=False)
echo "{\"id\": 1, \"prompt_ids\": [$ids]}" > p.jsonl
"$BIN/decode" --model smol --prompt-ids --beams 1 --return 1 --max-new-tokens 20 --threads 2 -q < p.jsonl > g.jsonl
"$PY" - smol g.jsonl "$ids" <<'PY'
import json, sys, torch
from transformers import AutoModelForCausalLM
m = AutoModelForCausalLM.from_pretrained(sys.argv[1], torch_dtype=torch.float32)
ids = [int(x) for x in sys.argv[3].split(",")]
out = m.generate(torch.tensor([ids]), max_new_tokens=20, do_sample=False, num_beams=1, eos_token_id=2, pad_token_id=2)
hf = out[0, len(ids):].tolist()
if 2 in hf: hf = hf[:hf.index(2)]
ours = json.loads(open(sys.argv[2]).readline())["predict_ids"][0]
from tokenizers import Tokenizer
tk = Tokenizer.from_file(sys.argv[1] + "/tokenizer.json")
print("greedy continuation:", repr(tk.decode(ours)))
assert ours == hf, (ours, hf)
assert len(ours) == 20, "20 new tokens expected (no EOS in this continuation)"
PY

# a CFT step on a 2-layer slice of the real weights vs PyTorch (logits, L_n, L_c, gradients, AdamW)
"$BIN/model-check" dump --init smol --keep-layers 2 --out slice --batch 2 --len 20 --cf-len 12 --resp 4 --lambda 0.3 --beta 0.25 --threads 2
"$PY" "$ROOT/tests/model_parity.py" slice > slice.log 2>&1 || { cat slice.log; die "CFT step on the SmolLM2 slice disagrees with PyTorch"; }
grep -q "parity ok" slice.log || die "no verdict on the slice"

# Qwen2.5 from its six raw parts (one GGUF file): the whole model, three ways
"$BIN/ckpt-tool" -q --import-gguf "$QW"/part0{1,2,3,4,5,6}.bin -o qwen
grep -q '"tie_word_embeddings":	false' qwen/config.json || die "qwen2.5 head should be untied (the file has output.weight)"
cat "$QW"/part0{1,2,3,4,5,6}.bin > qwen.gguf
qids=$("$PY" -c "
from tokenizers import Tokenizer
t = Tokenizer.from_file('qwen/tokenizer.json')
print(','.join(map(str, t.encode('def fibonacci(n):\n    # return the n-th Fibonacci number').ids)))")
"$BIN/model-check" logits --init qwen --ids "$qids" --out cq > /dev/null
"$PY" "$ROOT/tests/gguf_model_oracle.py" qwen.gguf qwen cq "$qids" > q.log 2>&1 || { cat q.log; die "Qwen2.5 import disagrees with the GGUF oracle"; }
cat q.log
rm -rf qwen qwen.gguf

# refusals, each one line naming the file and the key
"$PY" - <<'PY'
import numpy as np
from gguf import GGUFWriter
def tiny(path, arch="llama", pre="smollm", extra=None, drop=None):
    w = GGUFWriter(path, arch)
    w.add_block_count(1); w.add_embedding_length(8); w.add_feed_forward_length(16); w.add_head_count(2)
    w.add_head_count_kv(1); w.add_context_length(64); w.add_layer_norm_rms_eps(1e-5); w.add_rope_freq_base(1e4)
    w.add_tokenizer_model("gpt2"); w.add_tokenizer_pre(pre)
    toks = ["a", "b", "c", "ab"]
    w.add_token_list(toks); w.add_token_types([1] * 4); w.add_token_merges(["a b"])
    if extra: extra(w)
    r = np.random.default_rng(0)
    t = {"token_embd.weight": (4, 8), "output_norm.weight": (8,), "blk.0.attn_norm.weight": (8,),
         "blk.0.attn_q.weight": (8, 8), "blk.0.attn_k.weight": (4, 8), "blk.0.attn_v.weight": (4, 8),
         "blk.0.attn_output.weight": (8, 8), "blk.0.ffn_norm.weight": (8,), "blk.0.ffn_gate.weight": (16, 8),
         "blk.0.ffn_up.weight": (16, 8), "blk.0.ffn_down.weight": (8, 16)}
    for n, s in t.items():
        if n != drop: w.add_tensor(n, r.standard_normal(s).astype(np.float32))
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
tiny("ok.gguf")
tiny("arch.gguf", arch="gpt2")
tiny("pre.gguf", pre="deepseek-llm")
tiny("scaling.gguf", extra=lambda w: w.add_string("llama.rope.scaling.type", "yarn"))
tiny("missing.gguf", drop="blk.0.ffn_up.weight")
PY
"$BIN/ckpt-tool" -q --import-gguf ok.gguf -o tiny || die "tiny llama import failed"
"$BIN/ckpt-tool" --check tiny > /dev/null || die "tiny import does not load"
expect_fail 1 "arch.gguf: key 'general.architecture': 'gpt2' is not supported" "$BIN/ckpt-tool" --import-gguf arch.gguf -o x
expect_fail 1 "pre.gguf: key 'tokenizer.ggml.pre': pre-tokeniser 'deepseek-llm' is not supported" "$BIN/ckpt-tool" --import-gguf pre.gguf -o x
expect_fail 1 "scaling.gguf: key 'llama.rope.scaling.type': RoPE scaling 'yarn' is not supported" "$BIN/ckpt-tool" --import-gguf scaling.gguf -o x
expect_fail 1 "missing.gguf: tensor 'blk.0.ffn_up.weight': missing" "$BIN/ckpt-tool" --import-gguf missing.gguf -o x
expect_fail 2 "needs FILE.gguf" "$BIN/ckpt-tool" --import-gguf -o x
[ ! -e x ] || die "a refused import left x behind"
echo "gguf import ok"
