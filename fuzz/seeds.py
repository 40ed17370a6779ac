#!/usr/bin/env python3
"""Seed corpora and fixed inputs for the fuzz harnesses (fuzz/README.md), from real data.
usage: seeds.py DATA_ROOT OUT      (OUT = build/fuzz: writes OUT/data/ and OUT/seeds/<target>/)

  data/items.jsonl             the MovieLens-100k catalogue (split811's layout; samples/ranked resolve against it)
  data/tokenizer_smol.json     SmolLM2-shaped byte-level BPE (Digits + ByteLevel, no normalizer), merges
  data/tokenizer_qwen.json     Qwen2-shaped (NFC, Split regex + ByteLevel), learnt here from real titles
  data/tokenizer_config.json   eos <|im_end|>, pad <|endoftext|>
  seeds/<target>/              seeds: real JSONL lines (MovieLens-100k samples, prompts and ranked lists made
                               as split811 / mkprompt / mostpop make them; Amazon 2018 raw reviews and
                               metadata; D3's CDs titles), small safetensors / GGUF files written here
                               byte by byte, configs of the two backbones' shapes, texts.
Only the Python standard library is used. Deterministic."""
import gzip, json, os, random, re, struct, sys, unicodedata

ROOT, OUT = sys.argv[1], sys.argv[2]
DATA, CORPUS = os.path.join(OUT, "data"), os.path.join(OUT, "seeds")
rng = random.Random(14)


def put(target, name, content):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    with open(os.path.join(d, name), "wb") as f:
        f.write(content)


def jl(rows):
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def gz_lines(path, n):
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            out.append(line.rstrip("\n"))
            if len(out) == n:
                break
    return out


os.makedirs(DATA, exist_ok=True)

# ---------------------------------------------------------------- MovieLens-100k: catalogue, samples
ml = os.path.join(ROOT, "movielens-100k")
titles = {}
with open(os.path.join(ml, "u.item"), encoding="latin-1") as f:
    for line in f:
        p = line.rstrip("\n").split("|")
        titles[p[0]] = p[1].strip()
inter = []
with open(os.path.join(ml, "u.data")) as f:
    for line in f:
        u, i, r, t = line.split("\t")
        inter.append((u, i, int(t)))
order, first, seqs = [], {}, {}
for k, (u, i, t) in enumerate(inter):
    if i not in first:
        first[i] = len(order)
        order.append(i)
    seqs.setdefault(u, []).append((t, k, i))
samples = []
for uo, (u, seq) in enumerate(sorted(seqs.items(), key=lambda kv: kv[1][0][1])):
    seq.sort(key=lambda x: x[0])   # stable: ties keep input order
    for j in range(1, len(seq)):
        hist = [{"item": i, "title": titles[i], "ts": t} for t, _, i in seq[max(0, j - 10):j]]
        t, _, i = seq[j]
        samples.append((t, uo, j, {"user": u, "history": hist, "target": {"item": i, "title": titles[i], "ts": t}}))
samples.sort(key=lambda s: (s[0], s[1], s[2]))
n = len(samples)
for k, (_, _, _, s) in enumerate(samples):
    s["id"] = k
    s["split"] = "train" if k < n * 8 // 10 else "valid" if k < n * 9 // 10 else "test"
samples = [{"id": s["id"], "user": s["user"], "history": s["history"], "target": s["target"], "split": s["split"]}
           for _, _, _, s in samples]
count = {i: 0 for i in order}
for s in samples:
    if s["split"] == "train":
        count[s["target"]["item"]] += 1
items = [{"id": k, "item": i, "title": titles[i], "count": count[i]} for k, i in enumerate(order)]
with open(os.path.join(DATA, "items.jsonl"), "w", encoding="utf-8") as f:
    f.write(jl(items))
cid = {i: k for k, i in enumerate(order)}

for k in (1, 3, 30, 100):
    put("items", "ml100k_head%d.jsonl" % k, jl(items[:k]))
