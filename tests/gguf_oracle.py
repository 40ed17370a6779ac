"""Oracle for tests/test_gguf.sh: gguf-py (GGUFReader, gguf.quants.dequantize) against
bin/gguf-info. Subcommands (each exits 1 with a short diff on a mismatch):
  quant BIN          synthetic blocks of every convertible type (random + extreme scales,
                     inf/NaN, subnormals, -0) -> gguf-info --dump == gguf-py, bit for bit
  meta BIN           every metadata value type (nested/empty arrays, UTF-8, control bytes)
                     -> gguf-info --meta == what gguf-py reads
  real BIN FILE...   a real (possibly split) file: listing, census, keys and rows of every
                     tensor type == gguf-py
  hostile DIR        writes the hostile files test_gguf.sh expects to be refused
  split FILE N DIR   splits FILE into N parts at odd (not page-aligned) boundaries
  mutate FILE N DIR  N randomly corrupted copies of FILE
The writer below assembles GGUF bytes with struct so that broken files can be made too."""
import os, struct, subprocess, sys
from collections import Counter
import numpy as np
np.seterr(all="ignore")   # inf/NaN scales are part of the test

# ---------------------------------------------------------------- raw GGUF writer
U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
VT_NAME = ["UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32", "BOOL", "STRING",
           "ARRAY", "UINT64", "INT64", "FLOAT64"]
FMT = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f", BOOL: "<B",
       U64: "<Q", I64: "<q", F64: "<d"}


def gstr(b, n=None):
    b = b.encode() if isinstance(b, str) else b
    return struct.pack("<Q", len(b) if n is None else n) + b


def gval(t, v):
    if t == STR:
        return gstr(v)
    if t == ARR:
        et, items = v
        return struct.pack("<IQ", et, len(items)) + b"".join(gval(et, x) for x in items)
    return struct.pack(FMT[t], v)


def gkv(key, t, v):
    return gstr(key) + struct.pack("<I", t) + gval(t, v)


def gguf(kvs=(), tensors=(), version=3, align=32, n_kv=None, n_t=None, extra_kv=b"", tail=b""):
    """kvs: [(key, type, value)] or raw bytes items; tensors: [dict(name, dims, type, data, off)]
    (off None = next aligned offset). Returns the file bytes."""
    kvb = b"".join(k if isinstance(k, bytes) else gkv(*k) for k in kvs) + extra_kv
    data = bytearray()
    infos = b""
    for t in tensors:
        off = t.get("off")
        if off is None:
            off = (len(data) + align - 1) // align * align
        d = t.get("data", b"")
        if d and len(data) < off + len(d):
            data.extend(b"\0" * (off + len(d) - len(data)))
        data[off:off + len(d)] = d
        dims = t["dims"]
        infos += gstr(t["name"]) + struct.pack("<I", t.get("ndim", len(dims)))
        infos += b"".join(struct.pack("<Q", x) for x in dims) + struct.pack("<IQ", t["type"], off)
    head = b"GGUF" + struct.pack("<IQQ", version, len(tensors) if n_t is None else n_t,
                                 (len(kvs) + (1 if extra_kv else 0)) if n_kv is None else n_kv)
    head += kvb + infos
    head += b"\0" * (-len(head) % align)
    return head + bytes(data) + tail


def run(args, **kw):
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    if r.returncode != 0:
        sys.exit(f"FAIL: {' '.join(args[:6])}... exit {r.returncode}: {r.stderr.decode(errors='replace').strip()}")
    return r.stdout


def reader(paths):
    import gguf as gg
    if len(paths) == 1:
        return gg.GGUFReader(paths[0])
    # gguf-py maps one file; hand it the parts' concatenation instead
    data = np.concatenate([np.memmap(p, mode="r") for p in paths])
    r = object.__new__(gg.GGUFReader)
    orig = np.memmap
    np.memmap = lambda *a, **k: data
    try:
        gg.GGUFReader.__init__(r, paths[0])
    finally:
        np.memmap = orig
    return r


