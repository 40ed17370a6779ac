"""PyTorch oracle for the C model math (tools/lib/llm/model.c), fed by `model-check dump`.

Builds the same Qwen2-shaped model in plain torch, in float64 so that the bounds below measure
the C code's float32 error alone (real weights' large gradients made a float32 oracle's own
error matter), with its own RMSNorm, rotate-half RoPE, GQA via repeat_kv, SwiGLU (NOT
transformers), from params0.bin, runs the normal and counterfactual
prompts as two separate, right-padded passes with causal + padding masks, forms
  L_n = sum norm_weight * CE(z_h),  L_c = sum causal_weight * CE(z_h - z_0),  L = L_n + lambda L_c
at the response positions, backpropagates, applies torch.optim.AdamW twice with the same
gradients, and compares with the C dump:
  logits        max|c - t| <= 1e-5 * max|t|   (plus 1e-6 absolute)
  L_n, L_c, L   relative 1e-5
  gradients     per tensor max|c - t| <= 1e-4 * max|t| (+1e-7)
  AdamW params  max|c - t| <= 1e-6 * (1 + max|t|) after two steps
With freeze_layers N > 0 (model-check dump --freeze-layers N) the embedding and layers < N
have requires_grad False in torch (a tied head is the embedding Parameter, so it is frozen
with it, as in torch); their C gradients must be exactly zero and the AdamW steps must leave
them bitwise unchanged, the trainable ones are compared as above.
usage: model_parity.py DUMP_DIR
"""
import json
import math
import sys

import numpy as np
import torch

torch.set_num_threads(1)
d = sys.argv[1]
meta = json.load(open(f"{d}/meta.json"))
V, C, F_ = meta["vocab_size"], meta["hidden_size"], meta["intermediate_size"]
L, NH, KVH = meta["num_hidden_layers"], meta["num_attention_heads"], meta["num_key_value_heads"]
HD = C // NH
eps, theta, tied = meta["rms_norm_eps"], meta["rope_theta"], meta["tie_word_embeddings"]
# the bias tensors must be exactly those the config asks for (names listed by the C table)
has_bias = any(pi["name"].endswith("q_proj.bias") for pi in meta["params"])
assert has_bias == bool(meta.get("attention_bias", 1)), "bias tensors do not match attention_bias"
B, T, Tc, R, lam = meta["B"], meta["T"], meta["Tc"], meta["R"], meta["lambda"]

p0 = np.fromfile(f"{d}/params0.bin", dtype=np.float32)
params = {}
for pi in meta["params"]:
    n = int(np.prod(pi["shape"]))
    params[pi["name"]] = torch.tensor(p0[pi["offset"]:pi["offset"] + n].reshape(pi["shape"]), dtype=torch.float64,
                                      requires_grad=True)
names = [pi["name"] for pi in meta["params"]]
W = params
NF = meta.get("freeze_layers", 0)


def frozen(name):
    if NF == 0:
        return False
    if name == "model.embed_tokens.weight":
        return True
    return name.startswith("model.layers.") and int(name.split(".")[2]) < NF


for n in names:
    if frozen(n):
        params[n].requires_grad_(False)
trainable = [n for n in names if not frozen(n)]