put("items", "ml100k_head30.jsonl.gz", gzip.compress(jl(items[:30]).encode(), mtime=0))
d3 = []
with open(os.path.join(ROOT, "d3-cds", "info", os.listdir(os.path.join(ROOT, "d3-cds", "info"))[0]), encoding="utf-8") as f:
    for line in f:
        t, i = line.rstrip("\n").rsplit("\t", 1)
        d3.append((t, i))
put("items", "d3cds_head60.jsonl", jl({"id": k, "item": i, "title": t, "count": k % 3} for k, (t, i) in enumerate(d3[:60])))
put("items", "dup_title.jsonl", jl([{"id": 0, "item": "a", "title": "Same", "count": 1}, {"id": 1, "item": "b", "title": "Same", "count": 0},
                                    {"id": 2, "item": "c", "title": "Other", "count": 2}]))

train = [s for s in samples if s["split"] == "train"]
valid = [s for s in samples if s["split"] == "valid"]
test = [s for s in samples if s["split"] == "test"]
put("samples", "train_head1.jsonl", jl(train[:1]))
put("samples", "train_head5.jsonl", jl(train[:5]))
put("samples", "train_long_history.jsonl", jl(train[3000:3004]))
put("samples", "valid_head3.jsonl", jl(valid[:3]))
put("samples", "test_head8.jsonl", jl(test[:8]))
put("samples", "test_head5.jsonl.gz", gzip.compress(jl(test[:5]).encode(), mtime=0))
put("samples", "unknown_item.jsonl", jl([dict(test[0], target={"item": "B004LLIKVU", "title": "Amazon.com Gift Card", "ts": 1529193600})]))

# ranked lists: mostpop's list (top train count, ties lower id) for test samples
pop = sorted(range(len(items)), key=lambda k: (-items[k]["count"], k))[:20]
put("ranked", "mostpop_1.jsonl", jl([{"id": test[0]["id"], "items": pop}]))
put("ranked", "mostpop_10.jsonl", jl({"id": s["id"], "items": pop[:10]} for s in test[:10]))
put("ranked", "ground_like.jsonl", jl([{"id": s["id"], "items": [cid[e["item"]] for e in s["history"]][::-1]} for s in test[:5]]
                                     + [{"id": 99999999, "items": []}]))

# ---------------------------------------------------------------- prompts (mkprompt's layout)
tmpl = {}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "configs", "templates", "movies.txt"), encoding="utf-8") as f:
    for line in f:
        if line.startswith("instruction:") or line.startswith("input:"):
            k, v = line.rstrip("\n").split(": ", 1)
            tmpl[k] = v
ALPACA = ("Below is an instruction that describes a task, paired with an input that provides further context. "
          "Write a response that appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n"
          "### Input:\n{input}\n\n### Response:\n")
CHATML = ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n{instruction}\n\n{input}"
          "<|im_end|>\n<|im_start|>assistant\n")


def prompt(s, frame, history=True):
    h = ", ".join('"%s"' % e["title"] for e in s["history"]) if history else "None"
    return frame.format(instruction=tmpl["instruction"], input=tmpl["input"].replace("{history}", h))


def prec(s, frame, pair):
    r = {"id": s["id"], "prompt": prompt(s, frame), "response": '"%s"\n' % s["target"]["title"]}
    if pair:
        r["cf_prompt"] = prompt(s, frame, history=False)
    return r


put("prompts", "pairs_1.jsonl", jl([prec(train[0], ALPACA, True)]))
put("prompts", "pairs_5.jsonl", jl(prec(s, ALPACA, True) for s in train[100:105]))
put("prompts", "test_3.jsonl", jl(prec(s, ALPACA, False) for s in test[:3]))
put("prompts", "chatml_pairs_3.jsonl", jl(prec(s, CHATML, True) for s in train[200:203]))
put("prompts", "lm_corpus.txt", "".join(i["title"] + "\n" for i in items[:20]))

# ---------------------------------------------------------------- Amazon raw lines (the JSON scanner)
raw = os.path.join(ROOT, "amazon2018-raw")
lines = (gz_lines(os.path.join(raw, "Gift_Cards_5.json.gz"), 120) + gz_lines(os.path.join(raw, "meta_Gift_Cards.json.gz"), 80)
         + gz_lines(os.path.join(raw, "All_Beauty_5.json.gz"), 40) + gz_lines(os.path.join(raw, "Appliances_5.json.gz"), 30))