def bit_compare(what, got, want):
    """f32 bit patterns equal, NaN == NaN (any payload)"""
    got = np.ascontiguousarray(got, dtype=np.float32).ravel()
    want = np.ascontiguousarray(want, dtype=np.float32).ravel()
    if got.shape != want.shape:
        sys.exit(f"FAIL: {what}: {got.size} values, gguf-py has {want.size}")
    gb, wb = got.view(np.uint32), want.view(np.uint32)
    bad = (gb != wb) & ~(np.isnan(got) & np.isnan(want))
    if bad.any():
        i = int(np.argmax(bad))
        sys.exit(f"FAIL: {what}: {int(bad.sum())} of {got.size} values differ; first at {i}: "
                 f"got {got[i]!r} ({gb[i]:#010x}) want {want[i]!r} ({wb[i]:#010x})")


def dump_many(binp, paths, reqs):
    """reqs: [(name, row0, nrows)] -> list of f32 arrays, from one gguf-info run"""
    args = [f"{binp}/gguf-info"]
    for name, r0, n in reqs:
        args += ["--dump", name, str(r0), str(n)]
    out = np.frombuffer(run(args + list(paths)), dtype="<f4")
    res, pos = [], 0
    for name, r0, n in reqs:
        k = n * reqs_ne0[name]
        res.append(out[pos:pos + k])
        pos += k
    if pos != out.size:
        sys.exit(f"FAIL: dump wrote {out.size} floats, expected {pos}")
    return res


reqs_ne0 = {}

