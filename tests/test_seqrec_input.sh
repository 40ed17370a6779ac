# seqrec inputs: starred-variant initialisation from LLM item embeddings (.npy, raw float32,
# safetensors as `ground` caches them) checked against numpy's PCA, and bad input: one clear
# line naming file / line / field, the documented exit code, no output file left behind.
source "$ROOT/tests/lib.sh"
S="$BIN/seqrec"
R="$DATA_ROOT/amazon2018-raw"
"$BIN/amz-filter" -q --no-window --meta "$R/meta_Gift_Cards.json.gz" "$R/Gift_Cards_5.json.gz" | "$BIN/split811" -q -o gs
N=$(wc -l < gs/items.jsonl)

# LLM-like embeddings (N, 24) with a clear 4-dim principal subspace, in three containers
"$PY" - "$N" <<'PY'
import sys, numpy as np, torch
from safetensors.torch import save_file
N = int(sys.argv[1]); r = np.random.RandomState(0)
X = (r.randn(N, 4) * [9, 7, 5, 4]) @ r.randn(4, 24) + 0.05 * r.randn(N, 24) + 3.0
X = X.astype(np.float32)
np.save("emb.npy", X); X.tofile("emb.bin")
save_file({"item_emb": torch.from_numpy(X), "other": torch.zeros(3, 2)}, "item_emb.safetensors")
PY
for f in emb.npy "emb.bin --init-emb-dims $N,24" item_emb.safetensors; do
  set -- $f
  "$S" --model sasrec --data gs --hidden 4 --heads 1 --epochs 0 --init-emb "$@" --dump-init init_${1%%.*}.f32 --out r.jsonl -q
done
same init_emb.f32 init_item_emb.f32
"$PY" - "$N" <<'PY'
import sys, numpy as np
N = int(sys.argv[1])
X = np.load("emb.npy").astype(np.float64); Xc = X - X.mean(0)
Y = np.fromfile("init_emb.f32", dtype=np.float32).reshape(N, 4).astype(np.float64)
assert abs(Y.std() - 0.02) < 2e-3 and abs(Y.mean()) < 1e-4, f"scale: std {Y.std()} mean {Y.mean()}"
w, V = np.linalg.eigh(Xc.T @ Xc / N); P = Xc @ V[:, -4:]          # numpy PCA, top 4
# same column space: Y is P up to rotation/sign inside the subspace and one global scale
coef, *_ = np.linalg.lstsq(P, Y, rcond=None)
res = np.linalg.norm(P @ coef - Y) / np.linalg.norm(Y)
assert res < 1e-3, f"init embeddings are not the top-4 principal subspace (residual {res})"
# and the variance order is kept: column k of Y carries component k (largest first)
v = Y.var(0); assert np.all(np.diff(v) <= 1e-9 + 1e-3 * v[0]), f"columns not by decreasing variance: {v}"
PY
# the starred model trains from there and differs from the plain one
"$S" --model gru4rec --data gs --epochs 1 --init-emb emb.npy --out star.jsonl -q
"$S" --model gru4rec --data gs --epochs 1 --out plain.jsonl -q
cmp -s star.jsonl plain.jsonl && die "--init-emb changed nothing"

# ---- bad input ----
expect_fail 2 "model: expected sasrec, gru4rec or caser" "$S" --model bert4rec --data gs
expect_fail 2 "--model is required" "$S" --data gs
expect_fail 2 "unknown option '--nope'" "$S" --model caser --data gs --nope 1
expect_fail 2 "dropout: expected a number" "$S" --model caser --data gs --dropout 1.5
expect_fail 3 "nothere/items.jsonl: cannot open" "$S" --model caser --data nothere
printf 'model = sasrec\nlayers = 2\nlayer = 3\n' > bad.conf
expect_fail 2 "bad.conf:3: layer: unknown key" "$S" --model sasrec --config bad.conf --data gs
expect_fail 2 "bad.conf:1: model: config is for 'sasrec', not 'caser'" "$S" --model caser --config bad.conf --data gs
mkdir -p bad; cp gs/*.jsonl bad/
sed -i '3s/"target": {"item": "[^"]*"/"target": {"item": "NOT-AN-ITEM"/' bad/test.jsonl
expect_fail 1 "bad/test.jsonl:3: .*NOT-AN-ITEM|bad/test.jsonl:3: target" "$S" --model sasrec --data bad --epochs 1 --out out.jsonl
[ ! -e out.jsonl ] || die "failed run left out.jsonl"
ls out.jsonl.tmp.* 2> /dev/null && die "failed run left a temp file"
"$PY" -c "import numpy as np; np.save('short.npy', np.zeros((5, 8), np.float32)); np.save('f64.npy', np.zeros((5, 8)))"
expect_fail 1 "short.npy: 5 rows, but the catalogue has $N items" "$S" --model sasrec --data gs --init-emb short.npy --out out.jsonl
expect_fail 1 "f64.npy: .npy dtype must be '<f4'" "$S" --model sasrec --data gs --init-emb f64.npy
expect_fail 2 "raw float32 needs --init-emb-dims" "$S" --model sasrec --data gs --init-emb emb.bin
expect_fail 1 "emb.bin: .* bytes, but --init-emb-dims 7,24 needs" "$S" --model sasrec --data gs --init-emb emb.bin --init-emb-dims 7,24
expect_fail 1 "no tensor 'nope'" "$S" --model sasrec --data gs --init-emb item_emb.safetensors --init-emb-key nope
[ ! -e out.jsonl ] || die "failed run left out.jsonl"
echo "seqrec inputs ok"