for k, l in enumerate(lines):
    put("amzscan", "raw%03d.json" % k, l)
for k, l in enumerate(['{"a": [1, -0.5e+3, true, false, null, {"b": "\\u00e9\\n"}], "asin": "x\\"y"}', '{}', ' { "x" : [ ] } ',
                       '{"asin": "\\ud83c\\udfae", "title": "\\u0000&amp; &quot;Q&quot; <b>x</b>", "overall": 1529193600.000}',
                       '{"reviewerID": "A", "asin": "B", "unixReviewTime": -12, "overall": 5e-1, "asin": 3}',
                       '{"title": "  \\"Spy Fox in \\"Dry Cereal\\"\\"  ", "asin": "B0", "x": [[[[{}]]]]}']):
    put("amzscan", "hand%02d.json" % k, l)

# ---------------------------------------------------------------- safetensors (written byte by byte)
def st_file(tensors, meta=None, pad=True):
    """tensors: [(name, dtype, shape, raw bytes)] laid out in order"""
    h, pos, data = {}, 0, b""
    if meta is not None:
        h["__metadata__"] = meta
    for name, dt, shape, raw_ in tensors:
        h[name] = {"dtype": dt, "shape": shape, "data_offsets": [pos, pos + len(raw_)]}
        pos += len(raw_)
        data += raw_
    js = json.dumps(h, separators=(",", ":")).encode()
    if pad:
        js += b" " * (-len(js) % 8)
    return struct.pack("<Q", len(js)) + js + data


def f32(vals):
    return struct.pack("<%df" % len(vals), *vals)


C, V = 8, 12
put("safetensors", "tiny_qwen2.safetensors", st_file([
    ("model.embed_tokens.weight", "F32", [V, C], f32([rng.uniform(-1, 1) for _ in range(V * C)])),
    ("model.layers.0.input_layernorm.weight", "F32", [C], f32([1.0] * C)),
    ("model.layers.0.self_attn.q_proj.bias", "F32", [C], f32([0.0] * C)),
    ("model.norm.weight", "F32", [C], f32([1.0] * C))], meta={"format": "pt"}))
put("safetensors", "dtypes.safetensors", st_file([
    ("f16", "F16", [2, 3], struct.pack("<6e", 1.0, -2.5, 65504.0, 6e-8, 0.0, -0.0)),
    ("bf16", "BF16", [4], bytes([0x80, 0x3f, 0x00, 0xc0, 0x80, 0x7f, 0xc1, 0xff])),
    ("i64", "I64", [2], struct.pack("<2q", -1, 1 << 40)), ("u8", "U8", [3], b"\x00\x7f\xff"),
    ("flag", "BOOL", [1], b"\x01"), ("f64", "F64", [1], struct.pack("<d", 3.5)),
    ("i32", "I32", [1], struct.pack("<i", -7)), ("i16", "I16", [1], struct.pack("<h", 9)), ("i8", "I8", [1], b"\xfe")]))
put("safetensors", "empty.safetensors", st_file([]))
put("safetensors", "scalar_and_zero.safetensors", st_file([("s", "F32", [], f32([2.0])), ("z", "F32", [0, 4], b"")],
                                                          meta={"model_size": "123", "note": "\u00e9"}, pad=False))

# ---------------------------------------------------------------- GGUF (written byte by byte)
T = dict(UINT8=0, INT8=1, UINT16=2, INT16=3, UINT32=4, INT32=5, FLOAT32=6, BOOL=7, STRING=8, ARRAY=9, UINT64=10, INT64=11, FLOAT64=12)
FMT = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


