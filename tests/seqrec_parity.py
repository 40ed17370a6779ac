"""PyTorch oracle for seqrec: rebuild SASRec / GRU4Rec / Caser from the definitions in
tools/lib/seqrec/seqrec_model.h with torch built-ins (F.layer_norm, nn.GRU, F.conv2d, autograd),
load the exact weights `seqrec --parity-dump` wrote, run the same batch, and compare the
loss and every parameter gradient.
usage: seqrec_parity.py DUMP.json   (exit 1 on mismatch)
Tolerance: loss |diff| <= 1e-5 * max(1, |loss|); each gradient tensor
max|c - t| <= 1e-5 + 2e-4 * max|t| (float32 both sides, different summation orders)."""
import json
import math
import sys

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float32)
d = json.load(open(sys.argv[1]))
cfg, kind = d["config"], d["model"]
N, D, L = cfg["n_items"], cfg["hidden"], cfg["max_len"]
P = {k: torch.tensor(v["data"], dtype=torch.float32).reshape(v["shape"]).requires_grad_(True)
     for k, v in d["params"].items()}
items = torch.tensor(d["items"]).reshape(-1, L)
lens = d["len"]
target = torch.tensor(d["target"])
B = items.shape[0]
E = P["item_emb"]


def seq_of(b):
    """the newest n items of sample b; an empty history is one padding item"""
    n = lens[b]
    return items[b, L - n:] if n > 0 else torch.tensor([N])


def sasrec():
    eps, H = cfg["ln_eps"], cfg["heads"]
    hd = D // H
    outs = []
    for b in range(B):
        s = seq_of(b)
        n = len(s)
        x = E[s] + P["pos_emb"][L - n:]
        for l in range(cfg["layers"]):
            g = lambda name: P[f"blocks.{l}.{name}"]
            a = F.layer_norm(x, (D,), g("ln1.weight"), g("ln1.bias"), eps)
            q, k, v = (a @ g("qkv.weight").t()).split(D, dim=1)
            q, k, v = (t.reshape(n, H, hd).transpose(0, 1) for t in (q, k, v))
            sc = q @ k.transpose(1, 2) / math.sqrt(hd)
            causal = torch.ones(n, n, dtype=torch.bool).tril()
            sc = sc.masked_fill(~causal, float("-inf"))
            att = (torch.softmax(sc, dim=-1) @ v).transpose(0, 1).reshape(n, D)
            x = x + att
            f = F.layer_norm(x, (D,), g("ln2.weight"), g("ln2.bias"), eps)
            f = F.linear(torch.relu(F.linear(f, g("ffn1.weight"), g("ffn1.bias"))), g("ffn2.weight"), g("ffn2.bias"))
            x = x + f
        outs.append(F.layer_norm(x[-1], (D,), P["lnf.weight"], P["lnf.bias"], eps))
    return torch.stack(outs)


def gru4rec():
    Hh = cfg["gru_hidden"]
    gru = torch.nn.GRU(D, Hh, batch_first=True)
    # replace nn.GRU's own parameters with the dumped tensors (functional call keeps autograd)
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        delattr(gru, name + "_l0")
        setattr(gru, name + "_l0", P["gru." + name])
    outs = []
    for b in range(B):
        x = E[seq_of(b)].unsqueeze(0)
        _, h = gru(x)
        outs.append(h[0, 0])
    return F.linear(torch.stack(outs), P["dense.weight"], P["dense.bias"])


def caser():
    nh, nv = cfg["nh"], cfg["nv"]
    X = E[items].unsqueeze(1)                                   # (B, 1, L, D)
    ov = F.conv2d(X, P["conv_v.weight"].reshape(nv, 1, L, 1), P["conv_v.bias"]).reshape(B, -1)
    oh = []
    for h in range(1, L + 1):
        c = torch.relu(F.conv2d(X, P[f"conv_h.{h}.weight"].reshape(nh, 1, h, D), P[f"conv_h.{h}.bias"]))
        oh.append(c.squeeze(3).max(dim=2).values)               # (B, nh)
    o = torch.cat([ov] + oh, dim=1)
    z = torch.relu(F.linear(o, P["fc1.weight"], P["fc1.bias"]))
    return F.linear(z, P["fc2.weight"], P["fc2.bias"])


h = {"sasrec": sasrec, "gru4rec": gru4rec, "caser": caser}[kind]()
logits = h @ E[:N].t()
loss = F.cross_entropy(logits, target)
loss.backward()

bad = 0
dl = abs(loss.item() - d["loss"])
ok = dl <= 1e-5 * max(1.0, abs(loss.item()))
bad += not ok
print(f"{kind} loss C {d['loss']:.7f} torch {loss.item():.7f} diff {dl:.2e} {'ok' if ok else 'FAIL'}")
for name, v in d["params"].items():
    c = torch.tensor(v["grad"]).reshape(v["shape"])
    t = P[name].grad
    if t is None:
        t = torch.zeros_like(c)
    err = (c - t).abs().max().item()
    scale = t.abs().max().item()
    ok = err <= 1e-5 + 2e-4 * scale
    bad += not ok
    print(f"{kind} grad {name:24s} max|diff| {err:.2e} max|g| {scale:.2e} {'ok' if ok else 'FAIL'}")
sys.exit(1 if bad else 0)
