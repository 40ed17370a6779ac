"""HF `tokenizers` oracle for the C byte-level BPE (tools/lib/llm/bpe.c).

It rebuilds each backbone's tokenizer.json from the GGUF metadata (tokens, merges,
token_type, pre) exactly as Hugging Face ships it for that model, so both sides read the
same file, and it pulls real titles from every dataset under DATA_ROOT.

Subcommands (all text files are JSON Lines, one JSON string or id array per line):
  json GGUF OUT.json              tokenizer.json from a GGUF (a Qwen split's first part is
                                  enough: only the header is read)
  titles DATA_ROOT N OUT [only]   up to N titles from each dataset, then (unless `only`)
                                  prompts built from them and the hand-written cases
  classes BASE.json DIR [full]    DIR/class_*.json (one regex class each) and the texts
                                  DIR/class_{a,q,g,nfc}.jsonl over every code point
  variants SMOL.json QWEN.json DIR   DIR/v_*.json (see variants) and DIR/pairs.json
  bad DIR                         DIR/bad_*.json, one fault each, and DIR/bad_good.json
  randids TOK.json N OUT          N random id arrays (to check decode)
  refuses TOK.json                exit 0 if HF cannot load it
  same A B                        A and B hold equal JSON values, line by line
  encode TOK.json IN OUT          HF ids per line
  decode TOK.json IN OUT          HF text per line of ids
  expect TOK.json IN OUT          what decode(encode(x)) must give: x after the normalizer
                                  (HF's own round trip where the vocab lacks a byte of x)
  time TOK.json IN                seconds for HF to encode IN single-threaded
"""
import json, os, struct, sys, time, gzip, csv

# ---------------------------------------------------------------- GGUF metadata
# A reader of the key/value header only, so a Qwen split's part01.bin (the header plus
# the first tensors) can be read without concatenating 470 MB.
_SCALAR = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


def gguf_metadata(path, want_prefix="tokenizer."):
    with open(path, "rb") as f:
        data = f.read(64 << 20)   # the header of these files is < 10 MB
    if data[:4] != b"GGUF":
        raise SystemExit("%s: not a GGUF file" % path)
    version, ntensors, nkv = struct.unpack_from("<IQQ", data, 4)
    pos = 24

    def rstr(p):
        n = struct.unpack_from("<Q", data, p)[0]
        return data[p + 8:p + 8 + n].decode("utf-8"), p + 8 + n

    def rval(t, p):
        if t == 8:
            return rstr(p)
        if t == 9:
            et, n = struct.unpack_from("<IQ", data, p)
            p += 12
            if et in _SCALAR:
                fmt = "<%d%s" % (n, _SCALAR[et])
                return list(struct.unpack_from(fmt, data, p)), p + struct.calcsize(fmt)
            out = []
            for _ in range(n):
                v, p = rval(et, p)
                out.append(v)
            return out, p
        fmt = "<" + _SCALAR[t]
        return struct.unpack_from(fmt, data, p)[0], p + struct.calcsize(fmt)

    meta = {}
    for _ in range(nkv):
        key, pos = rstr(pos)
        t = struct.unpack_from("<I", data, pos)[0]
        val, pos = rval(t, pos + 4)
        if key.startswith(want_prefix):
            meta[key] = val
    return meta