def g_str(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def g_val(t, v):
    if t == T["STRING"]:
        return g_str(v)
    if t == T["ARRAY"]:
        et, items_ = v
        return struct.pack("<IQ", et, len(items_)) + b"".join(g_val(et, x) for x in items_)
    return struct.pack(FMT[t], v)


# ggml type -> (block elements, block bytes)
QT = {"F32": (0, 1, 4), "F16": (1, 1, 2), "Q4_0": (2, 32, 18), "Q4_1": (3, 32, 20), "Q5_0": (6, 32, 22), "Q5_1": (7, 32, 24),
      "Q8_0": (8, 32, 34), "Q2_K": (10, 256, 84), "Q3_K": (11, 256, 110), "Q4_K": (12, 256, 144), "Q5_K": (13, 256, 176),
      "Q6_K": (14, 256, 210), "BF16": (30, 1, 2), "Q8_K": (15, 256, 292)}


def gguf_file(kvs, tensors, version=3, align=32):
    """kvs: [(key, type, value)]; tensors: [(name, type name, ne list)] with random data"""
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs))
    for k, t, v in kvs:
        out += g_str(k) + struct.pack("<I", t) + g_val(t, v)
    off, blobs = 0, []
    for name, tn, ne in tensors:
        tid, bl, bs = QT[tn]
        nel = 1
        for x in ne:
            nel *= x
        nb = nel // bl * bs
        out += g_str(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", x) for x in ne) + struct.pack("<IQ", tid, off)
        blob = bytearray(rng.getrandbits(8) for _ in range(nb))
        if tn in ("Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0"):   # sane f16 scales at each block start
            for b0 in range(0, nb, bs):
                blob[b0:b0 + 2] = struct.pack("<e", 0.01)
        blobs.append(bytes(blob) + b"\x00" * (-nb % align))
        off += nb + (-nb % align)
    out += b"\x00" * (-len(out) % align)
    return out + b"".join(blobs)


base_kvs = [("general.architecture", T["STRING"], "llama"), ("general.name", T["STRING"], "SmolLM2 135M \u00e9\n\"q\""),
            ("llama.block_count", T["UINT32"], 30), ("llama.context_length", T["UINT32"], 8192),
            ("llama.embedding_length", T["UINT32"], 576), ("llama.attention.head_count_kv", T["UINT32"], 3),
            ("llama.rope.freq_base", T["FLOAT32"], 100000.0), ("llama.attention.layer_norm_rms_epsilon", T["FLOAT32"], 1e-5),
            ("general.file_type", T["UINT32"], 3), ("tokenizer.ggml.model", T["STRING"], "gpt2"),
            ("tokenizer.ggml.pre", T["STRING"], "smollm"),
            ("tokenizer.ggml.tokens", T["ARRAY"], (T["STRING"], ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "a", "\u0120the", "b"])),
            ("tokenizer.ggml.token_type", T["ARRAY"], (T["INT32"], [3, 3, 3, 1, 1, 1])),
            ("tokenizer.ggml.merges", T["ARRAY"], (T["STRING"], ["\u0120 t", "h e"])),
            ("tokenizer.ggml.bos_token_id", T["UINT32"], 1), ("tokenizer.ggml.eos_token_id", T["UINT32"], 2),
            ("tokenizer.ggml.add_bos_token", T["BOOL"], False)]
all_types = [("t.u8", T["UINT8"], 255), ("t.i8", T["INT8"], -128), ("t.u16", T["UINT16"], 65535), ("t.i16", T["INT16"], -3),
             ("t.i32", T["INT32"], -2 ** 31), ("t.u64", T["UINT64"], 2 ** 64 - 1), ("t.i64", T["INT64"], -(2 ** 63)),
             ("t.f64", T["FLOAT64"], 2.5e-300), ("t.bool", T["BOOL"], True),
             ("t.nested", T["ARRAY"], (T["ARRAY"], [(T["UINT8"], [1, 2]), (T["STRING"], ["x"])])),
             ("t.f32s", T["ARRAY"], (T["FLOAT32"], [0.5, -1.0])), ("t.u64s", T["ARRAY"], (T["UINT64"], [0, 2 ** 63])),
             ("t.bools", T["ARRAY"], (T["BOOL"], [True, False])), ("t.empty", T["ARRAY"], (T["INT64"], []))]
