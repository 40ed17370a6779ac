"""Independent oracle for `ckpt-tool --import-gguf`: runs the GGUF file itself, the way
llama.cpp computes it, and compares three implementations of the same network.

  oracle  gguf-py dequantises the tensors straight from the GGUF file (no import involved),
          a float64 PyTorch forward applies RoPE as llama.cpp does for the architecture:
          `llama` pairs adjacent elements (x[2i], x[2i+1]) of the converter-permuted Q/K rows,
          `qwen2` pairs x[i] with x[i + HD/2] (NeoX) on unpermuted rows.
  C       `model-check logits` on the imported checkpoint (training forward at every
          position, KV-cache inference at the last), after the importer un-permuted Q/K.
  HF      transformers' LlamaForCausalLM / Qwen2ForCausalLM loading the imported directory.

If the importer's un-permutation (or anything else) were wrong, the C and HF logits would
agree with each other but not with the oracle. Tolerance: max|x - oracle| <= 1e-4 * max|oracle|
over every position's logits.

usage: gguf_model_oracle.py GGUF CKPT_DIR CDUMP_DIR IDS [LAYERS]
  IDS comma-separated token ids; LAYERS > 0 runs only the first LAYERS blocks (a slice; C was
  run with --keep-layers LAYERS and HF is loaded with num_hidden_layers=LAYERS).
"""
import math
import sys

import numpy as np
import torch
from gguf import GGUFReader
from gguf.quants import dequantize

torch.set_num_threads(2)
path, ckpt, cdump, ids_s = sys.argv[1:5]
keep = int(sys.argv[5]) if len(sys.argv) > 5 else 0
ids = [int(x) for x in ids_s.split(",")]
r = GGUFReader(path)
arch = bytes(r.fields["general.architecture"].parts[-1]).decode()


def scalar(key, default=None):
    f = r.fields.get(f"{arch}.{key}")
    return default if f is None else f.parts[-1][0].item()


L, C = scalar("block_count"), scalar("embedding_length")
NH = scalar("attention.head_count")
KVH = scalar("attention.head_count_kv", NH)
HD = C // NH
eps = scalar("attention.layer_norm_rms_epsilon")
theta = scalar("rope.freq_base", 10000.0)
if keep:
    L = keep
tensors = {t.name: t for t in r.tensors}


def W(name):
    t = tensors[name]
    a = dequantize(t.data, t.tensor_type)
    return torch.tensor(np.asarray(a, dtype=np.float64).reshape([int(x) for x in reversed(t.shape)]))


def rmsnorm(x, w):
    return w * (x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + eps))


T = len(ids)
pos = torch.arange(T, dtype=torch.float64)
inv = theta ** (-torch.arange(0, HD, 2, dtype=torch.float64) / HD)      # (HD/2)
ang = pos[:, None] * inv[None, :]                                         # (T, HD/2)
cos, sin = ang.cos(), ang.sin()


def rope(x):  # x (T, H, HD)
    if arch == "llama":            # llama.cpp LLAMA_ROPE_TYPE_NORM: adjacent pairs
        x0, x1 = x[..., 0::2], x[..., 1::2]
        c, s = cos[:, None, :], sin[:, None, :]
        out = torch.empty_like(x)
        out[..., 0::2] = x0 * c - x1 * s
        out[..., 1::2] = x0 * s + x1 * c
        return out
    h = HD // 2                    # NeoX: halves
    x0, x1 = x[..., :h], x[..., h:]
    c, s = cos[:, None, :], sin[:, None, :]
    return torch.cat([x0 * c - x1 * s, x0 * s + x1 * c], dim=-1)


x = W("token_embd.weight")[ids]                                           # (T, C)
mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
for l in range(L):
    p = f"blk.{l}."
    h = rmsnorm(x, W(p + "attn_norm.weight"))
    q, k, v = (h @ W(p + f"attn_{n}.weight").T for n in "qkv")
    if p + "attn_q.bias" in tensors:
        q, k, v = q + W(p + "attn_q.bias"), k + W(p + "attn_k.bias"), v + W(p + "attn_v.bias")
    q, k, v = rope(q.view(T, NH, HD)), rope(k.view(T, KVH, HD)), v.view(T, KVH, HD)
    k = k.repeat_interleave(NH // KVH, dim=1)
    v = v.repeat_interleave(NH // KVH, dim=1)
    s = torch.einsum("thd,shd->hts", q, k) / math.sqrt(HD)
    s = s.masked_fill(~mask[None], float("-inf"))
    a = torch.einsum("hts,shd->thd", torch.softmax(s, -1), v).reshape(T, NH * HD)
    x = x + a @ W(p + "attn_output.weight").T
    h = rmsnorm(x, W(p + "ffn_norm.weight"))
    g, u = h @ W(p + "ffn_gate.weight").T, h @ W(p + "ffn_up.weight").T
    x = x + (torch.nn.functional.silu(g) * u) @ W(p + "ffn_down.weight").T
head = W("output.weight") if "output.weight" in tensors else W("token_embd.weight")
ref = (rmsnorm(x, W("output_norm.weight")) @ head.T).numpy()              # (T, V)
V = ref.shape[1]
scale = np.abs(ref).max()


def check(name, got):
    err = np.abs(got.astype(np.float64) - ref[-got.shape[0]:]).max()
    print(f"{name}: max|err| {err:.3g}, relative to max|logit| {scale:.3g}: {err / scale:.3g}")
    return err <= 1e-4 * scale


ok = True
c_all = np.fromfile(f"{cdump}/logits.bin", dtype=np.float32).reshape(T, V)
c_last = np.fromfile(f"{cdump}/last.bin", dtype=np.float32).reshape(1, V)
ok &= check("C training forward (every position)", c_all)
ok &= check("C KV-cache inference (last position)", c_last)

from transformers import AutoModelForCausalLM  # noqa: E402

kw = {"num_hidden_layers": keep} if keep else {}
hf = AutoModelForCausalLM.from_pretrained(ckpt, torch_dtype=torch.float32, **kw)
with torch.no_grad():
    hl = hf(torch.tensor([ids])).logits[0].numpy()
ok &= check(f"HF {type(hf).__name__} on the imported directory", hl)
# the comparison must be able to fail: rotate-half RoPE on the raw GGUF rows is wrong for
# llama, and the oracle has to see that (a sign that the permutation is real, not a no-op)
agree_top = (c_all.argmax(-1) == ref.argmax(-1)).mean()
print(f"top-1 agreement C vs oracle: {agree_top:.3f}")
print("gguf oracle ok" if ok else "gguf oracle FAILED")
sys.exit(0 if ok else 1)