def rmsnorm(x, w):
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def rope(x, pos):  # x (B, H, T, HD); HF rotate-half with fp32 inv_freq
    inv_freq = 1.0 / (theta ** (torch.arange(0, HD, 2, dtype=torch.int64).float() / HD))
    freqs = pos.float()[:, None] * inv_freq[None, :]
    emb = torch.cat([freqs, freqs], dim=-1)
    cos, sin = emb.cos(), emb.sin()
    x1, x2 = x[..., :HD // 2], x[..., HD // 2:]
    rot = torch.cat([-x2, x1], dim=-1)
    return x * cos + rot * sin


def forward(tokens, lengths):
    """tokens (B, T) right-padded; returns final hidden states (B, T, C) after the final norm"""
    Bn, Tn = tokens.shape
    x = W["model.embed_tokens.weight"][tokens]
    pos = torch.arange(Tn)
    valid = torch.arange(Tn)[None, :] < lengths[:, None]            # (B, T) key padding
    causal = torch.tril(torch.ones(Tn, Tn, dtype=torch.bool))
    mask = causal[None, None] & valid[:, None, None, :]              # (B, 1, Tq, Tk)
    for l in range(L):
        pre = f"model.layers.{l}."
        h = rmsnorm(x, W[pre + "input_layernorm.weight"])
        q = h @ W[pre + "self_attn.q_proj.weight"].T
        k = h @ W[pre + "self_attn.k_proj.weight"].T
        v = h @ W[pre + "self_attn.v_proj.weight"].T
        if pre + "self_attn.q_proj.bias" in W:                       # Qwen2; Llama has none
            q = q + W[pre + "self_attn.q_proj.bias"]
            k = k + W[pre + "self_attn.k_proj.bias"]
            v = v + W[pre + "self_attn.v_proj.bias"]
        q = q.view(Bn, Tn, NH, HD).transpose(1, 2)
        k = k.view(Bn, Tn, KVH, HD).transpose(1, 2)
        v = v.view(Bn, Tn, KVH, HD).transpose(1, 2)
        q, k = rope(q, pos), rope(k, pos)
        k = k.repeat_interleave(NH // KVH, dim=1)                    # repeat_kv
        v = v.repeat_interleave(NH // KVH, dim=1)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(HD)
        s = s.masked_fill(~mask, float("-inf"))
        # padded query rows would be all -inf: give them a harmless row (never used)
        s = torch.where(mask.any(-1, keepdim=True), s, torch.zeros_like(s))
        a = torch.softmax(s, dim=-1) @ v
        a = a.transpose(1, 2).reshape(Bn, Tn, NH * HD)
        x = x + a @ W[pre + "self_attn.o_proj.weight"].T
        h = rmsnorm(x, W[pre + "post_attention_layernorm.weight"])
        g = h @ W[pre + "mlp.gate_proj.weight"].T
        u = h @ W[pre + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(g) * u) @ W[pre + "mlp.down_proj.weight"].T
    return rmsnorm(x, W["model.norm.weight"])


head = W["model.embed_tokens.weight"] if tied else W["lm_head.weight"]
tok = torch.tensor(meta["tokens"]).view(B, T)
lens = torch.tensor(meta["lengths"])
rpos = np.array(meta["resp_pos"]).reshape(B, R)
cpos = np.array(meta["cf_resp_pos"]).reshape(B, R)
lab = np.array(meta["resp_label"]).reshape(B, R)
nw = np.array(meta["norm_weight"], dtype=np.float32).reshape(B, R)
cw = np.array(meta["causal_weight"], dtype=np.float32).reshape(B, R)

hid = forward(tok, lens)
items = [(b, r) for b in range(B) for r in range(R) if rpos[b, r] >= 0]
zh = torch.stack([hid[b, rpos[b, r]] for b, r in items]) @ head.T
labels = torch.tensor([lab[b, r] for b, r in items])
ce_h = torch.nn.functional.cross_entropy(zh, labels, reduction="none")
Ln = (torch.tensor([nw[b, r] for b, r in items]) * ce_h).sum()
Lc = torch.zeros(())
logits = [zh]
if Tc > 0:
    ctok = torch.tensor(meta["cf_tokens"]).view(B, Tc)
    clens = torch.tensor(meta["cf_lengths"])
    chid = forward(ctok, clens)
    sel = [i for i, (b, r) in enumerate(items) if cpos[b, r] >= 0]
    z0 = torch.stack([chid[items[i][0], cpos[items[i][0], items[i][1]]] for i in sel]) @ head.T
    logits.append(z0)
    ce_c = torch.nn.functional.cross_entropy(zh[sel] - z0, labels[sel], reduction="none")
    Lc = (torch.tensor([cw[items[i][0], items[i][1]] for i in sel]) * ce_c).sum()
Ltot = Ln + lam * Lc
Ltot.backward()

fail = []


def check(name, c, t, rtol, atol):
    c = np.asarray(c, dtype=np.float64); t = np.asarray(t, dtype=np.float64)
    if c.shape != t.shape:
        fail.append(f"{name}: shape {c.shape} vs {t.shape}"); return
    err = np.max(np.abs(c - t)) if c.size else 0.0
    scale = np.max(np.abs(t)) if t.size else 0.0
    ok = err <= rtol * scale + atol
    print(f"{'ok ' if ok else 'BAD'} {name:60s} maxerr={err:.3e} scale={scale:.3e}")
    if not ok:
        fail.append(name)


zt = torch.cat(logits).detach().numpy()
zc = np.fromfile(f"{d}/logits.bin", dtype=np.float32).reshape(meta["logit_rows"], V)
check("logits", zc, zt, 1e-5, 1e-6)
for key, val in (("Ln", Ln), ("Lc", Lc), ("L", Ltot)):
    for mode in ("eval", "train"):
        if meta["dropout"] > 0 and mode == "train":
            continue
        check(f"{key}_{mode}", meta[f"{key}_{mode}"], val.item(), 1e-5, 1e-7)

g = np.fromfile(f"{d}/grads.bin", dtype=np.float32)


def check_frozen_zero(what, gall):
    for pi in meta["params"]:
        if frozen(pi["name"]):
            n = int(np.prod(pi["shape"]))
            nz = int(np.count_nonzero(gall[pi["offset"]:pi["offset"] + n]))
            print(f"{'ok ' if nz == 0 else 'BAD'} {what} {pi['name']:54s} frozen, nonzero={nz}")
            if nz:
                fail.append(f"{what} {pi['name']} frozen but nonzero")


if NF:
    check_frozen_zero("grad", g)
    gn = math.sqrt(sum(float((params[n].grad.double() ** 2).sum()) for n in trainable))
    check("grad_norm (trainable only)", meta["grad_norm"], gn, 1e-4, 1e-7)
if meta["dropout"] == 0:
    for pi in meta["params"]:
        if frozen(pi["name"]):
            continue
        n = int(np.prod(pi["shape"]))
        gc = g[pi["offset"]:pi["offset"] + n].reshape(pi["shape"])
        check("grad " + pi["name"], gc, params[pi["name"]].grad.numpy(), 1e-4, 1e-7)

    # two AdamW steps with the C gradients (as the C side did): Adam normalises each
    # coordinate, so tiny gradients would turn rounding differences into big update differences
    for pi in meta["params"]:
        if frozen(pi["name"]):
            continue
        n = int(np.prod(pi["shape"]))
        params[pi["name"]].grad = torch.tensor(g[pi["offset"]:pi["offset"] + n].reshape(pi["shape"]), dtype=torch.float64)
    opt = torch.optim.AdamW([params[n] for n in trainable], lr=meta["lr"], betas=(0.9, 0.999), eps=1e-8,
                            weight_decay=meta["wd"])
    opt.step(); opt.step()
    p2 = np.fromfile(f"{d}/params2.bin", dtype=np.float32)
    for pi in meta["params"]:
        n = int(np.prod(pi["shape"]))
        pc = p2[pi["offset"]:pi["offset"] + n].reshape(pi["shape"])
        if frozen(pi["name"]):   # bitwise: no update, no weight decay
            same = pc.tobytes() == p0[pi["offset"]:pi["offset"] + n].tobytes()
            print(f"{'ok ' if same else 'BAD'} adamw {pi['name']:54s} frozen, bitwise unchanged={same}")
            if not same:
                fail.append(f"adamw {pi['name']} frozen but changed")
            continue
        pt = params[pi["name"]].detach().numpy()
        check("adamw " + pi["name"], pc, pt, 1e-6, 1e-6)

    # objective lm (labels = next token, padding masked, mean over tokens) from the updated weights
    with torch.no_grad():
        for pi in meta["params"]:
            n = int(np.prod(pi["shape"]))
            params[pi["name"]].copy_(torch.tensor(p2[pi["offset"]:pi["offset"] + n].reshape(pi["shape"])))
    for n in names:
        params[n].grad = None
    hid = forward(tok, lens)
    pairs = [(b, t) for b in range(B) for t in range(int(lens[b]) - 1)]
    z = torch.stack([hid[b, t] for b, t in pairs]) @ head.T
    y = torch.tensor([int(tok[b, t + 1]) for b, t in pairs])
    lm = torch.nn.functional.cross_entropy(z, y)
    lm.backward()
    check("lm_loss", meta["lm_loss"], lm.item(), 1e-5, 1e-7)
    g2 = np.fromfile(f"{d}/lm_grads.bin", dtype=np.float32)
    if NF:
        check_frozen_zero("lm grad", g2)
    for pi in meta["params"]:
        if frozen(pi["name"]):
            continue
        n = int(np.prod(pi["shape"]))
        gc = g2[pi["offset"]:pi["offset"] + n].reshape(pi["shape"])
        check("lm grad " + pi["name"], gc, params[pi["name"]].grad.numpy(), 1e-4, 1e-7)

if fail:
    print(f"FAIL: {len(fail)} checks: {', '.join(fail[:8])}")
    sys.exit(1)
print("parity ok")
