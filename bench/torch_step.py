"""PyTorch versions of the CFT training step, for bench/train.sh and bench/smollm2.sh (same
configs as `model-check bench`): micro-batch B (16; smollm2: 4), 12 response tokens at the end
of each row, tied head; A/B are Qwen2-shaped (q/k/v biases), smollm2 is SmolLM2-135M's Llama
shape (no biases; HF LlamaForCausalLM, random weights).
One step = normal pass (B,T) + counterfactual pass (B,Tc) as two full forwards (as the
authors' code does), L = L_n + 0.1 L_c with Eq. 5 token weights, backward, grad-norm clip,
AdamW. Two implementations:
  --impl hf     Hugging Face Qwen2ForCausalLM (eager attention), logits at every position:
                the authors' code path                       -> bench torch-cft-<cfg>
  --impl plain  a lean hand-written torch module (RMSNorm, rotate-half RoPE, GQA, SwiGLU,
                residual dropout 0.05) with logits only at the response positions
                (--full-logits: at every position)           -> bench torch-plain-cft-<cfg>
gflops counts the FLOPs the step performs (full attention squares, logits as computed).
On a GPU (bench/gpu.sh): --device cuda [--bf16] runs the hf implementation there, bf16 autocast
as the authors' HF Trainer (bf16=True) does; the -b64 configs are the paper's batch of 64.
usage: torch_step.py --config A|B|smollm2|smollm2-b64|qwen2.5-b64 [--impl hf|plain] [--iters N]
       [--threads N] [--device cpu|cuda] [--bf16]
"""
import argparse
import math
import time

import torch

CFG = {"A": dict(C=128, L=2, NH=4, KVH=2, F=352, V=4000, T=100, Tc=30, B=16, bias=True),
       "B": dict(C=256, L=4, NH=4, KVH=2, F=704, V=8000, T=160, Tc=48, B=16, bias=True),
       "smollm2": dict(C=576, L=30, NH=9, KVH=3, F=1536, V=49152, T=150, Tc=52, B=4, bias=False),
       "smollm2-b64": dict(C=576, L=30, NH=9, KVH=3, F=1536, V=49152, T=150, Tc=52, B=64, bias=False),
       "qwen2.5-b64": dict(C=896, L=24, NH=14, KVH=2, F=4864, V=151936, T=150, Tc=52, B=64, bias=True)}

ap = argparse.ArgumentParser()
ap.add_argument("--config", required=True, choices=CFG)
ap.add_argument("--iters", type=int, default=5)
ap.add_argument("--warmup", type=int, default=1)
ap.add_argument("--threads", type=int, default=0)
ap.add_argument("--impl", choices=("hf", "plain"), default="hf")
ap.add_argument("--full-logits", action="store_true")
ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
ap.add_argument("--bf16", action="store_true")
a = ap.parse_args()
if a.device == "cuda" and a.impl != "hf":
    ap.error("--device cuda runs the hf implementation (the authors' recipe)")
dev = torch.device(a.device)
c = CFG[a.config]
if a.threads:
    torch.set_num_threads(a.threads)
torch.manual_seed(0)
C, L, NH, KVH, F, V, T, Tc = (c[k] for k in ("C", "L", "NH", "KVH", "F", "V", "T", "Tc"))
HD, B, R, lam, theta, eps, BIAS = C // NH, c["B"], 12, 0.1, 1e6, 1e-6, c["bias"]


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1 = torch.nn.Parameter(torch.ones(C)); self.ln2 = torch.nn.Parameter(torch.ones(C))
        self.q = torch.nn.Linear(C, NH * HD, bias=BIAS); self.k = torch.nn.Linear(C, KVH * HD, bias=BIAS)
        self.v = torch.nn.Linear(C, KVH * HD, bias=BIAS)
        self.o = torch.nn.Linear(NH * HD, C, bias=False)
        self.gate = torch.nn.Linear(C, F, bias=False); self.up = torch.nn.Linear(C, F, bias=False)
        self.down = torch.nn.Linear(F, C, bias=False)
        self.drop = torch.nn.Dropout(0.05)


def rms(x, w):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rope_tables(n):
    inv = 1.0 / (theta ** (torch.arange(0, HD, 2).float() / HD))
    f = torch.arange(n).float()[:, None] * inv[None]
    e = torch.cat([f, f], -1)
    return e.cos(), e.sin()