# ---------------------------------------------------------------- quant
def cmd_quant(binp):
    import gguf as gg
    from gguf.constants import GGML_QUANT_SIZES
    Q = gg.GGMLQuantizationType
    rng = np.random.default_rng(1234)
    # where the f16 scales sit in each block type: (d, dmin)
    scale_at = {"Q4_0": [0], "Q4_1": [0, 2], "Q5_0": [0], "Q5_1": [0, 2], "Q8_0": [0],
                "Q2_K": [80, 82], "Q3_K": [108], "Q4_K": [0, 2], "Q5_K": [0, 2], "Q6_K": [208]}
    extremes = [0x7bff, 0xfbff, 0x0001, 0x8001, 0x03ff, 0x0000, 0x8000, 0x3c00, 0x0400, 0x7c00, 0x7e00, 0x1234]
    specials16 = [0x0000, 0x8000, 0x0001, 0x8001, 0x03ff, 0x0400, 0x7bff, 0xfbff, 0x7c00, 0xfc00, 0x7e00,
                  0x7c01, 0xfe00, 0x3c00, 0xbc00, 0x3555]
    specialsbf = [0x0000, 0x8000, 0x0001, 0x8001, 0x007f, 0x0080, 0x7f7f, 0xff7f, 0x7f80, 0xff80, 0x7fc0,
                  0x7f81, 0xffc0, 0x3f80, 0xbf80, 0x4049]
    tensors, expect = [], {}
    names = ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"]
    for tn in names:
        qt = Q[tn]
        blk, bs = GGML_QUANT_SIZES[qt]
        # random: > 4096 blocks so the threaded path splits it; rows of 4 blocks (or 128 elements)
        per_row = 4 if blk > 1 else 128
        nrows = 4100 // per_row + 3
        raw = rng.integers(0, 256, size=nrows * per_row * bs, dtype=np.uint8).tobytes()
        tensors.append(dict(name=f"{tn}.rand", dims=[blk * per_row, nrows], type=int(qt), data=raw))
        # edges: every extreme scale in every scale slot, with quant bytes 0x00 / 0xff / random
        if blk > 1:
            blocks = []
            for e in extremes:
                for fill in (0x00, 0xff, None):
                    b = bytearray(rng.integers(0, 256, size=bs, dtype=np.uint8).tobytes() if fill is None else bytes([fill]) * bs)
                    for at in scale_at[tn]:
                        b[at:at + 2] = struct.pack("<H", e)
                    blocks.append(bytes(b))
                    if len(scale_at[tn]) > 1:   # dmin extreme with an ordinary d
                        b2 = bytearray(b)
                        b2[scale_at[tn][0]:scale_at[tn][0] + 2] = struct.pack("<H", 0x3c00)
                        blocks.append(bytes(b2))
            raw = b"".join(blocks)
            tensors.append(dict(name=f"{tn}.edge", dims=[blk, len(blocks)], type=int(qt), data=raw))
        elif tn == "F32":
            vals = np.array([0.0, -0.0, 1e-45, -1e-45, 1.17549435e-38, 3.4028235e38, -3.4028235e38,
                             np.inf, -np.inf, np.nan, 1.0, -2.5, 0.1, 1e-40, 65504.0, 6e-8], dtype="<f4")
            tensors.append(dict(name="F32.edge", dims=[16], type=0, data=vals.tobytes()))
        else:
            sp = specials16 if tn == "F16" else specialsbf
            tensors.append(dict(name=f"{tn}.edge", dims=[len(sp), 2], type=int(qt),
                                data=struct.pack(f"<{len(sp)}H", *sp) * 2))
    path = "quant.gguf"
    open(path, "wb").write(gguf([("general.architecture", STR, "synthetic")], tensors))
    r = gg.GGUFReader(path)
    for t in r.tensors:
        reqs_ne0[t.name] = int(t.shape[0])
    reqs = [(t.name, 0, int(np.prod(t.shape)) // int(t.shape[0])) for t in r.tensors]
    # also a few row slices (row0 > 0) to check the row addressing
    slices = [(t.name, 1, 2) for t in r.tensors if int(np.prod(t.shape)) // int(t.shape[0]) >= 3]
    got = dump_many(binp, [path], reqs + slices)
    checked = Counter()
    for (name, r0, n), g in zip(reqs + slices, got):
        t = next(x for x in r.tensors if x.name == name)
        rows = np.asarray(t.data).reshape(-1, t.data.shape[-1]) if t.data.ndim > 1 else np.asarray(t.data).reshape(1, -1)
        if t.tensor_type == Q.BF16:   # gguf-py's reader gives BF16 as bytes
            rows = np.asarray(t.data).reshape(-1, int(t.shape[0]) * 2)
        want = gg.quants.dequantize(rows[r0:r0 + n], t.tensor_type)
        bit_compare(f"{name} rows {r0}+{n}", g, want)
        checked[t.tensor_type.name] += g.size
    for tn in names:
        if checked[tn] == 0:
            sys.exit(f"FAIL: type {tn} not checked")
    n_nan = sum(int(np.isnan(g).sum()) for g in got)
    print(f"quant ok: {len(reqs) + len(slices)} dumps, {sum(checked.values())} values, {n_nan} NaN, types {' '.join(names)}")


# ---------------------------------------------------------------- formatting (mirrors gguf_kv_print)
def fmt_str(b, max_str):
    cut = len(b)
    if len(b) > max_str:
        cut = max_str
        while cut > 0 and (b[cut] & 0xC0) == 0x80:
            cut -= 1
    res = bytearray(b'"')   # bytes >= 0x80 pass through raw (UTF-8 stays readable)
    for ch in b[:cut]:
        if ch in (0x22, 0x5C):
            res += b"\\" + bytes([ch])
        elif ch < 0x20 or ch == 0x7F:
            res += b"\\x%02x" % ch
        else:
            res.append(ch)
    res += b'"'
    if cut < len(b):
        res += b"...(+%d bytes)" % (len(b) - cut)
    return bytes(res)


def fmt_scalar(t, v, max_str):
    if t == F32:
        return b"%.9g" % float(np.float32(v))
    if t == F64:
        return b"%.17g" % float(v)
    if t == BOOL:
        return b"true" if v else b"false"
    if t == STR:
        return fmt_str(v.encode() if isinstance(v, str) else bytes(v), max_str)
    return b"%d" % int(v)


def fmt_val(t, v, items, max_str):
    if t != ARR:
        return fmt_scalar(t, v, max_str)
    et, xs = v
    parts = [fmt_val(et, x, items, max_str) for x in xs[:items]]
    more = b"" if len(xs) <= items else (b", ..." if items else b"...")
    return b"[" + b", ".join(parts) + more + b"]"


def kv_line(key, t, v, items, max_str):
    if t == ARR:
        head = b"ARRAY[%s] %d " % (VT_NAME[v[0]].encode(), len(v[1]))
    else:
        head = VT_NAME[t].encode() + b" "
    return b"kv " + key.encode() + b" " + head + fmt_val(t, v, items, max_str)


def flatten(t, v):
    if t != ARR:
        return [v]
    out = []
    for x in v[1]:
        out += flatten(v[0], x)
    return out


def cmd_meta(binp):
    import gguf as gg
    spec = [
        ("u8", U8, 255), ("i8", I8, -128), ("u16", U16, 65535), ("i16", I16, -32768),
        ("u32", U32, 4294967295), ("i32", I32, -2147483648), ("f32", F32, 3.1415927410125732),
        ("f32.tiny", F32, 1.401298464324817e-45), ("f32.inf", F32, float("-inf")),
        ("bool.t", BOOL, 1), ("bool.f", BOOL, 0),
        ("str", STR, "hello"), ("str.empty", STR, ""), ("str.utf8", STR, "Grüße, 世界 🎬"),
        ("str.ctl", STR, 'tab\tnl\n"q"\\ del\x7f'), ("str.long", STR, "é" * 50),
        ("u64", U64, 18446744073709551615), ("i64", I64, -9223372036854775808),
        ("f64", F64, 0.1), ("f64.big", F64, -1.7976931348623157e308),
        ("arr.u8", ARR, (U8, [0, 1, 255])), ("arr.i8", ARR, (I8, [-1, 2])), ("arr.u16", ARR, (U16, [7])),
        ("arr.i16", ARR, (I16, [-7, 7])), ("arr.u32", ARR, (U32, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])),
        ("arr.i32", ARR, (I32, [-5, 0, 5])), ("arr.f32", ARR, (F32, [0.5, -0.0, 1e-3])),
        ("arr.bool", ARR, (BOOL, [1, 0, 1])), ("arr.str", ARR, (STR, ["a", "", "ü", "x" * 100])),
        ("arr.u64", ARR, (U64, [2 ** 64 - 1])), ("arr.i64", ARR, (I64, [-2 ** 63, 2 ** 63 - 1])),
        ("arr.f64", ARR, (F64, [2.5, -1e300])), ("arr.empty", ARR, (I32, [])), ("arr.empty_str", ARR, (STR, [])),
        ("arr.nested", ARR, (ARR, [(I32, [1, 2, 3]), (STR, ["x", "yz"]), (F32, []), (ARR, [(U8, [9])])])),
        ("ключ.utf8", STR, "value"),
    ]
    items, max_str = 10, 40
    open("meta.gguf", "wb").write(gguf(spec, [dict(name="w", dims=[4], type=0, data=b"\0" * 16)]))
    out = run([f"{binp}/gguf-info", "--meta", "--items", str(items), "--str", str(max_str), "meta.gguf"])
    got = [l for l in out.split(b"\n") if l.startswith(b"kv ")]
    r = gg.GGUFReader("meta.gguf")
    fields = [f for k, f in r.fields.items() if not k.startswith("GGUF.")]
    if len(fields) != len(spec) or len(got) != len(spec):
        sys.exit(f"FAIL: {len(got)} kv lines, gguf-py {len(fields)} fields, spec {len(spec)}")
    for (key, t, v), f, line in zip(spec, fields, got):
        # what gguf-py reads == what was written (nested arrays: gguf-py flattens them)
        if f.name != key or f.types[0] != t:
            sys.exit(f"FAIL: gguf-py reads {f.name} {f.types}, spec {key} {t}")
        nested = t == ARR and v[0] == ARR
        if not nested:   # gguf-py flattens nested arrays (its FIXME): for those only the types are checked
            pyv = f.contents()
            pyl = list(pyv) if t == ARR else [pyv]
            want_n = list(v[1]) if t == ARR else [v]
            if (v[0] if t == ARR else t) == F32:
                want_n = [float(np.float32(x)) for x in want_n]
            if (v[0] if t == ARR else t) == BOOL:
                want_n = [bool(x) for x in want_n]
            if pyl != want_n:
                sys.exit(f"FAIL: gguf-py reads {key} as {pyl!r}, written {want_n!r}")
        want = kv_line(key, t, v, items, max_str)
        if line != want:
            sys.exit(f"FAIL: meta line\n got: {line!r}\nwant: {want!r}")
    print(f"meta ok: {len(spec)} keys")


# ---------------------------------------------------------------- real files
def cmd_real(binp, paths):
    import gguf as gg
    r = reader(paths)
    items, max_str = 3, 40
    out = run([f"{binp}/gguf-info", "--meta", "--items", str(items), "--str", str(max_str)] + paths)
    lines = out.split(b"\n")
    fields = [f for k, f in r.fields.items() if not k.startswith("GGUF.")]
    head = (b"gguf version=%d n_kv=%d n_tensors=%d alignment=%d data_offset=%d size=%d" %
            (int(r.fields["GGUF.version"].parts[0][0]), len(fields), len(r.tensors), r.alignment, r.data_offset,
             sum(os.path.getsize(p) for p in paths)))
    if lines[0] != head:
        sys.exit(f"FAIL: header\n got: {lines[0]!r}\nwant: {head!r}")
    kvl = [l for l in lines if l.startswith(b"kv ")]
    for f, line in zip(fields, kvl):
        t = f.types[0]
        if t == ARR:
            et = f.types[1]
            n = len(f.data)
            if et == STR:
                xs = [bytes(f.parts[f.data[i]]) for i in range(min(n, items))]
            else:
                xs = [f.parts[f.data[i]].tolist()[0] for i in range(min(n, items))]
            v = (et, xs + [None] * (n - len(xs)))
        elif t == STR:
            v = bytes(f.parts[-1])
        else:
            v = f.parts[-1].tolist()[0]
        want = kv_line(f.name, t, v, items, max_str)
        if line != want:
            sys.exit(f"FAIL: meta line\n got: {line[:300]!r}\nwant: {want[:300]!r}")
    if len(kvl) != len(fields):
        sys.exit(f"FAIL: {len(kvl)} kv lines, gguf-py has {len(fields)} keys")
    tl = [l for l in lines[1:] if l and not l.startswith(b"kv ") and not l.startswith(b"types:")]
    if len(tl) != len(r.tensors):
        sys.exit(f"FAIL: {len(tl)} tensor lines, gguf-py has {len(r.tensors)}")
    for t, line in zip(r.tensors, tl):
        want = b"%s %s [%s] %d %d" % (t.name.encode(), t.tensor_type.name.encode(),
                                      b",".join(b"%d" % d for d in t.shape.tolist()),
                                      t.data_offset - r.data_offset, t.n_bytes)
        if line != want:
            sys.exit(f"FAIL: tensor line\n got: {line!r}\nwant: {want!r}")
    census = Counter(t.tensor_type for t in r.tensors)
    want = b"types: " + b", ".join(b"%s %d" % (k.name.encode(), census[k]) for k in sorted(census))
    if lines[-2] != want:
        sys.exit(f"FAIL: census\n got: {lines[-2]!r}\nwant: {want!r}")
    # rows of every type: first, middle and last tensor of the type; first, middle, last rows;
    # and the smallest tensor of each type whole
    by_type = {}
    for t in r.tensors:
        by_type.setdefault(t.tensor_type, []).append(t)
    reqs = []
    for qt, ts in by_type.items():
        pick = {id(x): x for x in [ts[0], ts[len(ts) // 2], ts[-1], min(ts, key=lambda x: x.n_bytes)]}
        for t in pick.values():
            ne0 = int(t.shape[0])
            nrows = int(np.prod(t.shape)) // ne0
            reqs_ne0[t.name] = ne0
            if t is min(ts, key=lambda x: x.n_bytes):
                reqs.append((t.name, 0, nrows))
            else:
                for r0, n in ((0, 1), (nrows // 2, min(2, nrows - nrows // 2)), (nrows - 1, 1)):
                    reqs.append((t.name, r0, n))
    got = dump_many(binp, paths, reqs)
    tmap = {t.name: t for t in r.tensors}
    nvals = 0
    for (name, r0, n), g in zip(reqs, got):
        t = tmap[name]
        rows = np.asarray(t.data).reshape(-1, t.data.shape[-1])
        bit_compare(f"{name} ({t.tensor_type.name}) rows {r0}+{n}", g, gg.quants.dequantize(rows[r0:r0 + n], t.tensor_type))
        nvals += g.size
    check = os.environ.get("GGUF_CHECK")   # the API harness of test_gguf.sh: every array element
    if check:
        for f in fields:
            if f.types[0] != ARR or f.types[1] not in (STR, I32, F32):
                continue
            raw = run([check, "arr"] + paths + [f.name])
            if f.types[1] == STR:
                want = b"".join(struct.pack("<Q", len(f.parts[i])) + bytes(f.parts[i]) for i in f.data)
            else:
                want = b"".join(bytes(f.parts[i]) for i in f.data)
            if raw != want:
                sys.exit(f"FAIL: API array {f.name}: {len(raw)} bytes differ from gguf-py's {len(want)}")
            nvals += len(f.data)
    print(f"real ok: {len(r.tensors)} tensors, {len(fields)} keys, {len(reqs)} row dumps ({nvals} values) of "
          f"{' '.join(sorted(k.name for k in by_type))}")


# ---------------------------------------------------------------- hostile files
def cmd_hostile(d):
    os.makedirs(d, exist_ok=True)
    w = lambda name, b: open(os.path.join(d, name + ".gguf"), "wb").write(b)
    T = lambda name="w", dims=(32, 2), ty=0, data=None, off=None, **k: dict(
        name=name, dims=list(dims), type=ty, data=(b"\0" * (4 * int(np.prod(dims))) if data is None else data), off=off, **k)
    kv = [("general.architecture", STR, "llama"), ("general.name", STR, "tiny"), ("x.n", U32, 7)]
    ok = gguf(kv, [T("a"), T("b", (64,))])
    w("ok", ok)
    w("ok_v2", gguf(kv, [T("a")], version=2))
    w("ok_empty", gguf())
    w("ok_align64", gguf([("general.alignment", U32, 64)] + kv, [T("a", (8,)), T("b", (8,), off=64)], align=64))
    w("ok_gap", gguf(kv, [T("a", (8,)), T("b", (8,), off=96)]))
    hdr_end = ok.index(b"x.n") + 3 + 4 + 4   # after the last kv
    w("trunc_2", ok[:2])
    w("trunc_header", ok[:12])
    w("trunc_kv", ok[:ok.index(b"tiny") + 2])
    w("trunc_kvtype", ok[:ok.index(b"x.n") + 5])
    w("trunc_tinfo", ok[:hdr_end + 12])
    w("trunc_data", ok[:-100])
    w("bad_magic", b"GGUG" + ok[4:])
    w("v1", b"GGUF" + struct.pack("<I", 1) + ok[8:])
    w("v4", b"GGUF" + struct.pack("<I", 4) + ok[8:])
    w("big_endian", b"GGUF" + struct.pack(">I", 3) + ok[8:])
    w("nkv_huge", gguf(kv, [T("a")], n_kv=2 ** 64 - 1))
    w("nt_huge", gguf(kv, [T("a")], n_t=2 ** 64 - 2))
    w("nkv_more", gguf(kv, [T("a")], n_kv=4))
    w("arr_huge", gguf(kv, extra_kv=gstr("a.b") + struct.pack("<IIQ", ARR, U32, 2 ** 64 - 1) + b"\0" * 64))
    w("arr_huge_str", gguf(kv, extra_kv=gstr("a.b") + struct.pack("<IIQ", ARR, STR, 2 ** 61) + b"\0" * 64))
    w("str_huge", gguf(kv, extra_kv=gstr("a.s") + struct.pack("<I", STR) + gstr(b"abc", n=2 ** 64 - 3)))
    w("str_past", gguf(kv, extra_kv=gstr("a.s") + struct.pack("<I", STR) + gstr(b"abc", n=1000)))
    w("key_huge", gguf(kv, extra_kv=gstr(b"k", n=2 ** 63) + b"\0" * 32))
    w("arrstr_past", gguf(kv, extra_kv=gstr("a.t") + struct.pack("<II", ARR, STR) + struct.pack("<Q", 2) + gstr("x") + gstr(b"y", n=500)))
    w("ndims5", gguf(kv, [T("a", (32, 1, 1, 1, 1))]))
    w("dim0", gguf(kv, [T("a", (32, 0), data=b"")]))
    w("dim_overflow", gguf(kv, [T("a", (2 ** 40, 2 ** 40), data=b"\0" * 64)]))
    w("nbytes_overflow", gguf(kv, [T("a", (2 ** 62,), data=b"\0" * 64)]))
    w("off_past", gguf(kv, [T("a"), T("b", (8,), off=1 << 20, data=b"")]))
    w("off_huge", gguf(kv, [T("a"), T("b", (8,), off=2 ** 64 - 32, data=b"")]))
    w("misaligned", gguf(kv, [T("a", (8,)), T("b", (8,), off=40)]))
    w("overlap", gguf(kv, [T("a", (32,)), T("b", (8,), off=64)]))
    w("dup_tensor", gguf(kv, [T("a"), T("a")]))
    w("dup_key", gguf(kv + [("x.n", U32, 8)], [T("a")]))
    w("bad_ggml_type", gguf(kv, [T("a", ty=200)]))
    w("retired_type", gguf(kv, [T("a", ty=4)]))
    w("bad_vtype", gguf(kv, extra_kv=gstr("a.v") + struct.pack("<I", 13) + b"\0" * 16))
    w("bad_arr_vtype", gguf(kv, extra_kv=gstr("a.v") + struct.pack("<IIQ", ARR, 99, 1) + b"\0" * 16))
    w("align0", gguf([("general.alignment", U32, 0)] + kv, [T("a")]))
    w("align3", gguf([("general.alignment", U32, 3)] + kv, [T("a")], align=3))
    w("align_type", gguf([("general.alignment", U64, 32)] + kv, [T("a")]))
    w("row_block", gguf(kv, [T("a", (48, 2), ty=2, data=b"\0" * 18 * 3)]))
    w("bad_bool", gguf(kv + [("a.b", BOOL, 2)]))
    w("bad_bool_arr", gguf(kv + [("a.b", ARR, (BOOL, [0, 1, 7]))]))
    nest = struct.pack("<I", ARR) + struct.pack("<IQ", ARR, 1) * 9 + struct.pack("<IQ", U8, 0)
    w("deep_nest", gguf(kv, extra_kv=gstr("a.n") + nest))
    w("ok_nest", gguf(kv, extra_kv=gstr("a.n") + struct.pack("<I", ARR) + struct.pack("<IQ", ARR, 1) * 7 + struct.pack("<IQ", U8, 0)))
    w("empty_name", gguf(kv, [T("")]))
    w("nul_key", gguf(kv + [("a\0b", U32, 1)]))
    w("nl_name", gguf(kv, [T("a\nb", (8,)), T("a\nb", (8,))]))
    w("iq", gguf(kv, [T("q", (256,), ty=17, data=b"\1" * 74)]))   # known, not convertible
    # a 2-part split of a broken file: the message names the first part
    b = gguf(kv, [T("a"), T("b", (8,), off=40)])
    open(os.path.join(d, "p1.bin"), "wb").write(b[:50])
    open(os.path.join(d, "p2.bin"), "wb").write(b[50:])
    print("hostile ok")


def cmd_mutate(src, n, d):
    """n mutants of src: random bytes, 32/64-bit fields set to edge values, cuts"""
    import random
    rnd = random.Random(7)
    b = open(src, "rb").read()
    os.makedirs(d, exist_ok=True)
    edges = [0, 1, 2 ** 31, 2 ** 32 - 1, 2 ** 63, 2 ** 64 - 1, 2 ** 64 - 8, 13, 4, 200]
    for k in range(int(n)):
        m = bytearray(b)
        for _ in range(rnd.randint(1, 3)):
            i = rnd.randrange(len(m) - 8)
            op = rnd.randrange(4)
            if op == 0:
                m[i] = rnd.randrange(256)
            elif op == 1:
                m[i:i + 8] = struct.pack("<Q", rnd.choice(edges))
            elif op == 2:
                m[i:i + 4] = struct.pack("<I", rnd.choice(edges) & 0xFFFFFFFF)
            else:
                del m[rnd.randrange(len(m)):]
                break
        open(os.path.join(d, f"mut{k:04d}.gguf"), "wb").write(bytes(m))


def cmd_split(path, n, d):
    b = open(path, "rb").read()
    n = int(n)
    cuts = [0] + [len(b) * k // n + 1 for k in range(1, n)] + [len(b)]
    for k in range(n):
        open(os.path.join(d, f"split{k + 1}.bin"), "wb").write(b[cuts[k]:cuts[k + 1]])


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"quant": lambda: cmd_quant(*args), "meta": lambda: cmd_meta(*args),
     "real": lambda: cmd_real(args[0], args[1:]), "hostile": lambda: cmd_hostile(*args),
     "split": lambda: cmd_split(*args), "mutate": lambda: cmd_mutate(*args)}[cmd]()