# ---------------------------------------------------------------- tokenizer.json
NORMAL, CONTROL, USER_DEFINED = 1, 3, 4
QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
               r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def tokenizer_json(meta):
    """The tokenizer.json HF ships for the model behind this GGUF (pre smollm or qwen2)."""
    pre = meta["tokenizer.ggml.pre"]
    toks, types = meta["tokenizer.ggml.tokens"], meta["tokenizer.ggml.token_type"]
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": types[i] == CONTROL}
             for i, t in enumerate(toks) if types[i] in (CONTROL, USER_DEFINED)]
    if pre == "smollm":
        # SmolLM2's vocab holds its special tokens (ids 0..16) as ordinary entries too
        vocab = {t: i for i, t in enumerate(toks) if types[i] in (NORMAL, CONTROL, USER_DEFINED)}
        normalizer = None
        pre_tok = {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]}
        bl = {"add_prefix_space": False, "trim_offsets": True, "use_regex": True}
        prefix = None
    elif pre == "qwen2":
        # Qwen2's vocab stops before the added tokens; the GGUF pads the rest ([PADn], unused)
        vocab = {t: i for i, t in enumerate(toks) if types[i] == NORMAL}
        normalizer = {"type": "NFC"}
        pre_tok = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN2_REGEX}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]}
        bl = {"add_prefix_space": False, "trim_offsets": False, "use_regex": False}
        prefix = ""
    else:
        raise SystemExit("unsupported tokenizer.ggml.pre %r" % pre)
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": added,
        "normalizer": normalizer,
        "pre_tokenizer": pre_tok,
        "post_processor": dict(type="ByteLevel", **bl),
        "decoder": dict(type="ByteLevel", **bl),
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": prefix, "end_of_word_suffix": prefix,
                  "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": meta["tokenizer.ggml.merges"]},
    }


# ---------------------------------------------------------------- texts
def titles(root, n):
    """Up to n titles from each dataset, in file order."""
    out = {}

    def take(name, it):
        got = out.setdefault(name, [])
        for t in it:
            if len(got) >= n:
                break
            t = t.strip()
            if t:
                got.append(t)

    def ml100k():
        for ln in open(os.path.join(root, "movielens-100k/u.item"), encoding="latin-1"):
            yield ln.split("|")[1]

    def movies_dat():
        f = open(os.path.join(root, "movielens-1m/movies.dat"), encoding="latin-1")
        next(f)
        for ln in f:
            yield ln.split("::")[1]

    def items_tsv(d):
        f = gzip.open(os.path.join(root, d, "items.tsv.gz"), "rt", encoding="utf-8")
        next(f)
        for ln in f:
            yield ln.rstrip("\n").split("\t", 1)[1]

    def amazon_meta():
        for ln in gzip.open(os.path.join(root, "amazon2018-raw/meta_Gift_Cards.json.gz"), "rt"):
            yield json.loads(ln).get("title", "")

    def d3_info():
        d = os.path.join(root, "d3-cds/info")
        for fn in sorted(os.listdir(d)):
            for ln in open(os.path.join(d, fn), encoding="utf-8"):
                yield ln.rsplit("\t", 1)[0]

    def d3_csv():
        # history titles are a Python-literal list; the target title is a plain field
        csv.field_size_limit(1 << 24)
        d = os.path.join(root, "d3-cds/valid")
        for fn in sorted(os.listdir(d)):
            for row in csv.DictReader(open(os.path.join(d, fn), encoding="utf-8", newline="")):
                yield row["item_title"]

    take("movielens-100k", ml100k())
    take("movielens-1m", movies_dat())
    for d in ("movielens-1m", "amazon2018-games", "amazon2014-beauty", "amazon2014-toys", "steam"):
        take(d + "/items", items_tsv(d))
    take("amazon2018-raw/meta", amazon_meta())
    take("d3-cds/info", d3_info())
    take("d3-cds/valid", d3_csv())
    return out


HEAD = ("Below is an instruction that describes a task, paired with an input that provides "
        "further context. Write a response that appropriately completes the request.\n\n"
        "### Instruction:\nGiven a list of movies the user has watched before, please recommend "
        "a new movie that the user likes to the user.\n\n")


def prompts(ts):
    """BIGRec-style prompts built from real titles, with and without the input section."""
    out = []
    for k in range(0, min(len(ts), 2000), 10):
        hist = ts[k:k + 10]
        out.append(HEAD + "### Input:\nThe user has watched the following movies before: " +
                   ", ".join('"%s"' % h for h in hist) + "\n\n### Response:\n")
        out.append('"%s"\n' % hist[-1])
    out.append(HEAD + "### Response:\n")
    out.append("<|im_start|>system\nYou are a recommender.<|im_end|>\n<|im_start|>user\n" +
               ", ".join(ts[:5]) + "<|im_end|>\n<|im_start|>assistant\n")
    return out


