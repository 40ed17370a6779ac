#!/usr/bin/env python3
"""Independent oracle for metrics (numpy). Two subcommands:
  gen  TRUTH ITEMS SEED OUT   random ranked lists of 20 ids: the target, or an item sharing its
                              title, inserted at a random position in ~60% of the lists
  check TRUTH ITEMS RANKED OTHER METRICS_JSON   recompute HR/NDCG@{1,5,10,20}, the paired
                              bootstrap CI (numpy's own resampling, so compared loosely) and
                              the popularity shares (5 groups, top-20) and compare."""
import json, math, sys
import numpy as np

def load(p): return [json.loads(l) for l in open(p, encoding="utf-8")]

if sys.argv[1] == "gen":
    truth, items = load(sys.argv[2]), load(sys.argv[3])
    rng = np.random.default_rng(int(sys.argv[4]))
    by_item = {it["item"]: it["id"] for it in items}
    by_title = {}
    for it in items: by_title.setdefault(it["title"], []).append(it["id"])
    with open(sys.argv[5], "w") as f:
        for s in truth:
            lst = [int(x) for x in rng.choice(len(items), 20, replace=False)]
            if rng.random() < 0.6:
                same = by_title[s["target"]["title"]]
                lst[int(rng.integers(20))] = int(rng.choice(same))
            f.write(json.dumps({"id": s["id"], "items": lst}) + "\n")
    sys.exit(0)

truth, items, ranked, other, got = load(sys.argv[2]), load(sys.argv[3]), load(sys.argv[4]), load(sys.argv[5]), json.load(open(sys.argv[6]))
title = [it["title"] for it in items]
title_of_item = {it["item"]: it["title"] for it in items}
def ranks(rk):
    r = {x["id"]: x["items"] for x in rk}
    out = []
    for s in truth:
        t = title_of_item[s["target"]["item"]]
        pos = [j for j, i in enumerate(r[s["id"]]) if title[i] == t]
        out.append(pos[0] if pos else -1)
    return np.array(out)
ks = [1, 5, 10, 20]
def vals(rk):
    r = ranks(rk)
    v = {}
    for k in ks:
        hit = (r >= 0) & (r < k)
        v[f"HR@{k}"] = hit.astype(float)
        v[f"NDCG@{k}"] = np.where(hit, 1.0 / np.log2(np.maximum(r, 0) + 2.0), 0.0)
    return v
A, B = vals(ranked), vals(other)
assert got["n"] == len(truth)
rng = np.random.default_rng(0)
idx = rng.integers(0, len(truth), size=(2000, len(truth)))
for m in A:
    assert abs(got[m] - A[m].mean()) < 1e-9, (m, got[m], A[m].mean())
    c = got["compare"][m]
    assert abs(c["other"] - B[m].mean()) < 1e-9 and abs(c["diff"] - (A[m].mean() - B[m].mean())) < 1e-9, (m, c)
    d = A[m] - B[m]
    boot = d[idx].mean(axis=1)
    lo, hi = np.percentile(boot, [2.5, 97.5])
    w = hi - lo
    assert abs(c["ci95"][0] - lo) < 0.15 * w and abs(c["ci95"][1] - hi) < 0.15 * w, (m, c["ci95"], lo, hi)
# popularity: items sorted by (train count, id), group q = sorted positions [qM/N, (q+1)M/N)
N, K, M = 5, 20, len(items)
order = sorted(range(M), key=lambda i: (items[i]["count"], i))
group = [0] * M
for q in range(N):
    for j in range(q * M // N, (q + 1) * M // N): group[order[j]] = q
cnt = np.zeros(N)
for x in ranked:
    for i in x["items"][:K]: cnt[group[i]] += 1
share = cnt / cnt.sum()
assert np.allclose(share, got["popularity"]["share"], atol=1e-9), (share, got["popularity"])
print("oracle ok:", {m: round(A[m].mean(), 4) for m in A})
