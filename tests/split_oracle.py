#!/usr/bin/env python3
"""Independent oracle for split811: D3's process.py logic written out literally in Python
(dict in first-appearance order, stable sorts, int(n*0.8)/int(n*0.9) cuts) — or RecBole's
leave-one-out — then compared record by record with split811's output files.
usage: split_oracle.py interactions.jsonl DIR [811|loo] [max_history]"""
import json, sys

inter, d = sys.argv[1], sys.argv[2]
mode = sys.argv[3] if len(sys.argv) > 3 else "811"
H = int(sys.argv[4]) if len(sys.argv) > 4 else 10

users, titles = {}, {}
for line in open(inter, encoding="utf-8"):
    r = json.loads(line)
    users.setdefault(r["user"], []).append((r["item"], r["ts"]))
    titles.setdefault(r["item"], r["title"])

samples = []   # [user, hist, target, pos_from_end]
for u, seq in users.items():
    seq = sorted(seq, key=lambda x: int(x[1]))          # stable, as D3
    for i in range(1, len(seq)):
        st = max(i - H, 0)
        samples.append([u, seq[st:i], seq[i], len(seq) - 1 - i])
samples = sorted(samples, key=lambda x: int(x[2][1]))   # stable: D3's tie order
n = len(samples)
if mode == "811":
    a, b = int(n * 0.8), int(n * 0.9)
    split = ["train"] * a + ["valid"] * (b - a) + ["test"] * (n - b)
else:
    split = ["test" if s[3] == 0 else "valid" if s[3] == 1 else "train" for s in samples]

def ev(x): return {"item": x[0], "title": titles[x[0]], "ts": x[1]}
want = {"train": [], "valid": [], "test": []}
count = {it: 0 for it in titles}
for i, (s, sp) in enumerate(zip(samples, split)):
    want[sp].append({"id": i, "user": s[0], "history": [ev(h) for h in s[1]], "target": ev(s[2]), "split": sp})
    if sp == "train": count[s[2][0]] += 1
want_items = [{"id": k, "item": it, "title": titles[it], "count": count[it]} for k, it in enumerate(titles)]

def check(name, exp):
    got = [json.loads(l) for l in open(f"{d}/{name}.jsonl", encoding="utf-8")]
    if len(got) != len(exp):
        sys.exit(f"oracle: {name}: {len(got)} records, expected {len(exp)}")
    for k, (g, e) in enumerate(zip(got, exp)):
        if g != e:
            sys.exit(f"oracle: {name} line {k+1} differs:\n got {g}\nwant {e}")
for sp in ("train", "valid", "test"): check(sp, want[sp])
check("items", want_items)
print(f"oracle ok: {mode} n={n} train={len(want['train'])} valid={len(want['valid'])} test={len(want['test'])}")