CASES = [
    "", " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", "a", "A", "1",
    # whitespace runs
    "  a", "a  \n\n  b", "a\tb\t\tc", "tab\there", "line\r\nnext\r\n", "trailing   ", "   leading",
    " \n ", "a \n", "a\n \nb", "x\u00a0y", "x\u00a0\u00a0y", "\u3000x\u3000\u3000y", "a\u2028b", "a\u2029b",
    "a\u0085b", "a\u1680b", "a\u2000b\u2005c\u200ad", "a\u202fb", "a\u205fb", "a\u180eb", "a\u200bb",
    "a\x0bb", "a\x0cb", "a\x1cb\x1dc\x1ed\x1fe", "  \u00a0 x", "a \u00a0\u00a0b", "\u00a0", " \u3000",
    # contractions with case
    "DON'T", "don't", "it's", "It'S", "I'LL", "we've", "WE'RE", "I'm", "I'M", "he'd", "HE'D", "'s", "''s",
    "it\u2019s", "'\u017f", "'S'T'RE", "don''t", " 'll", "rock'n'roll",
    # digits
    "1995", "Toy Story (1995)", "3.14", "1,000,000", "\uff11\uff12\uff13", "x\u00b2", "\u216b",
    "\u0661\u0662\u0663", "\u00bd cup", "123abc456", "v2.0.1-rc3", "$19.99", "9\u20e3",
    # non-ASCII, NFC
    "caf\u00e9", "cafe\u0301", "e\u0301", "A\u030a", "\u1100\u1161\u11a8", "\ud55c\uad6d\uc5b4",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8", "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645",
    "\u05e9\u05dc\u05d5\u05dd", "\U0001F600\U0001F601", "\U0001F468\u200d\U0001F469\u200d\U0001F467",
    "\U0001F44D\U0001F3FD", "\u2122 \u00ae \u00a9", "Pok\u00e9mon\u2122", "na\u00efve fa\u00e7ade", "\u00c5ngstr\u00f6m",
    "\u212b", "\u2126", "\u0958", "\ufb01", "\u1e9b\u0323", "Stra\u00dfe", "\u0130stanbul", "\u0131",
    "\u0928\u092e\u0938\u094d\u0924\u0947", "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35", "\u00e9\u0301\u0301",
    "\u0041\u0308\u0304", "\ufeffBOM", "x\u200dy", "\u202eRTL\u202c",
    # punctuation
    "Hello, world!", "a...b", "!!!", "(a)", "[x] {y}", "a--b", "\"quoted\"\n\n", "'single'", "#1 hit",
    "&quot;Games&quot; &amp; more", "<span class=\"a-size-medium\">x</span>", "C++ & C#", "100%", "@user", "e-mail",
    # special tokens in text
    "<|im_start|>user\nhi<|im_end|>\n", "<|im_start|><|im_end|>", "<|endoftext|><|endoftext|>",
    "<|im_sta", "<|im_start", "x<|endoftext|>y", " <|endoftext|> ", "<|im_end|>\n\n", "<<|im_start|>>",
    "<tool_call>\n{}\n</tool_call>", "<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>", "<repo_name>x<file_sep>",
    "<jupyter_code>print(1)<jupyter_output>", "<|endoftext|", "|endoftext|>",
    # long
    "x" * 3000, "ab" * 1500, " " * 500, "\n" * 300, "1" * 400, "hello " * 400, "\U0001F600" * 200,
    "a" + " " * 100 + "b",
]


def cases():
    return list(CASES)


