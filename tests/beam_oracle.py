#!/usr/bin/env python3
"""PyTorch oracle for decode / ground (independent of the C code).

A plain Qwen2 forward written here from the safetensors weights (no KV cache: every step
recomputes the whole sequence), and a beam search written from Hugging Face's
BeamSearchScorer semantics (transformers 4.40, early_stopping=False): num_beams copies with
beam scores [0, -1e9, ...], log_softmax over the vocabulary, an optional prefix constraint
that masks to -inf after log_softmax, the top 2*beams candidates, EOS ranked < beams ->
finished hypothesis with score sum / gen_len**lp, BeamHypotheses' worst-score bookkeeping and
is_done heuristic, finalize at max_new_tokens.

Subcommands:
  mkckpt DIR [--vocab --hidden --layers --heads --kv --ffn --seed --std --eos --tie --llama]
  prompts OUT --n N --vocab V --eos E --seed S      random {"id","prompt_ids"} records
  catalogue OUT --n N --vocab V --eos E --seed S    random {"ids"} sequences ending in EOS
  beam DIR PROMPTS --beams --ret --lp --max-new --eos [--constrain-ids F]
  hf DIR PROMPTS ...      the same through transformers' own generate() (checks this oracle)
  compare A B [A2 B2 ...] --tol T   same beams (token lists) in the same order, scores within T
Several commands can run in one process, separated by "++"; beam/hf take --out FILE.
  embed DIR IDS           final-norm hidden state at the last token of each id list (a line
                          of space-separated ids, as spm_encode --output_format=id writes)
  ground DIR ITEM_IDS TITLE_IDS PREDS [-n N --mode interleave|single]   BIGRec grounding
"""
import argparse, json, math, os, sys
import torch
from safetensors.torch import load_file, save_file

torch.set_grad_enabled(False)


def load(d):
    cfg = json.load(open(os.path.join(d, "config.json")))
    W = load_file(os.path.join(d, "model.safetensors"))
    W = {k: v.float() for k, v in W.items()}
    if "lm_head.weight" not in W or cfg.get("tie_word_embeddings", False):
        W["lm_head.weight"] = W["model.embed_tokens.weight"]
    return cfg, W


