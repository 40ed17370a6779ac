"""Compare two `model-check dump` directories: the CPU reference and the CUDA twin (or any two
runs). Every float the dump holds -- logits of the eval step, the losses, every gradient
tensor of the CFT training step, the parameters after two AdamW steps, the LM-objective
gradients -- must agree to the stated tolerance: max|a - b| <= rtol * max|a| + atol per tensor
(the parameters' elements whose first gradient is tiny: to Adam's per-step bound, see below).
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


def check(name, x, y, exempt=None, exempt_bound=None):
    """exempt: elements (bool mask) held only to |d| <= exempt_bound instead of the tolerance"""
    global bad, worst
    x = np.asarray(x, dtype=np.float64); y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        print(f"BAD {a.label} {name}: shapes {x.shape} vs {y.shape}"); bad += 1; return
    if not np.all(np.isfinite(y)):
        print(f"BAD {a.label} {name}: non-finite values"); bad += 1; return
    scale = float(np.max(np.abs(x))) if x.size else 0.0
    d = np.abs(x - y)
    if exempt is not None and exempt.any():
        if float(np.max(d[exempt])) > exempt_bound:
            print(f"BAD {a.label} {name}: an element of tiny first gradient moved {float(np.max(d[exempt])):.3e} "
                  f"(Adam's bound {exempt_bound:.3e})"); bad += 1; return
        d = np.where(exempt, 0.0, d)
    err = float(np.max(d)) if x.size else 0.0
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
# The parameters after two AdamW steps: Adam divides each update by the gradient's own size, so
# an element whose first gradient is a cancellation (below 1e-3 of its tensor's largest) moves
# by about lr whatever rounding did to it; those elements are held to Adam's bound (two steps
# of at most lr each, plus weight decay) instead of the tolerance. Every other element, and
# every gradient, is held to the tolerance.
g_ref = f32(a.ref, "grads.bin")
for fn in ["grads.bin", "params2.bin", "lm_grads.bin"]:
    x, y = f32(a.ref, fn), f32(a.test, fn)
    if x.size != y.size:
        print(f"BAD {a.label} {fn}: {x.size} vs {y.size} floats"); bad += 1; continue
    for p in mr["params"]:
        n = int(np.prod(p["shape"]))
        sl = slice(p["offset"], p["offset"] + n)
        ex = bound = None
        if fn == "params2.bin" and g_ref.size == x.size:
            g = np.abs(g_ref[sl].astype(np.float64))
            ex = g < 1e-3 * float(np.max(g)) if g.size and np.max(g) > 0 else None
            bound = 2 * 2 * mr["lr"] * (1 + mr["wd"])
        check(f"{fn[:-4]}:{p['name']}", x[sl], y[sl], ex, bound)
print(f"{'ok ' if not bad else 'BAD'} {a.label}: {bad} mismatches, worst relative error {worst:.3e} (rtol {a.rtol:g})")
sys.exit(1 if bad else 0)