# ---------------------------------------------------------------- code point classes
def class_cases(base_json, outdir, full=False):
    """Tokenizers that remove one regex class (or isolate Digits) and texts holding every
    code point, so a single code point the two regex engines classify differently changes
    the ids. Without `full`, the planes with assigned non-private characters only."""
    base = json.load(open(base_json, encoding="utf-8"))
    bl = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}

    def removed(p):
        return {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": p}, "behavior": "Removed", "invert": False}, bl]}
    pres = {"s": removed(r"\s"), "S": removed(r"\S"), "L": removed(r"\p{L}"), "N": removed(r"\p{N}"),
            "ci": removed(r"(?i:'s|'t|'re|'ve|'m|'ll|'d)"),
            "digits": {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": True}, bl]},
            "gpt2": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": True}}
    names = []
    for name, pre in pres.items():
        j = dict(base, pre_tokenizer=pre, normalizer=None)
        with open(os.path.join(outdir, "class_%s.json" % name), "w", encoding="utf-8") as f:
            json.dump(j, f, ensure_ascii=False)
        names.append(name)
    if full:
        cps = [c for c in range(1, 0x110000) if not 0xD800 <= c < 0xE000]
    else:
        cps = [c for c in list(range(1, 0xE000)) + list(range(0xF900, 0x323B0)) + list(range(0xE0000, 0xE01F0))
               if not 0xD800 <= c < 0xE000]
    import unicodedata
    # NFC is compared where both sides know the code point: not where HF's tables are
    # older (nfc_outdated), nor where Python's are (unassigned in Unicode 14, maybe a
    # combining mark in utf8proc's 15.0, e.g. U+1E4EC)
    old = set(nfc_outdated(cps)) | {c for c in cps if unicodedata.category(chr(c)) == "Cn"}
    # one text per use: "a"+c for the removed classes and Digits, "'"+c for the contractions,
    # " "+c+"'"+c+"a" for the whole GPT-2 regex, " "+c+U+0301 for NFC (the qwen2 tokenizer)
    texts = {"a": lambda c: "a" + c, "q": lambda c: "'" + c, "g": lambda c: " " + c + "'" + c + "a",
             "nfc": lambda c: " " + c + "\u0301"}
    for key, fn in texts.items():
        with open(os.path.join(outdir, "class_%s.jsonl" % key), "w", encoding="utf-8") as f:
            for k in range(0, len(cps), 4096):
                chunk = [chr(c) for c in cps[k:k + 4096] if key != "nfc" or c not in old]
                f.write(json.dumps("".join(fn(c) for c in chunk), ensure_ascii=False) + "\n")
    return names


def nfc_outdated(cps):
    """Code points where HF's NFC (the unicode-normalization-alignments crate, Unicode 9
    tables) is not Python's (unicodedata, Unicode 14): combining marks added since Unicode 10,
    to which HF gives combining class 0, so it does not reorder them. utf8proc does."""
    import unicodedata
    from tokenizers import normalizers
    nfc = normalizers.NFC()
    out = []
    for c in cps:
        ch = chr(c)
        if not unicodedata.combining(ch):
            continue
        for t in (ch + "\u0301", "a\u0301" + ch, "a" + ch + "\u0316", ch + "\u0334"):
            if nfc.normalize_str(t) != unicodedata.normalize("NFC", t):
                out.append(c)
                break
    return out


# ---------------------------------------------------------------- variants
def byte_chars():
    """GPT-2's bytes_to_unicode, byte -> character."""
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def variants(smol_json, qwen_json, outdir):
    """tokenizer.json files that exercise what the two models do not: ByteLevel's prefix
    space, ignore_merges, every Split behavior, invert, String patterns, empty regex
    matches, contiguous Digits, a bare ByteLevel, no pre-tokenizer, a normalizer Sequence,
    repeated merges and a "#version" line. Each is checked against HF like the models."""
    smol = json.load(open(smol_json, encoding="utf-8"))
    qwen = json.load(open(qwen_json, encoding="utf-8"))

    def bl(prefix=False, regex=True):
        return {"type": "ByteLevel", "add_prefix_space": prefix, "trim_offsets": True, "use_regex": regex}

    def split(pat, behavior, invert=False, kind="Regex"):
        return {"type": "Split", "pattern": {kind: pat}, "behavior": behavior, "invert": invert}

    def seq(*p):
        return {"type": "Sequence", "pretokenizers": list(p)}

    def model(j, **kw):
        return dict(j["model"], **kw)
    out = {
        "prefix": dict(smol, pre_tokenizer=seq({"type": "Digits", "individual_digits": True}, bl(prefix=True))),
        "ignore_merges": dict(smol, model=model(smol, ignore_merges=True)),
        "behaviors": dict(smol, pre_tokenizer=seq(
            split(" ", "MergedWithPrevious", kind="String"), split(r"\p{N}+", "MergedWithNext"),
            split("[aeiou]", "Contiguous", invert=True), split("x", "Removed"), bl())),
        "removed_invert": dict(smol, pre_tokenizer=seq(split(r"[\s,]+", "Removed", invert=True), bl(regex=False))),
        "empty_matches": dict(smol, pre_tokenizer=seq(split("o*", "Isolated"), split(r"\s*", "MergedWithNext"), bl(regex=False))),
        "digits_contiguous": dict(qwen, pre_tokenizer=seq({"type": "Digits", "individual_digits": False}, bl())),
        "bare_bytelevel": dict(smol, pre_tokenizer=bl()),
        "no_pretokenizer": dict(smol, pre_tokenizer=None),
        "nfc_sequence": dict(qwen, normalizer={"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "NFC"}]}),
    }
    m = smol["model"]["merges"]
    out["merge_order"] = dict(smol, model=model(smol, merges=["#version: 0.2"] + m[:3000] + m[:200][::-1] + m[3000:]))
    for name, j in out.items():
        with open(os.path.join(outdir, "v_%s.json" % name), "w", encoding="utf-8") as f:
            json.dump(j, f, ensure_ascii=False)
    # HF 0.19 reads only "a b" merges; the [a, b] form (HF >= 0.20) must give the same ids
    with open(os.path.join(outdir, "pairs.json"), "w", encoding="utf-8") as f:
        json.dump(dict(qwen, model=model(qwen, merges=[x.split(" ") for x in qwen["model"]["merges"]])), f, ensure_ascii=False)
    return sorted(out)


def mini():
    """A tiny valid byte-level tokenizer.json to derive the bad ones from."""
    bc = byte_chars()
    vocab = {bc[b]: b for b in range(256)}
    vocab.update({"Ġt": 256, "he": 257, "Ġthe": 258})
    return {"version": "1.0", "truncation": None, "padding": None,
            "added_tokens": [{"id": 259, "content": "<|endoftext|>", "single_word": False, "lstrip": False,
                              "rstrip": False, "normalized": False, "special": True}],
            "normalizer": None,
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
            "post_processor": None,
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                      "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                      "ignore_merges": False, "vocab": vocab, "merges": ["Ġ t", "h e", "Ġt he"]}}


def bad_files(outdir):
    """Broken tokenizer.json files, one fault each (the test names the expected error)."""
    import copy

    def put(name, j):
        with open(os.path.join(outdir, "bad_%s.json" % name), "w", encoding="utf-8") as f:
            f.write(j if isinstance(j, str) else json.dumps(j))
    good = mini()
    put("good", good)
    put("notjson", '{"model": {"type": "BPE", ')
    put("array", "[1, 2]")

    def edit(name, fn):
        j = copy.deepcopy(good)
        fn(j)
        put(name, j)
    edit("wordpiece", lambda j: j["model"].update(type="WordPiece"))
    edit("whitespace", lambda j: j.update(pre_tokenizer={"type": "Sequence", "pretokenizers": [
        {"type": "Whitespace"}, {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True}]}))
    edit("after_bytelevel", lambda j: j.update(pre_tokenizer={"type": "Sequence", "pretokenizers": [
        {"type": "ByteLevel", "add_prefix_space": False}, {"type": "Digits", "individual_digits": True}]}))
    edit("merge_oov", lambda j: j["model"]["merges"].append("Ġthe zz"))
    edit("merge_result_oov", lambda j: j["model"]["merges"].append("t h"))
    edit("merge_three", lambda j: j["model"]["merges"].append("a b c"))
    edit("nfkc", lambda j: j.update(normalizer={"type": "NFKC"}))
    edit("lstrip", lambda j: j["added_tokens"][0].update(lstrip=True))
    edit("added_id", lambda j: j["added_tokens"][0].update(id=300))
    edit("byte_fallback", lambda j: j["model"].update(byte_fallback=True))
    edit("vocab_id", lambda j: j["model"]["vocab"].update({"zz": -3}))
    edit("bad_regex", lambda j: j.update(pre_tokenizer={"type": "Split", "pattern": {"Regex": "(a"},
                                                        "behavior": "Isolated", "invert": False}))
    edit("no_decoder", lambda j: j.update(decoder=None))


def random_ids(tok_path, n, out):
    """Id sequences a model might emit: pieces that split characters, added tokens."""
    import random
    rnd = random.Random(7)
    v = hf(tok_path).get_vocab_size(with_added_tokens=True)
    rows = [[rnd.randrange(v) for _ in range(rnd.randrange(1, 12))] for _ in range(n)]
    rows += [[v - 1], [], [0, 0, 0]]
    write_jsonl(out, rows)


# ---------------------------------------------------------------- HF side
def hf(path):
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    from tokenizers import Tokenizer
    return Tokenizer.from_file(path)


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(ln) for ln in f]


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=True) + "\n")


def main(argv):
    cmd = argv[1]
    if cmd == "json":
        meta = gguf_metadata(argv[2])
        with open(argv[3], "w", encoding="utf-8") as f:
            json.dump(tokenizer_json(meta), f, ensure_ascii=False)
    elif cmd == "titles":
        ts = titles(argv[2], int(argv[3]))
        rows = []
        for name, got in ts.items():
            if not got:
                raise SystemExit("no titles from %s" % name)
            rows += got
        if not (len(argv) > 5 and argv[5] == "only"):
            rows += prompts(ts["movielens-100k"]) + prompts(ts["amazon2018-games/items"]) + cases()
        write_jsonl(argv[4], rows)
        print(" ".join("%s=%d" % (k, len(v)) for k, v in ts.items()))
    elif cmd == "classes":
        print(" ".join(class_cases(argv[2], argv[3], len(argv) > 4 and argv[4] == "full")))
    elif cmd == "variants":
        print(" ".join(variants(argv[2], argv[3], argv[4])))
    elif cmd == "bad":
        bad_files(argv[2])
    elif cmd == "randids":
        random_ids(argv[2], int(argv[3]), argv[4])
    elif cmd == "refuses":   # exit 0 and say why if HF cannot load the file
        try:
            hf(argv[2])
        except Exception as e:
            print(str(e).splitlines()[0])
            return
        raise SystemExit("HF loads " + argv[2])
    elif cmd == "same":   # the same JSON values line by line, whatever the escaping
        a, b = read_jsonl(argv[2]), read_jsonl(argv[3])
        if len(a) != len(b):
            raise SystemExit("%s has %d lines, %s %d" % (argv[2], len(a), argv[3], len(b)))
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                raise SystemExit("%s:%d: %r\n%s:%d: %r" % (argv[2], i + 1, x, argv[3], i + 1, y))
    elif cmd == "encode":
        tok = hf(argv[2])
        write_jsonl(argv[4], [tok.encode(t, add_special_tokens=False).ids for t in read_jsonl(argv[3])])
    elif cmd == "decode":
        tok = hf(argv[2])
        write_jsonl(argv[4], [tok.decode(ids, skip_special_tokens=False) for ids in read_jsonl(argv[3])])
    elif cmd == "expect":
        # x after the normalizer; but where the vocab lacks a byte of it (SmolLM2 has no
        # piece for bytes 0x04 0x06 0x13 0x14 0x16 0x1D), HF drops that byte, so there the
        # expectation is HF's own decode(encode(x)), and the texts are counted
        tok = hf(argv[2])
        norm = tok.normalizer
        vocab, bc = tok.get_vocab(with_added_tokens=False), byte_chars()
        missing = {b for b in range(256) if bc[b] not in vocab}
        rows, lossy = [], 0
        for t in read_jsonl(argv[3]):
            x = norm.normalize_str(t) if norm else t
            if missing & set(x.encode("utf-8")):
                x = tok.decode(tok.encode(t, add_special_tokens=False).ids, skip_special_tokens=False)
                lossy += 1
            rows.append(x)
        write_jsonl(argv[4], rows)
        print("%s: %d texts hold bytes the vocab lacks" % (argv[2], lossy))
    elif cmd == "time":
        tok = hf(argv[2])
        texts = read_jsonl(argv[3])
        t0 = time.perf_counter()
        for t in texts:
            tok.encode(t, add_special_tokens=False)
        print("%.4f" % (time.perf_counter() - t0))
    else:
        raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
