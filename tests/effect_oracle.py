"""Oracle for `cft-step --eval --effect` (CFT's premises per position, Sec. 3.2.2 and footnote 3):
HF transformers' LlamaForCausalLM loads the checkpoint directory, HF `tokenizers` encodes the
records and decodes response prefixes, and every statistic of the effect JSON is recomputed in
float64 from HF's logits: per response position t (KL(p_h || p_0), |delta logit|, |delta log p|,
argmax accuracy with and without the history and given the response prefix alone), the same per
title token (the title's tokens found from the decoded length of response prefixes), and the
first/last summaries. Tolerance: 1e-3 relative (1e-4 absolute) on the means; an accuracy may
differ only where the top two logits are within 1e-3 (a float tie).
usage: effect_oracle.py CKPT_DIR PAIRS.jsonl EFFECT.json BETA"""
import json, math, sys
import torch
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM

ckpt, pairs, eff_path, beta = sys.argv[1:5]
beta = float(beta)
torch.set_num_threads(2)
model = AutoModelForCausalLM.from_pretrained(ckpt, torch_dtype=torch.float32, attn_implementation="eager").eval()
tok = Tokenizer.from_file(ckpt + "/tokenizer.json")
eos = model.config.eos_token_id
recs = [json.loads(l) for l in open(pairs)]
enc = lambda s: tok.encode(s, add_special_tokens=False).ids

def logits(seq):
    with torch.no_grad():
        return model(input_ids=torch.tensor([seq])).logits[0].double()

def weight(t, ny):
    return 1.0 if ny <= 1 else 1.0 - (1.0 - beta) * (t - 1) / (ny - 1)

def acc(z, y):
    """1/0 when the argmax is clear, None on a float tie between the top two"""
    top = torch.topk(z, 2)
    if top.values[0] - top.values[1] < 1e-3 and y in top.indices.tolist(): return None
    return int(top.indices[0].item() == y)

stats = {}   # key -> list of per-token dicts
def add(key, d): stats.setdefault(key, []).append(d)
for r in recs:
    p, y, c = enc(r["prompt"]), enc(r["response"]) + [eos], enc(r["cf_prompt"])
    zh = logits(p + y)[len(p) - 1:len(p) - 1 + len(y)]
    z0 = logits(c + y)[len(c) - 1:len(c) - 1 + len(y)]
    zp = logits(y)                                    # response alone: row k-1 predicts y[k]
    text = tok.decode(y[:-1], skip_special_tokens=False)
    assert text.startswith('"') and text.endswith('"\n'), text
    tlen = len(text.encode()) - 3
    blen = lambda k: len(tok.decode(y[:k], skip_special_tokens=False).encode())
    span = [k for k in range(len(y) - 1) if blen(k + 1) > 1 and blen(k) < 1 + tlen]
    ny = len(y)
    for k in range(ny):
        lh, l0 = torch.log_softmax(zh[k], -1), torch.log_softmax(z0[k], -1)
        d = {"kl": float((lh.exp() * (lh - l0)).sum()), "dlogit": abs(float(zh[k, y[k]] - z0[k, y[k]])),
             "dlogp": abs(float(lh[y[k]] - l0[y[k]])), "acc_h": acc(zh[k], y[k]), "acc_0": acc(z0[k], y[k]),
             "acc_prefix": acc(zp[k - 1], y[k]) if k > 0 else "none", "weight": weight(k + 1, ny)}
        add(("t", k + 1), d)
        if k == 0: add("response_first", d)
        if k == ny - 1: add("response_last", d)
        if k in span:
            add(("i", k - span[0] + 1), d)
            if k == span[0]: add("title_first", d)
            if k == span[-1]: add("title_last", d)

ours = json.load(open(eff_path))
assert ours["n"] == len(recs) and ours["no_title_span"] == 0, (ours["n"], ours["no_title_span"])
def check(key, got):
    ref = stats[key]
    assert got["n"] == len(ref), (key, got["n"], len(ref))
    for f in ("kl", "dlogit", "dlogp", "weight"):
        want = sum(d[f] for d in ref) / len(ref)
        assert abs(got[f] - want) <= 1e-4 + 1e-3 * abs(want), (key, f, got[f], want)
    for f in ("acc_h", "acc_0", "acc_prefix"):
        vals = [d[f] for d in ref if d[f] != "none"]
        if f == "acc_prefix" and not vals:
            assert got["acc_prefix"] is None and got["n_prefix"] == 0, (key, got); continue
        if f == "acc_prefix": assert got["n_prefix"] == len(vals), (key, got["n_prefix"], len(vals))
        lo = sum(v for v in vals if v is not None) / len(vals)
        hi = sum(1 if v is None else v for v in vals) / len(vals)
        assert lo - 1e-6 <= got[f] <= hi + 1e-6, (key, f, got[f], lo, hi)
checked = 0
for key in ("response_first", "response_last", "title_first", "title_last"):
    check(key, ours[key]); checked += 1
for lst, name in (("by_position", "t"), ("by_title_position", "i")):
    assert len(ours[lst]) == max(k[1] for k in stats if isinstance(k, tuple) and k[0] == name), lst
    for row in ours[lst]:
        check((name, row[name]), row); checked += 1
print(f"effect oracle: {len(recs)} records, {checked} rows match HF (KL, logit gaps, accuracies, title spans)")
