#!/usr/bin/env python3
"""Compare the CUDA inference twin's output with the CPU's (tests/test_cuda.sh).

decode REF GOT --atol A: two decode outputs of the same prompts. Same ids in the same order;
every hypothesis both lists hold scores within A; the best hypothesis is the same unless the
reference's two best are within 2A (a near tie, which rounding may order either way); at least
--min-shared of the reference's hypotheses appear in the other's list.

ground REF_DIR GOT_DIR RANKED_REF RANKED_GOT --rtol R: the item embeddings ground cached in each
checkpoint directory agree to max|d| <= R max|ref|, and the ranked lists' first items agree on
at least --min-shared of the records.
"""
import argparse, glob, json, sys

import numpy as np


def lines(p):
    return [json.loads(l) for l in open(p) if l.strip()]


def decode(a):
    ref, got = lines(a.ref), lines(a.got)
    if [r["id"] for r in ref] != [g["id"] for g in got]:
        sys.exit(f"{a.label}: ids differ ({len(ref)} vs {len(got)} records)")
    key = "predict" if "predict" in ref[0] else "predict_ids"
    worst, shared, total, ties = 0.0, 0, 0, 0
    for r, g in zip(ref, got):
        hr = [json.dumps(h) for h in r[key]]
        hg = {}   # a text two token sequences spell (BPE/spm ambiguity) occurs twice: pair in order
        for h, s in zip(g[key], g["scores"]):
            hg.setdefault(json.dumps(h), []).append(s)
        for h, s in zip(hr, r["scores"]):
            total += 1
            if hg.get(h):
                shared += 1
                sg = hg[h].pop(0)
                d = abs(s - sg)
                worst = max(worst, d)
                if d > a.atol:
                    sys.exit(f"{a.label}: record {r['id']}: score {s} vs {sg} (|d| {d:.3g} > {a.atol})")
        near = len(r["scores"]) > 1 and abs(r["scores"][0] - r["scores"][1]) <= 2 * a.atol
        ties += near
        if not near and hr and (not g[key] or json.dumps(g[key][0]) != hr[0]):
            sys.exit(f"{a.label}: record {r['id']}: best hypothesis differs: {hr[0]} vs {g[key][0] if g[key] else None}")
    frac = shared / max(total, 1)
    if frac < a.min_shared:
        sys.exit(f"{a.label}: only {frac:.3f} of the hypotheses shared (< {a.min_shared})")
    print(f"{a.label}: {len(ref)} records, {frac:.3f} of hypotheses shared, worst score |d| {worst:.3g}, {ties} near ties")


def load_emb(d):
    from safetensors.numpy import load_file
    fs = glob.glob(f"{d}/item_emb.*.safetensors")
    if len(fs) != 1:
        sys.exit(f"{d}: expected one item_emb cache, found {len(fs)}")
    return load_file(fs[0])["item_emb"]


def ground(a):
    er, eg = load_emb(a.ref), load_emb(a.got)
    if er.shape != eg.shape:
        sys.exit(f"{a.label}: embedding shapes {er.shape} vs {eg.shape}")
    d = float(np.abs(er - eg).max()) / max(float(np.abs(er).max()), 1e-30)
    if d > a.rtol:
        sys.exit(f"{a.label}: item embeddings differ: max|d|/max|ref| {d:.3g} > {a.rtol}")
    rr, rg = lines(a.ranked_ref), lines(a.ranked_got)
    same = sum(1 for x, y in zip(rr, rg) if x["items"][:1] == y["items"][:1])
    if len(rr) != len(rg) or same < a.min_shared * len(rr):
        sys.exit(f"{a.label}: first items agree on {same} of {len(rr)} records")
    print(f"{a.label}: embeddings max|d|/max|ref| {d:.3g}, first items agree on {same}/{len(rr)}")


ap = argparse.ArgumentParser()
sub = ap.add_subparsers(dest="what", required=True)
p = sub.add_parser("decode"); p.add_argument("ref"); p.add_argument("got")
p.add_argument("--atol", type=float, required=True); p.add_argument("--min-shared", type=float, default=0.9)
p = sub.add_parser("ground"); p.add_argument("ref"); p.add_argument("got")
p.add_argument("ranked_ref"); p.add_argument("ranked_got")
p.add_argument("--rtol", type=float, required=True); p.add_argument("--min-shared", type=float, default=0.95)
ap.add_argument("--label", default="parity")
a = ap.parse_args()
decode(a) if a.what == "decode" else ground(a)
