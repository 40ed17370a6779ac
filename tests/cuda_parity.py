"""Compare two `model-check dump` directories: the CPU reference and the CUDA twin (or any two
runs). Every float the dump holds -- logits of the eval step, the losses, every gradient
tensor of the CFT training step, the parameters after two AdamW steps, the LM-objective
gradients -- must agree to the stated tolerance: max|a - b| <= rtol * max|a| + atol per tensor.
usage: cuda_parity.py REF_DIR TEST_DIR --rtol X [--atol Y] [--label S]"""
import argparse, json, os, sys
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("ref"); ap.add_argument("test")
ap.add_argument("--rtol", type=float, required=True)
ap.add_argument("--atol", type=float, default=1e-7)
ap.add_argument("--label", default="")
a = ap.parse_args()
mr = json.load(open(os.path.join(a.ref, "meta.json")))
mt = json.load(open(os.path.join(a.test, "meta.json")))
bad = 0
worst = 0.0


def check(name, x, y):
    global bad, worst
    x = np.asarray(x, dtype=np.float64); y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        print(f"BAD {a.label} {name}: shapes {x.shape} vs {y.shape}"); bad += 1; return
    if not np.all(np.isfinite(y)):
        print(f"BAD {a.label} {name}: non-finite values"); bad += 1; return
    scale = float(np.max(np.abs(x))) if x.size else 0.0
    err = float(np.max(np.abs(x - y))) if x.size else 0.0
    rel = err / scale if scale > 0 else err
    worst = max(worst, rel)
    ok = err <= a.rtol * scale + a.atol
    if not ok or os.environ.get("VERBOSE"):
        print(f"{'ok ' if ok else 'BAD'} {a.label} {name}: max|d| {err:.3e}, max|ref| {scale:.3e}, rel {rel:.3e}")
    bad += not ok


for k in ["L_eval", "Ln_eval", "Lc_eval", "L_train", "Ln_train", "Lc_train", "grad_norm", "lm_loss"]:
    check(k, [mr[k]], [mt[k]])
for k in ["tokens", "lengths", "cf_tokens", "resp_pos", "resp_label"]:
    if mr[k] != mt[k]:
        print(f"BAD {a.label} the two dumps are of different batches ({k})"); bad += 1
V = mr["vocab_size"]
f32 = lambda d, n: np.fromfile(os.path.join(d, n), dtype=np.float32)
check("logits", f32(a.ref, "logits.bin").reshape(-1, V), f32(a.test, "logits.bin").reshape(-1, V))
for fn in ["grads.bin", "params2.bin", "lm_grads.bin"]:
    x, y = f32(a.ref, fn), f32(a.test, fn)
    if x.size != y.size:
        print(f"BAD {a.label} {fn}: {x.size} vs {y.size} floats"); bad += 1; continue
    for p in mr["params"]:
        n = int(np.prod(p["shape"]))
        check(f"{fn[:-4]}:{p['name']}", x[p["offset"]:p["offset"] + n], y[p["offset"]:p["offset"] + n])
print(f"{'ok ' if not bad else 'BAD'} {a.label}: {bad} mismatches, worst relative error {worst:.3e} (rtol {a.rtol:g})")
sys.exit(1 if bad else 0)
