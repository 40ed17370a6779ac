"""Small real training data for the trainer tests (cft-step, mkcorpus, spm), built from
MovieLens-100K in the record formats of docs/FORMATS.md: items.jsonl, train.jsonl,
valid.jsonl (samples) and train/valid.prompts.jsonl (prompt records with cf_prompt, the
BIGRec/CFT template; the counterfactual prompt is the template without its input section,
as in the authors' code). Deterministic. Usage: cft_data.py DATA_ROOT OUTDIR [USERS]"""
import json, os, sys

root, out = sys.argv[1], sys.argv[2]
nusers = int(sys.argv[3]) if len(sys.argv) > 3 else 40
os.makedirs(out, exist_ok=True)
titles = {}
for ln in open(os.path.join(root, "movielens-100k/u.item"), encoding="latin-1"):
    f = ln.rstrip("\n").split("|")
    titles[f[0]] = f[1].strip()
seqs = {}
for ln in open(os.path.join(root, "movielens-100k/u.data")):
    u, i, r, t = ln.split()
    if int(u) <= nusers:
        seqs.setdefault(u, []).append((int(t), int(i), i))
HEAD = ("Below is an instruction that describes a task, paired with an input that provides "
        "further context. Write a response that appropriately completes the request.\n\n"
        "### Instruction:\nGiven a list of movies the user has watched before, please recommend "
        "a new movie that the user likes to the user.\n\n")
def prompt(hist):
    return HEAD + "### Input:\nThe user has watched the following movies before: " + \
        ", ".join('"%s"' % titles[h] for h in hist) + "\n\n### Response:\n"
CF = HEAD + "### Response:\n"
samples = {"train": [], "valid": []}
for u in sorted(seqs, key=int):
    s = [x[2] for x in sorted(seqs[u])][:14]
    for k in range(1, len(s)):
        split = "valid" if k == len(s) - 1 else "train"
        samples[split].append((u, s[max(0, k - 10):k], s[k]))
items, count = {}, {}
for split in ("train", "valid"):
    for u, h, t in samples[split]:
        for x in h + [t]:
            items.setdefault(x, len(items))
        if split == "train":
            count[t] = count.get(t, 0) + 1
with open(os.path.join(out, "items.jsonl"), "w") as f:
    for x, i in items.items():
        f.write(json.dumps({"id": i, "item": x, "title": titles[x], "count": count.get(x, 0)}) + "\n")
sid = 0
for split in ("train", "valid"):
    with open(os.path.join(out, split + ".jsonl"), "w") as fs, open(os.path.join(out, split + ".prompts.jsonl"), "w") as fp:
        for u, h, t in samples[split]:
            ev = lambda x: {"item": x, "title": titles[x], "ts": 0}
            fs.write(json.dumps({"id": sid, "user": u, "history": [ev(x) for x in h], "target": ev(t), "split": split}) + "\n")
            fp.write(json.dumps({"id": sid, "prompt": prompt(h), "response": '"%s"\n' % titles[t], "cf_prompt": CF}) + "\n")
            sid += 1