def rope(x, cs, sn):
    x1, x2 = x[..., :HD // 2], x[..., HD // 2:]
    return x * cs + torch.cat([-x2, x1], -1) * sn


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(V, C)
        self.blocks = torch.nn.ModuleList(Block() for _ in range(L))
        self.norm = torch.nn.Parameter(torch.ones(C))
        for p in self.parameters():
            if p.dim() == 2:
                torch.nn.init.normal_(p, std=0.02)

    def forward(self, tok, lens, pos_sel=None):
        Bn, Tn = tok.shape
        x = self.emb(tok)
        cs, sn = rope_tables(Tn)
        valid = torch.arange(Tn)[None] < lens[:, None]
        mask = torch.tril(torch.ones(Tn, Tn, dtype=torch.bool))[None, None] & valid[:, None, None]
        for blk in self.blocks:
            h = rms(x, blk.ln1)
            q = rope(blk.q(h).view(Bn, Tn, NH, HD).transpose(1, 2), cs, sn)
            k = rope(blk.k(h).view(Bn, Tn, KVH, HD).transpose(1, 2), cs, sn).repeat_interleave(NH // KVH, 1)
            v = blk.v(h).view(Bn, Tn, KVH, HD).transpose(1, 2).repeat_interleave(NH // KVH, 1)
            s = (q @ k.transpose(-1, -2)) / math.sqrt(HD)
            s = s.masked_fill(~mask, -1e9)
            o = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(Bn, Tn, C)
            x = x + blk.drop(blk.o(o))
            h = rms(x, blk.ln2)
            x = x + blk.drop(blk.down(torch.nn.functional.silu(blk.gate(h)) * blk.up(h)))
        x = rms(x, self.norm)
        if pos_sel is not None:          # only the response positions
            x = x[torch.arange(Bn)[:, None], pos_sel]
        return x @ self.emb.weight.T     # tied head


if a.impl == "hf":
    if BIAS:
        from transformers import Qwen2Config as HfConfig, Qwen2ForCausalLM as HfModel
        extra = {}
    else:   # the Llama layout (SmolLM2): no q/k/v biases
        from transformers import LlamaConfig as HfConfig, LlamaForCausalLM as HfModel
        extra = dict(attention_bias=False)
    hcfg = HfConfig(vocab_size=V, hidden_size=C, intermediate_size=F, num_hidden_layers=L, num_attention_heads=NH,
                    num_key_value_heads=KVH, rope_theta=theta, rms_norm_eps=eps, tie_word_embeddings=True,
                    max_position_embeddings=4096, **extra)
    hcfg._attn_implementation = "eager"
    hf = HfModel(hcfg)

    class HF(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.m = hf

        def forward(self, tok, lens, pos_sel=None):
            am = (torch.arange(tok.shape[1], device=tok.device)[None] < lens[:, None]).long()
            return self.m(input_ids=tok, attention_mask=am).logits
    m = HF()
    a.full_logits = True
else:
    m = Model()
a.resp_logits = not a.full_logits
m = m.to(dev)
opt = torch.optim.AdamW(m.parameters(), lr=1e-4, weight_decay=0.0)
tok = torch.randint(2, V, (B, T))
shared = Tc - R - 8
ctok = torch.randint(2, V, (B, Tc))
ctok[:, :shared] = tok[:, :shared]
ctok[:, Tc - R:] = tok[:, T - R:]
lens, clens = torch.full((B,), T), torch.full((B,), Tc)
rpos = torch.arange(T - R - 1, T - 1)[None].repeat(B, 1)          # predicts tokens T-R..T-1
cpos = torch.arange(Tc - R - 1, Tc - 1)[None].repeat(B, 1)
labels = tok[:, T - R:]
w = 1.0 - (1.0 - 0.75) * torch.arange(R).float() / (R - 1)     # Eq. 5, beta 0.25
w = (w[None].repeat(B, 1) / (w.sum() * B))
tok, ctok, lens, clens, rpos, cpos, labels, w = (x.to(dev) for x in (tok, ctok, lens, clens, rpos, cpos, labels, w))
bidx = torch.arange(B, device=dev)[:, None]


def sync():
    if a.device == "cuda":
        torch.cuda.synchronize()


def step():
    opt.zero_grad()
    with torch.autocast(a.device, dtype=torch.bfloat16, enabled=a.bf16):
        if a.resp_logits:
            zh = m(tok, lens, rpos)
            z0 = m(ctok, clens, cpos)
        else:
            zh = m(tok, lens)[bidx, rpos]
            z0 = m(ctok, clens)[bidx, cpos]
    zh, z0 = zh.float(), z0.float()
    ce = torch.nn.functional.cross_entropy
    ln = (w * ce(zh.reshape(-1, V), labels.reshape(-1), reduction="none").view(B, R)).sum()
    lc = (w * ce((zh - z0).reshape(-1, V), labels.reshape(-1), reduction="none").view(B, R)).sum()
    (ln + lam * lc).backward()
    torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
    opt.step()


def flops():
    per_tok = 2 * (C * NH * HD + 2 * C * KVH * HD + NH * HD * C + 3 * C * F) * L
    tot = 0
    for n in (T, Tc):
        att = 4 * n * n * HD * NH * L          # full score and value squares
        head = 2 * (R if a.resp_logits else n) * C * V
        tot += B * (n * per_tok + att + head)
    return 3 * tot                              # forward + backward (2x)


m.train()
for _ in range(a.warmup):
    step()
sync()
t0, c0 = time.time(), time.process_time()
for _ in range(a.iters):
    step()
sync()
dt = (time.time() - t0) / a.iters
cpu = (time.process_time() - c0) / a.iters
name = f"torch-{'' if a.impl == 'hf' else 'plain-'}cft{'-fulllogits' if a.impl == 'plain' and a.full_logits else ''}-{a.config}"
print(f"bench {name} samples_per_s={B / dt:.2f} gflops={flops() / dt / 1e9:.1f} step_ms={dt * 1e3:.1f} "
      f"cpu_ms={cpu * 1e3:.1f} threads={torch.get_num_threads()} device={a.device}{' bf16' if a.bf16 else ''}", flush=True)