put("gguf", "llama_meta_q.gguf", gguf_file(base_kvs, [("token_embd.weight", "Q8_0", [64, 6]), ("blk.0.attn_q.weight", "Q4_1", [64, 2]),
                                                     ("blk.0.attn_norm.weight", "F32", [64]), ("output_norm.weight", "F32", [64])]))
put("gguf", "all_types.gguf", gguf_file(all_types + [("general.alignment", T["UINT32"], 64)],
                                        [("f16", "F16", [8, 2]), ("bf16", "BF16", [16]), ("q4_0", "Q4_0", [32]),
                                         ("q5_0", "Q5_0", [32]), ("q5_1", "Q5_1", [32, 2]), ("q8k", "Q8_K", [256])], align=64))
put("gguf", "kquants.gguf", gguf_file([("general.architecture", T["STRING"], "qwen2")],
                                      [("q2k", "Q2_K", [256]), ("q3k", "Q3_K", [256]), ("q4k", "Q4_K", [256]),
                                       ("q5k", "Q5_K", [256]), ("q6k", "Q6_K", [256, 1, 1, 1])], version=2))
put("gguf", "header_only.gguf", gguf_file([], []))

# ---------------------------------------------------------------- config.json
smol_cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 49152, "hidden_size": 576,
            "intermediate_size": 1536, "num_hidden_layers": 30, "num_attention_heads": 9, "num_key_value_heads": 3,
            "max_position_embeddings": 8192, "rms_norm_eps": 1e-05, "rope_theta": 100000.0, "tie_word_embeddings": True,
            "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 2, "attention_bias": False, "mlp_bias": False,
            "hidden_act": "silu", "pretraining_tp": 1, "rope_scaling": None, "head_dim": 64, "torch_dtype": "float32"}
qwen_cfg = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": 151936, "hidden_size": 896,
            "intermediate_size": 4864, "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2,
            "max_position_embeddings": 32768, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "tie_word_embeddings": False,
            "bos_token_id": 151643, "eos_token_id": 151645, "use_sliding_window": False, "sliding_window": 32768,
            "hidden_act": "silu", "torch_dtype": "float32"}
fresh_cfg = {"hidden_size": 64, "intermediate_size": 176, "num_hidden_layers": 2, "num_attention_heads": 4}
put("config", "smollm2.json", json.dumps(smol_cfg, indent=2))
put("config", "qwen25.json", json.dumps(qwen_cfg, indent=2))
put("config", "fresh.json", json.dumps(fresh_cfg))
for name in ("smollm2", "qwen2.5"):   # the real imports, when make backbone-* has made them
    p = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "models", name, "config.json")
    if os.path.exists(p):
        put("config", "imported_%s.json" % name, open(p, "rb").read())

