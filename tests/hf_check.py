"""Hugging Face oracle: load OUR checkpoint directory as-is with transformers'
Qwen2ForCausalLM.from_pretrained and recompute, for every prompt record, the CFT losses of
Eq. 1/4/5 (token weights omega_t, L_n and L_c per sample and over the file) from HF's own
logits, on a right-padded batch with an attention mask. They must match `cft-step --eval`
(per-sample and whole-file) -- so the checkpoint layout (config.json keys, tensor names,
tied/untied head), the tokenisation layout and our forward all agree with HF.
With LOGITS.f32 (`cft-step --eval --per-sample --dump-logits`), the raw logits at every
response position of both passes are compared too: max |ours - HF| <= 1e-5 x max |HF| per record.
usage: hf_check.py CKPT_DIR PROMPTS.jsonl IDS.txt EVAL.json PER_SAMPLE.jsonl BETA [LOGITS.f32]
IDS.txt: `tokenize --json` output for prompt, response, cf_prompt of each record in turn."""
import json, sys
import torch
from transformers import Qwen2ForCausalLM

ckpt, prompts, ids_path, eval_path, per_path, beta = sys.argv[1:7]
beta = float(beta)
dump = None
if len(sys.argv) > 7:
    import numpy as np
    dump = torch.from_numpy(np.fromfile(sys.argv[7], dtype=np.float32)).double()
torch.manual_seed(0)
model = Qwen2ForCausalLM.from_pretrained(ckpt, torch_dtype=torch.float32, attn_implementation="eager").eval()
cfg = model.config
eos = cfg.eos_token_id
recs = [json.loads(l) for l in open(prompts)]
ids = [[int(x) for x in l.split()] for l in open(ids_path)]
assert len(ids) == 3 * len(recs), (len(ids), len(recs))

def logits_of(seqs):
    """right-padded batch forward; returns list of (len, V) logits"""
    T = max(len(s) for s in seqs)
    x = torch.full((len(seqs), T), cfg.pad_token_id if cfg.pad_token_id is not None else 0, dtype=torch.long)
    mask = torch.zeros((len(seqs), T), dtype=torch.long)
    for i, s in enumerate(seqs):
        x[i, :len(s)] = torch.tensor(s); mask[i, :len(s)] = 1
    with torch.no_grad():
        out = model(input_ids=x, attention_mask=mask).logits.double()
    return [out[i, :len(s)] for i, s in enumerate(seqs)]

def omega(ny):
    return [1.0 if ny == 1 else 1.0 - (1.0 - beta) * t / (ny - 1) for t in range(ny)]

normal, cf, P, Pc, Y = [], [], [], [], []
for k in range(len(recs)):
    p, y, c = ids[3 * k], ids[3 * k + 1] + [eos], ids[3 * k + 2]
    normal.append(p + y); cf.append(c + y); P.append(len(p)); Pc.append(len(c)); Y.append(y)
zh_all, z0_all = [], []
for b in range(0, len(recs), 8):
    zh_all += logits_of(normal[b:b + 8]); z0_all += logits_of(cf[b:b + 8])
ours = [json.loads(l) for l in open(per_path)]
tot_n = tot_c = tot_w = 0.0
worst = worst_logit = 0.0
off = 0
for k in range(len(recs)):
    y = Y[k]
    zh = zh_all[k][P[k] - 1:P[k] - 1 + len(y)]        # logits predicting y_t
    z0 = z0_all[k][Pc[k] - 1:Pc[k] - 1 + len(y)]
    tgt = torch.tensor(y)
    if dump is not None:
        V = zh.shape[1]
        mine = dump[off:off + 2 * len(y) * V].reshape(2 * len(y), V); off += 2 * len(y) * V
        hf = torch.cat([zh, z0])
        rel = float((mine - hf).abs().max() / hf.abs().max())
        worst_logit = max(worst_logit, rel)
        if rel > 1e-5:
            sys.exit("record %d: logits differ from HF by %.2e relative" % (recs[k]["id"], rel))
    ce_n = torch.nn.functional.cross_entropy(zh, tgt, reduction="none")
    ce_c = torch.nn.functional.cross_entropy(zh - z0, tgt, reduction="none")
    w = torch.tensor(omega(len(y)), dtype=torch.float64)
    ln, lc = float((w * ce_n).sum() / w.sum()), float((w * ce_c).sum() / w.sum())
    tot_n += float((w * ce_n).sum()); tot_c += float((w * ce_c).sum()); tot_w += float(w.sum())
    o = ours[k]
    assert o["id"] == recs[k]["id"]
    for name, a, b in (("L_n", o["L_n"], ln), ("L_c", o["L_c"], lc)):
        rel = abs(a - b) / max(1e-6, abs(b))
        worst = max(worst, rel)
        if rel > 2e-5:
            sys.exit("record %d: %s ours %.9g, HF %.9g (rel %.2e)" % (o["id"], name, a, b, rel))
ev = json.load(open(eval_path))
for name, a, b in (("L_n", ev["L_n"], tot_n / tot_w), ("L_c", ev["L_c"], tot_c / tot_w)):
    if abs(a - b) / abs(b) > 2e-5:
        sys.exit("file %s: ours %.9g, HF %.9g" % (name, a, b))
if dump is not None and off != dump.numel():
    sys.exit("logits file has %d values, expected %d" % (dump.numel(), off))
print("hf_check: %d records, tied=%s, worst relative difference: losses %.2e, logits %s, L_n %.6f L_c %.6f"
      % (len(recs), cfg.tie_word_embeddings, worst, "%.2e" % worst_logit if dump is not None else "-", ev["L_n"], ev["L_c"]))