def rms(x, w, eps):
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def rot_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def forward(cfg, W, ids):
    """ids (B,T) long, no padding -> (final-norm hidden (B,T,C), logits (B,T,V))"""
    B, T = ids.shape
    C, NH = cfg["hidden_size"], cfg["num_attention_heads"]
    KVH = cfg.get("num_key_value_heads", NH)
    HD, eps = C // NH, cfg.get("rms_norm_eps", 1e-6)
    theta = cfg.get("rope_theta", 10000.0)
    inv = 1.0 / (theta ** (torch.arange(0, HD, 2, dtype=torch.int64).float() / HD))
    fr = torch.outer(torch.arange(T).float(), inv)
    emb = torch.cat((fr, fr), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    mask = torch.full((T, T), float("-inf")).triu(1)
    x = W["model.embed_tokens.weight"][ids]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rms(x, W[p + "input_layernorm.weight"], eps)
        q = h @ W[p + "self_attn.q_proj.weight"].T + W[p + "self_attn.q_proj.bias"]
        k = h @ W[p + "self_attn.k_proj.weight"].T + W[p + "self_attn.k_proj.bias"]
        v = h @ W[p + "self_attn.v_proj.weight"].T + W[p + "self_attn.v_proj.bias"]
        q = q.view(B, T, NH, HD).transpose(1, 2)
        k = k.view(B, T, KVH, HD).transpose(1, 2)
        v = v.view(B, T, KVH, HD).transpose(1, 2)
        q = q * cos + rot_half(q) * sin
        k = k * cos + rot_half(k) * sin
        k = k.repeat_interleave(NH // KVH, dim=1)
        v = v.repeat_interleave(NH // KVH, dim=1)
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(HD) + mask, dim=-1) @ v
        x = x + a.transpose(1, 2).reshape(B, T, NH * HD) @ W[p + "self_attn.o_proj.weight"].T
        h = rms(x, W[p + "post_attention_layernorm.weight"], eps)
        g = torch.nn.functional.silu(h @ W[p + "mlp.gate_proj.weight"].T) * (h @ W[p + "mlp.up_proj.weight"].T)
        x = x + g @ W[p + "mlp.down_proj.weight"].T
    hid = rms(x, W["model.norm.weight"], eps)
    return hid, hid @ W["lm_head.weight"].T


class Hyps:  # transformers BeamHypotheses
    def __init__(self, nb, lp):
        self.nb, self.lp, self.beams, self.worst = nb, lp, [], 1e9

    def add(self, toks, s, gen_len):
        score = s / (gen_len ** self.lp)
        if len(self.beams) < self.nb or score > self.worst:
            self.beams.append((score, toks))
            if len(self.beams) > self.nb:
                srt = sorted([(sc, i) for i, (sc, _) in enumerate(self.beams)])
                del self.beams[srt[0][1]]
                self.worst = srt[1][0]
            else:
                self.worst = min(score, self.worst)

    def is_done(self, best, cur_gen):
        if len(self.beams) < self.nb:
            return False
        return self.worst >= best / (cur_gen ** self.lp)


def trie_of(seqs):
    root = {}
    for s in seqs:
        n = root
        for t in s:
            n = n.setdefault(t, {})
    return root


def beam_search(cfg, W, prompt, nb, nret, lp, max_new, eos, trie=None):
    P = len(prompt)
    ids = torch.tensor([prompt] * nb, dtype=torch.long)
    bscore = torch.zeros(nb)
    bscore[1:] = -1e9
    hyps = Hyps(nb, lp)
    done = False
    for step in range(max_new):
        _, logits = forward(cfg, W, ids)
        lsm = torch.log_softmax(logits[:, -1, :], dim=-1)
        if trie is not None:
            mask = torch.full_like(lsm, float("-inf"))
            for b in range(nb):
                node = trie
                for t in ids[b, P:].tolist():
                    node = node.get(t, {})
                allowed = list(node.keys())
                if allowed:
                    mask[b, allowed] = 0
            lsm = lsm + mask
        sc = lsm + bscore[:, None]
        V = sc.shape[1]
        top, idx = torch.topk(sc.view(-1), 2 * nb, largest=True, sorted=True)
        new = []
        for rank, (s, fi) in enumerate(zip(top.tolist(), idx.tolist())):
            b, t = fi // V, fi % V
            if t == eos:
                if rank >= nb:
                    continue
                hyps.add(ids[b, P:].tolist(), s, step + 1)
            else:
                new.append((b, t, s))
            if len(new) == nb:
                break
        done = hyps.is_done(top[0].item(), step + 1)
        ids = torch.cat([ids[[b for b, _, _ in new]], torch.tensor([[t] for _, t, _ in new])], dim=1)
        bscore = torch.tensor([s for _, _, s in new])
        if done:
            break
    if not done:
        for b in range(nb):
            hyps.add(ids[b, P:].tolist(), bscore[b].item(), ids.shape[1] - P)
    best = sorted(hyps.beams, key=lambda x: x[0])
    out = []
    for _ in range(nret):
        sc, toks = best.pop()
        out.append((toks, sc))
    # beams of score -1e9/-inf are HF's placeholders, not hypotheses (decode drops them)
    return [(t, s) for t, s in out if s > -1e8]


def cmd_mkckpt(a):
    g = torch.Generator().manual_seed(a.seed)
    C, L, NH, KVH, F, V = a.hidden, a.layers, a.heads, a.kv, a.ffn, a.vocab
    HD = C // NH
    r = lambda *s, std=a.std: (torch.randn(*s, generator=g) * std).contiguous()
    W = {"model.embed_tokens.weight": r(V, C, std=1.0)}
    for l in range(L):
        p = f"model.layers.{l}."
        W[p + "input_layernorm.weight"] = 1 + r(C, std=0.1)
        W[p + "self_attn.q_proj.weight"] = r(NH * HD, C)
        if not a.llama:
            W[p + "self_attn.q_proj.bias"] = r(NH * HD)
        W[p + "self_attn.k_proj.weight"] = r(KVH * HD, C)
        if not a.llama:
            W[p + "self_attn.k_proj.bias"] = r(KVH * HD)
        W[p + "self_attn.v_proj.weight"] = r(KVH * HD, C)
        if not a.llama:
            W[p + "self_attn.v_proj.bias"] = r(KVH * HD)
        W[p + "self_attn.o_proj.weight"] = r(C, NH * HD)
        W[p + "post_attention_layernorm.weight"] = 1 + r(C, std=0.1)
        W[p + "mlp.gate_proj.weight"] = r(F, C)
        W[p + "mlp.up_proj.weight"] = r(F, C)
        W[p + "mlp.down_proj.weight"] = r(C, F)
    W["model.norm.weight"] = 1 + r(C, std=0.1)
    if not a.tie:
        W["lm_head.weight"] = r(V, C, std=a.head_std)
    os.makedirs(a.dir, exist_ok=True)
    save_file(W, os.path.join(a.dir, "model.safetensors"), metadata={"format": "pt"})
    cfg = {"architectures": ["LlamaForCausalLM" if a.llama else "Qwen2ForCausalLM"],
           "model_type": "llama" if a.llama else "qwen2", "vocab_size": V,
           "hidden_size": C, "intermediate_size": F, "num_hidden_layers": L,
           "num_attention_heads": NH, "num_key_value_heads": KVH, "hidden_act": "silu",
           "rms_norm_eps": 1e-6, "rope_theta": a.theta, "max_position_embeddings": 4096,
           "tie_word_embeddings": bool(a.tie), "eos_token_id": a.eos, "pad_token_id": a.pad,
           "torch_dtype": "float32", "use_sliding_window": False}
    if a.llama:
        cfg["attention_bias"] = False
    if a.bos >= 0:
        cfg["bos_token_id"] = a.bos
    json.dump(cfg, open(os.path.join(a.dir, "config.json"), "w"), indent=1)


def cmd_prompts(a):
    g = torch.Generator().manual_seed(a.seed)
    # --shared N: every prompt opens with the same N tokens (a prompt template) and the
    # first is those N alone, so a batch's common prefix is a whole prompt
    shared = torch.randint(3, a.vocab, (a.shared,), generator=g).tolist()
    with open(a.out, "w") as f:
        for i in range(a.n):
            n = int(torch.randint(a.min_len, a.max_len + 1, (1,), generator=g))
            if a.shared and i == 0:
                n = 0
            ids = shared + [t for t in torch.randint(3, a.vocab, (n,), generator=g).tolist()]
            f.write(json.dumps({"id": i, "prompt_ids": ids}) + "\n")


def cmd_catalogue(a):
    g = torch.Generator().manual_seed(a.seed)
    seen = set()
    with open(a.out, "w") as f:
        while len(seen) < a.n:
            n = int(torch.randint(a.min_len, a.max_len + 1, (1,), generator=g))
            # few distinct first tokens: shared prefixes exercise the trie
            first = int(torch.randint(3, 3 + a.first, (1,), generator=g))
            ids = tuple([first] + [t for t in torch.randint(3, a.vocab, (n - 1,), generator=g).tolist()] + [a.eos])
            if ids in seen:
                continue
            seen.add(ids)
            f.write(json.dumps({"ids": list(ids)}) + "\n")


def read_prompts(path):
    return [json.loads(l) for l in open(path) if l.strip()]


def cmd_beam(a):
    cfg, W = load(a.dir)
    trie = None
    if a.constrain_ids:
        trie = trie_of([json.loads(l)["ids"] for l in open(a.constrain_ids) if l.strip()])
    for r in read_prompts(a.prompts):
        res = beam_search(cfg, W, r["prompt_ids"], a.beams, a.ret, a.lp, a.max_new, a.eos, trie)
        print(json.dumps({"id": r["id"], "predict_ids": [t for t, _ in res], "scores": [s for _, s in res]}))


def cmd_exact(a):
    """D3's ranking by brute force: every catalogue sequence (EOS included, at most max_new
    tokens) scored by teacher forcing, sum of full-vocabulary log-probs; the best `ret`."""
    cfg, W = load(a.dir)
    cat = [json.loads(l)["ids"] for l in open(a.constrain_ids) if l.strip()]
    cat = [c for c in cat if len(c) <= a.max_new]
    for r in read_prompts(a.prompts):
        P = len(r["prompt_ids"])
        scored = []
        for c in cat:
            ids = torch.tensor([r["prompt_ids"] + c])
            _, logits = forward(cfg, W, ids)
            lp = torch.log_softmax(logits[0, P - 1:-1].double(), dim=-1)
            scored.append((float(lp[torch.arange(len(c)), torch.tensor(c)].sum()), c[:-1]))
        scored.sort(key=lambda x: -x[0])
        top = scored[:a.ret]
        print(json.dumps({"id": r["id"], "predict_ids": [t for _, t in top], "scores": [s for s, _ in top]}))


def cmd_hf(a):
    from transformers import Qwen2ForCausalLM
    m = Qwen2ForCausalLM.from_pretrained(a.dir, torch_dtype=torch.float32).eval()
    fn = None
    if a.constrain_ids:
        trie = trie_of([json.loads(l)["ids"] for l in open(a.constrain_ids) if l.strip()])

        def fn(batch_id, seq):   # HF masks the other tokens to -inf after log_softmax
            node = trie
            for t in seq[P:].tolist():
                node = node.get(t, {})
            # off the trie (only HF's -1e9 placeholder beams get there): HF refuses an empty
            # list, so let them continue with pad, which never finishes a hypothesis
            return list(node.keys()) or [a.pad]
    for r in read_prompts(a.prompts):
        ids = torch.tensor([r["prompt_ids"]])
        P = ids.shape[1]
        o = m.generate(ids, attention_mask=torch.ones_like(ids), num_beams=a.beams, prefix_allowed_tokens_fn=fn,
                       num_return_sequences=a.ret, length_penalty=a.lp, early_stopping=False,
                       max_new_tokens=a.max_new, do_sample=False, eos_token_id=a.eos,
                       pad_token_id=a.pad, output_scores=True, return_dict_in_generate=True)
        seqs = []
        for s in o.sequences[:, ids.shape[1]:].tolist():
            while s and s[-1] == a.pad:
                s.pop()
            if s and s[-1] == a.eos:
                s.pop()
            seqs.append(s)
        sc = o.sequences_scores.tolist()
        keep = [i for i, x in enumerate(sc) if x > -1e8]   # as beam_search(): drop placeholders
        print(json.dumps({"id": r["id"], "predict_ids": [seqs[i] for i in keep], "scores": [sc[i] for i in keep]}))


def cmd_compare(a):
    files = [a.a, a.b] + a.more
    if len(files) % 2:
        sys.exit("compare: files come in pairs")
    bad = 0
    for i in range(0, len(files), 2):
        bad += compare_pair(files[i], files[i + 1], a.tol)
    sys.exit(1 if bad else 0)


def compare_pair(fa, fb, tol):
    A = [json.loads(l) for l in open(fa)]
    B = [json.loads(l) for l in open(fb)]
    if len(A) != len(B):
        print(f"{fa} vs {fb}: {len(A)} vs {len(B)} records", file=sys.stderr)
        return 1
    bad, nb, worst = 0, 0, 0.0
    for x, y in zip(A, B):
        assert x["id"] == y["id"], (x["id"], y["id"])
        kx = "predict_ids" if "predict_ids" in x else "predict"
        if x[kx] != y[kx] or len(x["scores"]) != len(y["scores"]):
            bad += 1
            print(f"id {x['id']}: beams differ\n  A {x[kx]} {x['scores']}\n  B {y[kx]} {y['scores']}", file=sys.stderr)
            continue
        for s, t in zip(x["scores"], y["scores"]):
            d = abs(s - t) / max(1.0, abs(t))
            worst = max(worst, d)
            nb += 1
            if d > tol:
                bad += 1
                print(f"id {x['id']}: score {s} vs {t}", file=sys.stderr)
    print(f"compare {fa} {fb}: {len(A)} records, {nb} beams, max rel score diff {worst:.2e}, "
          f"{bad} mismatches", file=sys.stderr)
    return 1 if bad else 0


def cmd_embed(a):
    cfg, W = load(a.dir)
    for l in open(a.ids):
        ids = [int(t) for t in l.split()]
        hid, _ = forward(cfg, W, torch.tensor([ids]))
        print(json.dumps([round(float(v), 7) for v in hid[0, -1]]))


def cmd_ground(a):
    """BIGRec grounding from scratch: item / title embeddings = final-norm hidden at the last
    token; L2 distance; interleave (best of each title in beam order, then second best, ...,
    first occurrence kept) or single (first title only). Ties: lower item id first."""
    cfg, W = load(a.dir)
    emb = lambda l: forward(cfg, W, torch.tensor([[int(t) for t in l.split()]]))[0][0, -1].double()
    E = torch.stack([emb(l) for l in open(a.item_ids)])
    T = [l for l in open(a.title_ids)]
    preds = [json.loads(l) for l in open(a.preds)]
    k = 0
    for r in preds:
        ts = r["predict"] if a.mode == "interleave" else r["predict"][:1]
        lists = []
        for _ in ts:
            q = emb(T[k]); k += 1
            d = ((E - q) ** 2).sum(1).tolist()
            lists.append(sorted(range(len(d)), key=lambda j: (d[j], j)))
        if a.mode == "single":
            k += len(r["predict"]) - len(ts)
        out, seen = [], set()
        for rank in range(len(E)):
            for L in lists:
                if L[rank] not in seen and len(out) < a.n:
                    seen.add(L[rank]); out.append(L[rank])
        print(json.dumps({"id": r["id"], "items": out}, separators=(",", ":")))


def main():
    ap = argparse.ArgumentParser()
    sp = ap.add_subparsers(dest="cmd", required=True)
    p = sp.add_parser("mkckpt"); p.add_argument("dir")
    for k, v in [("vocab", 64), ("hidden", 32), ("layers", 2), ("heads", 4), ("kv", 2), ("ffn", 48),
                 ("seed", 1), ("eos", 2), ("pad", 0), ("bos", -1)]:
        p.add_argument("--" + k, type=int, default=v)
    p.add_argument("--std", type=float, default=0.2)
    p.add_argument("--head-std", type=float, default=0.5)
    p.add_argument("--theta", type=float, default=10000.0)
    p.add_argument("--tie", action="store_true")
    p.add_argument("--llama", action="store_true", help="Llama layout: no q/k/v biases")
    p = sp.add_parser("prompts"); p.add_argument("out")
    for k, v in [("n", 6), ("vocab", 64), ("seed", 2), ("min_len", 3), ("max_len", 20), ("shared", 0)]:
        p.add_argument("--" + k.replace("_", "-"), dest=k, type=int, default=v)
    p = sp.add_parser("catalogue"); p.add_argument("out")
    for k, v in [("n", 30), ("vocab", 64), ("seed", 3), ("min_len", 1), ("max_len", 6), ("eos", 2), ("first", 12)]:
        p.add_argument("--" + k.replace("_", "-"), dest=k, type=int, default=v)
    for name in ("beam", "hf", "exact"):
        p = sp.add_parser(name); p.add_argument("dir"); p.add_argument("prompts")
        for k, v in [("beams", 5), ("ret", 5), ("max_new", 12), ("eos", 2), ("pad", 0)]:
            p.add_argument("--" + k.replace("_", "-"), dest=k, type=int, default=v)
        p.add_argument("--lp", type=float, default=1.0)
        p.add_argument("--constrain-ids", default=None)
        p.add_argument("--out", default=None)
    p = sp.add_parser("compare"); p.add_argument("a"); p.add_argument("b"); p.add_argument("more", nargs="*")
    p.add_argument("--tol", type=float, default=1e-4)
    p = sp.add_parser("ground"); p.add_argument("dir"); p.add_argument("item_ids")
    p.add_argument("title_ids"); p.add_argument("preds"); p.add_argument("--out", default=None)
    p.add_argument("-n", type=int, default=50); p.add_argument("--mode", default="interleave")
    p = sp.add_parser("embed"); p.add_argument("dir"); p.add_argument("ids"); p.add_argument("--out", default=None)
    # several commands in one process, separated by "++" (python start-up dominates the tests)
    argv, cmds = sys.argv[1:], [[]]
    for x in argv:
        if x == "++":
            cmds.append([])
        else:
            cmds[-1].append(x)
    rc = 0
    for c in cmds:
        a = ap.parse_args(c)
        out = getattr(a, "out", None)
        old = sys.stdout
        if out:
            sys.stdout = open(out, "w")
        try:
            globals()["cmd_" + a.cmd](a)
        except SystemExit as e:
            rc = rc or (e.code or 0)
        finally:
            if out:
                sys.stdout.close()
                sys.stdout = old
    sys.exit(rc)


if __name__ == "__main__":
    main()