# ---------------------------------------------------------------- tokenizers (learnt from real titles)
def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) + list(range(ord("\xae"), ord("\xff") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


B2U = bytes_to_unicode()
corpus_titles = [i["title"] for i in items] + [t for t, _ in d3[:1500]]
corpus_titles += [l.split("\t", 1)[1] for l in gz_lines(os.path.join(ROOT, "amazon2018-games", "items.tsv.gz"), 1500)[1:]]
words = {}
for t in corpus_titles:
    for w in re.findall(r" ?[^\W\d_]+| ?\d| ?[^\s\w]+|\s+", t):
        key = tuple(B2U[b] for b in w.encode("utf-8"))
        words[key] = words.get(key, 0) + 1


def learn(nmerges):
    ws = {k: v for k, v in sorted(words.items(), key=lambda kv: -kv[1])[:2500]}
    merges = []
    for _ in range(nmerges):
        pairs = {}
        for w, c in ws.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + c
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
        merges.append(best)
        nw = {}
        for w, c in ws.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            nw[tuple(out)] = nw.get(tuple(out), 0) + c
        ws = nw
    return merges


ADDED = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
QWEN_RE = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def added_tok(i, c):
    return {"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}


def tokenizer(kind, merges):
    vocab = {}
    if kind == "smol":
        for a in ADDED:
            vocab[a] = len(vocab)
    for b in range(256):
        vocab.setdefault(B2U[b], len(vocab))
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    bl = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    if kind == "smol":
        added = [added_tok(vocab[a], a) for a in ADDED]
        pre = {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": True}, bl]}
        norm, ms = None, ["%s %s" % m for m in merges]
    else:
        added = [added_tok(len(vocab) + k, a) for k, a in enumerate(ADDED)]
        pre = {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": QWEN_RE}, "behavior": "Isolated",
                                                      "invert": False}, dict(bl, use_regex=False)]}
        norm, ms = {"type": "NFC"}, [list(m) for m in merges]
    return {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": norm,
            "pre_tokenizer": pre, "post_processor": None, "decoder": dict(bl),
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                      "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                      "vocab": vocab, "merges": ms}}


merges = learn(300)
for kind in ("smol", "qwen"):
    with open(os.path.join(DATA, "tokenizer_%s.json" % kind), "w", encoding="utf-8") as f:
        json.dump(tokenizer(kind, merges), f, ensure_ascii=False)
with open(os.path.join(DATA, "tokenizer_config.json"), "w") as f:
    json.dump({"bos_token": None, "eos_token": "<|im_end|>", "pad_token": {"content": "<|endoftext|>"}}, f)

# tokenizer.json seeds (the loader): small versions of both, and the layouts the models do not use
small = merges[:40]
put("bpe_load", "smol.json", json.dumps(tokenizer("smol", small), ensure_ascii=False))
put("bpe_load", "qwen.json", json.dumps(tokenizer("qwen", small), ensure_ascii=False))
t = tokenizer("smol", small[:10])
t["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
    {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithPrevious", "invert": False},
    {"type": "Split", "pattern": {"Regex": r"[\s,]+"}, "behavior": "Removed", "invert": True},
    {"type": "Digits", "individual_digits": False}, {"type": "ByteLevel", "add_prefix_space": True, "use_regex": False}]}
t["normalizer"] = {"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "NFC"}]}
t["model"]["ignore_merges"] = True
put("bpe_load", "variants.json", json.dumps(t, ensure_ascii=False))
put("bpe_load", "mini.json", json.dumps({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "\u0120": 3}, "merges": ["a b"]},
                                         "added_tokens": [], "normalizer": None, "decoder": {"type": "ByteLevel"},
                                         "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False}}))

# ---------------------------------------------------------------- texts for the tokenizer
texts = [i["title"] for i in items[:60]] + [t for t, _ in d3[:40]] + [t for t, _ in d3 if t.startswith("<span")][:3]
texts += [prompt(train[0], ALPACA), prompt(train[1], CHATML), '"%s"\n' % train[2]["target"]["title"]]
texts += ["e\u0301 \u00e9 \u1e69 \u0041\u030a\u0301 \uac00\u11a8 \u1100\u1161\u11a8 caf\u00e9\u0301\u0327",
          "12345 \uff11\uff12 \u0663\u0664 \u2163 \u00bd 3.14", "\U0001F3AE \U0001F600\u200d\U0001F525 \u200b\ufeff\u180e",
          "\t\n\r\x0b\x0c \x85\xa0\u2028\u3000 end  ", "<|im_start|><|im_end|><|endoftext|>x<|im_end|>",
          "don't I'M we'LL 's 're", "a\x00b\x00", "\x04\x06\x13\x14\x16\x1d", unicodedata.normalize("NFD", "Pok\u00e9mon \u00c5ngstr\u00f6m")]
for k, t in enumerate(texts):
    put("bpe", "text%03d.txt" % k, t)
for k, b in enumerate([b"\xc0\x80", b"\xed\xa0\x80x", b"\xf4\x90\x80\x80", b"ok \xff", b"\xe2\x82", b"\xf0\x9f\x98"]):
    put("bpe", "invalid%02d.bin" % k, b)
print("seeds: %d targets, %d files under %s" % (len(os.listdir(CORPUS)), sum(len(fs) for _, _, fs in os.walk(CORPUS)), CORPUS))
