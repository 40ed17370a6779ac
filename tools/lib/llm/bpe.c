/* bpe: byte-level BPE from a Hugging Face tokenizer.json, with HF tokenizers 0.19's
 * semantics (see bpe.h for what is supported). The encode pipeline is HF's:
 *   added tokens (raw text) -> normalizer per remaining segment -> pre-tokenizers, each
 *   refining the pieces of the one before -> BPE per piece (word cache) -> ids.
 *
 * Regex engine. HF's Python wheel uses Oniguruma (onig crate); we use PCRE2 with UTF+UCP.
 * Checked over every code point (tests/test_bpe.sh, "classes"): they agree on \p{L}, \p{N},
 * (?i:'s|'t|...) and Rust's char::is_numeric (Digits, via utf8proc's categories), but not
 * on \s. Oniguruma's \s is [\t\n\v\f\r\x{85}] plus Zs, Zl, Zp; PCRE2 10.42's (UCP) is
 * that plus U+180E MONGOLIAN VOWEL SEPARATOR (Cf since Unicode 6.3, still in PCRE2's list
 * of horizontal spaces). Both take U+0085, U+00A0, U+1680, U+2000-200A, U+2028/2029, U+202F,
 * U+205F and U+3000, neither U+200B, U+FEFF or U+001C-001F. So every \s / \S in a pattern
 * is rewritten to Oniguruma's list (see onig_compatible). The Unicode versions differ
 * (PCRE2 10.42 and Oniguruma 6.9.8: 14.0; utf8proc 2.8: 15.0), with no effect on any class.
 *
 * NFC is utf8proc's, which is not quite HF's: HF's unicode-normalization-alignments crate
 * has Unicode 9 tables, so the ~100 combining marks added since (U+1DF6..1DFA, U+1AC0..,
 * U+0898.., U+1E4EC.., ...) have combining class 0 there and are never reordered; where one
 * meets another mark of a different class ("e\u1DF6\u0301") the ids differ. Copying that
 * would need a hand-made table of those marks; no title has one. The test lists them
 * (bpe_oracle.py nfc_outdated) and checks NFC on every other code point.
 *
 * Other Oniguruma-only syntax in a user's Split regex (\h as a hex digit, for one) would be
 * read as PCRE2 reads it; the patterns of GPT-2, SmolLM2, Qwen2 and Llama-3 have none.
 *
 * Empty matches follow the onig crate's find_iter: an empty match right after the previous
 * match is skipped by advancing one character; other empty matches still cut the text. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "bpe.h"
#include "util.h"
#include <errno.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

enum { MAX_STAGES = 16, CACHE_SLOTS = 1 << 17, CACHE_MAX_ENTRIES = CACHE_SLOTS / 2, CACHE_MAX_KEY = 128,
       MAX_ID = (1 << 24) - 1 };

static const char GPT2_REGEX[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/* ---------------------------------------------------------------- hash maps */
static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;   /* FNV-1a, then a final mix for the low bits */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    h ^= h >> 29; h *= 0xbf58476d1ce4e5b9ull; h ^= h >> 32;
    return h;
}

typedef struct { const char *key; uint32_t len; int id; } StrSlot;   /* key NULL = empty */
typedef struct { StrSlot *slot; size_t mask, count; } StrMap;

static void strmap_init(StrMap *m, size_t expect) {
    size_t cap = 16;
    while (cap < expect * 2) cap <<= 1;
    m->slot = xcalloc(cap, sizeof(StrSlot));
    m->mask = cap - 1;
    m->count = 0;
}

static StrSlot *strmap_find(const StrMap *m, const char *key, size_t len) {
    for (size_t i = hash_bytes(key, len) & m->mask;; i = (i + 1) & m->mask) {
        StrSlot *s = &m->slot[i];
        if (!s->key || (s->len == len && !memcmp(s->key, key, len))) return s;
    }
}

static int strmap_get(const StrMap *m, const char *key, size_t len) {
    const StrSlot *s = strmap_find(m, key, len);
    return s->key ? s->id : -1;
}

/* key must outlive the map; a repeated key takes the later id (serde into a HashMap) */
static void strmap_put(StrMap *m, const char *key, size_t len, int id) {
    StrSlot *s = strmap_find(m, key, len);
    if (!s->key) { s->key = key; s->len = (uint32_t)len; m->count++; }
    s->id = id;
}

typedef struct { uint64_t key; int rank, id; } MergeSlot;   /* rank -1 = empty */
typedef struct { MergeSlot *slot; size_t mask; } MergeMap;

static uint64_t pair_key(int a, int b) { return (uint64_t)(uint32_t)a << 32 | (uint32_t)b; }
static size_t pair_hash(uint64_t k) { return (size_t)((k * 0x9E3779B97F4A7C15ull) >> 20); }

static MergeSlot *merge_find(const MergeMap *m, uint64_t key) {
    for (size_t i = pair_hash(key) & m->mask;; i = (i + 1) & m->mask) {
        MergeSlot *s = &m->slot[i];
        if (s->rank < 0 || s->key == key) return s;
    }
}

/* ---------------------------------------------------------------- word cache
 * Lock-free and append-only: a slot goes from NULL to an immutable entry exactly once
 * (compare-and-swap), entries live until bpe_free, so readers never see a half-written or
 * freed entry. Once half full it stops taking entries (HF's cache also stops at capacity). */
typedef struct CacheEntry { uint64_t hash; uint32_t keylen, nids; int ids[]; /* then key */ } CacheEntry;
typedef struct { CacheEntry **slot; int count; } WordCache;

static const char *entry_key(const CacheEntry *e) { return (const char *)(e->ids + e->nids); }

static const CacheEntry *cache_get(const WordCache *c, uint64_t h, const char *key, size_t len) {
    for (size_t i = h & (CACHE_SLOTS - 1);; i = (i + 1) & (CACHE_SLOTS - 1)) {
        const CacheEntry *e = __atomic_load_n(&c->slot[i], __ATOMIC_ACQUIRE);
        if (!e) return NULL;
        if (e->hash == h && e->keylen == len && !memcmp(entry_key(e), key, len)) return e;
    }
}

static void cache_put(WordCache *c, uint64_t h, const char *key, size_t len, const int *ids, int n) {
    if (__atomic_load_n(&c->count, __ATOMIC_RELAXED) >= CACHE_MAX_ENTRIES) return;
    CacheEntry *e = xmalloc(sizeof(CacheEntry) + sizeof(int) * (size_t)n + len);
    e->hash = h; e->keylen = (uint32_t)len; e->nids = (uint32_t)n;
    memcpy(e->ids, ids, sizeof(int) * (size_t)n);
    memcpy((char *)(e->ids + n), key, len);
    for (size_t i = h & (CACHE_SLOTS - 1);; i = (i + 1) & (CACHE_SLOTS - 1)) {
        CacheEntry *cur = __atomic_load_n(&c->slot[i], __ATOMIC_ACQUIRE);
        if (!cur) {
            CacheEntry *expected = NULL;
            if (__atomic_compare_exchange_n(&c->slot[i], &expected, e, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
                __atomic_add_fetch(&c->count, 1, __ATOMIC_RELAXED);
                return;
            }
            cur = expected;   /* another thread filled this slot first: look at what it put */
        }
        if (cur->hash == h && cur->keylen == len && !memcmp(entry_key(cur), key, len)) { free(e); return; }
    }
}

/* ---------------------------------------------------------------- the tokenizer */
enum { MATCH_REGEX, MATCH_LITERAL, MATCH_NUMERIC };
enum { SPLIT_REMOVED, SPLIT_ISOLATED, SPLIT_MERGED_PREVIOUS, SPLIT_MERGED_NEXT, SPLIT_CONTIGUOUS };
enum { STAGE_SPLIT, STAGE_PREFIX_SPACE };

typedef struct {
    int kind;                  /* STAGE_* */
    int matcher, behavior, invert;
    pcre2_code *re;            /* MATCH_REGEX / MATCH_LITERAL; NULL literal = the empty string */
    int jit;
} Stage;

typedef struct { char *content; size_t len; int id; } Added;

struct Bpe {
    char *path;
    int n_ids;                  /* max id + 1 */
    char **piece;               /* id -> vocab piece or added content, NULL for no token */
    unsigned char *is_special;  /* id -> "special": true */
    StrMap vocab;               /* model vocab only: what BPE may produce */
    MergeMap merges;
    int byte_id[256];           /* id of each byte's mapped character, -1 if not in vocab */
    Added *added; int n_added;
    int added_first[256];       /* index into added (sorted by first byte, longest first) */
    int added_count[256];
    int nfc, byte_level, ignore_merges, byte_level_decoder;
    Stage stage[MAX_STAGES]; int n_stages;
    WordCache *cache;
};

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68
 * bytes take U+0100.. in byte order, so every byte is one visible character. */
static int byte_to_cp(int b) {
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)) return b;
    int n = 0;
    for (int x = 0; x < b; x++)
        if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255))) n++;
    return 256 + n;
}

static struct { unsigned char cp_byte_ok[0x144], cp_byte[0x144]; char utf8[256][3]; unsigned char len[256]; } g_bytes;
static pthread_once_t g_bytes_once = PTHREAD_ONCE_INIT;

static void bytes_init(void) {
    for (int b = 0; b < 256; b++) {
        int cp = byte_to_cp(b);
        g_bytes.cp_byte_ok[cp] = 1;
        g_bytes.cp_byte[cp] = (unsigned char)b;
        g_bytes.len[b] = (unsigned char)utf8proc_encode_char(cp, (utf8proc_uint8_t *)g_bytes.utf8[b]);
    }
}

/* ---------------------------------------------------------------- UTF-8
 * Length of the valid sequence at s[0..n) (1..4), or minus the length of the maximal
 * prefix of one that is invalid (Rust's from_utf8_lossy replaces that by one U+FFFD). */
static int utf8_seq(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    int need; unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c >= 0xE0 && c <= 0xEF) { need = 2; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
    else if (c >= 0xF0 && c <= 0xF4) { need = 3; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
    else return -1;
    for (int k = 1; k <= need; k++) {
        if ((size_t)k >= n || s[k] < lo || s[k] > hi) return -k;
        lo = 0x80; hi = 0xBF;
    }
    return need + 1;
}

static int utf8_valid(const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        if ((unsigned char)s[i] < 0x80) { i++; continue; }
        int k = utf8_seq((const unsigned char *)s + i, n - i);
        if (k < 0) return 0;
        i += (size_t)k;
    }
    return 1;
}

/* ---------------------------------------------------------------- loading */
static const cJSON *field(const cJSON *o, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNull(v) ? NULL : v;   /* absent and null mean the same here */
}

static const char *req_str(const Bpe *b, const cJSON *o, const char *name, const char *where) {
    const cJSON *v = field(o, name);
    if (!cJSON_IsString(v)) die(EXIT_DATA, "%s: %s%s%s: expected a string", b->path, where, *where ? "." : "", name);
    return v->valuestring;
}

static int opt_bool(const Bpe *b, const cJSON *o, const char *name, const char *where, int dflt) {
    const cJSON *v = field(o, name);
    if (!v) return dflt;
    if (!cJSON_IsBool(v)) die(EXIT_DATA, "%s: %s.%s: expected true or false", b->path, where, name);
    return cJSON_IsTrue(v);
}

static int req_bool(const Bpe *b, const cJSON *o, const char *name, const char *where) {
    if (!field(o, name)) die(EXIT_DATA, "%s: %s.%s: missing", b->path, where, name);
    return opt_bool(b, o, name, where, 0);
}

static void set_piece(Bpe *b, int id, const char *s, size_t len) {
    if (id >= b->n_ids) {
        int cap = b->n_ids ? b->n_ids : 1024;
        while (cap <= id) cap *= 2;
        b->piece = xrealloc(b->piece, sizeof(char *) * (size_t)cap);
        b->is_special = xrealloc(b->is_special, (size_t)cap);
        memset(b->piece + b->n_ids, 0, sizeof(char *) * (size_t)(cap - b->n_ids));
        memset(b->is_special + b->n_ids, 0, (size_t)(cap - b->n_ids));
        b->n_ids = cap;   /* trimmed to max id + 1 at the end of loading */
    }
    char *p = xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = 0;
    free(b->piece[id]);
    b->piece[id] = p;
}

static int max_id(const Bpe *b) {
    int m = -1;
    for (int i = 0; i < b->n_ids; i++) if (b->piece[i]) m = i;
    return m;
}

static void load_vocab(Bpe *b, const cJSON *model) {
    const cJSON *vocab = field(model, "vocab");
    if (!cJSON_IsObject(vocab)) die(EXIT_DATA, "%s: model.vocab: expected an object of piece: id", b->path);
    int n = cJSON_GetArraySize(vocab);
    strmap_init(&b->vocab, (size_t)n);
    for (const cJSON *e = vocab->child; e; e = e->next) {
        double d = cJSON_IsNumber(e) ? e->valuedouble : -1;
        /* range first: (int)d of a larger d is undefined; ids index a dense table, so a
         * bound keeps one stray id from allocating gigabytes (real vocabularies: < 2^18) */
        if (d < 0 || d > MAX_ID || d != (int)d)
            die(EXIT_DATA, "%s: model.vocab: \"%s\": expected a non-negative integer id (at most %d)", b->path, e->string, MAX_ID);
        int id = (int)d;
        size_t len = strlen(e->string);
        if (id < b->n_ids && b->piece[id] && strcmp(b->piece[id], e->string))
            die(EXIT_DATA, "%s: model.vocab: id %d given to both \"%s\" and \"%s\"", b->path, id, b->piece[id], e->string);
        set_piece(b, id, e->string, len);
    }
    /* keys point at the pieces, which no later set_piece replaces (added tokens only fill
     * ids the vocab leaves free, or repeat the same string) */
    for (const cJSON *e = vocab->child; e; e = e->next) {
        int id = (int)e->valuedouble;
        strmap_put(&b->vocab, b->piece[id], strlen(b->piece[id]), id);
    }
}

static void load_merges(Bpe *b, const cJSON *model) {
    const cJSON *merges = field(model, "merges");
    if (!cJSON_IsArray(merges)) die(EXIT_DATA, "%s: model.merges: expected an array", b->path);
    int n = cJSON_GetArraySize(merges), rank = 0, idx = 0;
    size_t cap = 16;
    while (cap < (size_t)n * 2) cap <<= 1;
    b->merges.slot = xmalloc(sizeof(MergeSlot) * cap);
    for (size_t i = 0; i < cap; i++) b->merges.slot[i].rank = -1;
    b->merges.mask = cap - 1;
    char *joined = NULL;
    size_t jcap = 0;
    for (const cJSON *e = merges->child; e; e = e->next, idx++) {
        const char *a, *c;
        size_t alen, clen;
        if (cJSON_IsString(e)) {
            /* HF: lines starting "#version" are skipped, the rest split on ' ' into exactly two */
            if (!strncmp(e->valuestring, "#version", 8)) continue;
            a = e->valuestring;
            const char *sp = strchr(a, ' ');
            if (!sp || strchr(sp + 1, ' '))
                die(EXIT_DATA, "%s: model.merges[%d]: \"%s\": expected two pieces separated by one space", b->path, idx, a);
            alen = (size_t)(sp - a); c = sp + 1; clen = strlen(c);
        } else if (cJSON_IsArray(e) && cJSON_GetArraySize(e) == 2 && cJSON_IsString(e->child) && cJSON_IsString(e->child->next)) {
            a = e->child->valuestring; alen = strlen(a);
            c = e->child->next->valuestring; clen = strlen(c);
        } else die(EXIT_DATA, "%s: model.merges[%d]: expected \"a b\" or [\"a\", \"b\"]", b->path, idx);
        if (alen + clen + 1 > jcap) joined = xrealloc(joined, jcap = (alen + clen + 1) * 2);
        memcpy(joined, a, alen); memcpy(joined + alen, c, clen); joined[alen + clen] = 0;
        int ia = strmap_get(&b->vocab, a, alen), ic = strmap_get(&b->vocab, c, clen);
        int ij = strmap_get(&b->vocab, joined, alen + clen);
        /* HF refuses such a file too (MergeTokenOutOfVocabulary) */
        if (ia < 0 || ic < 0 || ij < 0)
            die(EXIT_DATA, "%s: model.merges[%d]: \"%.*s\" is not in model.vocab", b->path, idx,
                (int)(ia < 0 ? alen : ic < 0 ? clen : alen + clen), ia < 0 ? a : ic < 0 ? c : joined);
        /* a repeated pair takes its later rank, as HF's HashMap collect does */
        MergeSlot *s = merge_find(&b->merges, pair_key(ia, ic));
        s->key = pair_key(ia, ic); s->rank = rank++; s->id = ij;
    }
    free(joined);
}

static void load_model(Bpe *b, const cJSON *root) {
    const cJSON *model = field(root, "model");
    if (!cJSON_IsObject(model)) die(EXIT_DATA, "%s: model: expected an object", b->path);
    const char *type = req_str(b, model, "type", "model");
    if (strcmp(type, "BPE")) die(EXIT_DATA, "%s: model.type: \"%s\" is not supported (only BPE)", b->path, type);
    const cJSON *v;
    if ((v = field(model, "dropout")) && !(cJSON_IsNumber(v) && v->valuedouble == 0))
        die(EXIT_DATA, "%s: model.dropout: only null is supported", b->path);
    if (field(model, "unk_token")) die(EXIT_DATA, "%s: model.unk_token: only null is supported", b->path);
    if (opt_bool(b, model, "byte_fallback", "model", 0)) die(EXIT_DATA, "%s: model.byte_fallback: only false is supported", b->path);
    const char *affix[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (int i = 0; i < 2; i++)
        if ((v = field(model, affix[i])) && !(cJSON_IsString(v) && !v->valuestring[0]))
            die(EXIT_DATA, "%s: model.%s: only null or \"\" is supported", b->path, affix[i]);
    b->ignore_merges = opt_bool(b, model, "ignore_merges", "model", 0);
    load_vocab(b, model);
    load_merges(b, model);
}

static int cmp_added(const void *x, const void *y) {
    const Added *a = x, *c = y;
    unsigned char fa = (unsigned char)a->content[0], fc = (unsigned char)c->content[0];
    if (fa != fc) return fa < fc ? -1 : 1;
    if (a->len != c->len) return a->len > c->len ? -1 : 1;   /* longest first */
    return 0;
}

static void load_added(Bpe *b, const cJSON *root) {
    const cJSON *arr = field(root, "added_tokens");
    if (!arr) return;
    if (!cJSON_IsArray(arr)) die(EXIT_DATA, "%s: added_tokens: expected an array", b->path);
    int n = cJSON_GetArraySize(arr), i = 0;
    b->added = xcalloc((size_t)n, sizeof(Added));
    int model_size = (int)b->vocab.count, top = -1;   /* HF: model.get_vocab_size() = vocab.len() */
    for (const cJSON *t = arr->child; t; t = t->next, i++) {
        char where[48];
        snprintf(where, sizeof where, "added_tokens[%d]", i);
        if (!cJSON_IsObject(t)) die(EXIT_DATA, "%s: %s: expected an object", b->path, where);
        const char *content = req_str(b, t, "content", where);
        const cJSON *idv = field(t, "id");
        if (!cJSON_IsNumber(idv) || idv->valuedouble < 0 || idv->valuedouble > MAX_ID || idv->valuedouble != (int)idv->valuedouble)
            die(EXIT_DATA, "%s: %s.id: expected a non-negative integer", b->path, where);
        if (!content[0]) die(EXIT_DATA, "%s: %s.content: empty", b->path, where);
        const char *flags[] = {"single_word", "lstrip", "rstrip", "normalized"};
        for (int k = 0; k < 4; k++)
            if (opt_bool(b, t, flags[k], where, 0))
                die(EXIT_DATA, "%s: %s.%s: only false is supported", b->path, where, flags[k]);
        for (int k = 0; k < b->n_added; k++)
            if (!strcmp(b->added[k].content, content))
                die(EXIT_DATA, "%s: %s.content: \"%s\" repeats an earlier added token", b->path, where, content);
        /* HF does not take the stated id: it reuses the vocab's id, or gives the next free
         * one; a file whose ids disagree would tokenize differently there, so refuse it */
        int id = strmap_get(&b->vocab, content, strlen(content));
        if (id < 0) id = top < 0 ? model_size : (top >= model_size || model_size == 0) ? top + 1 : model_size;
        if (id != (int)idv->valuedouble)
            die(EXIT_DATA, "%s: %s.id: %d, but HF tokenizers gives \"%s\" id %d", b->path, where, (int)idv->valuedouble, content, id);
        if (id > top) top = id;
        if (id >= b->n_ids || !b->piece[id]) set_piece(b, id, content, strlen(content));
        else if (strcmp(b->piece[id], content))
            die(EXIT_DATA, "%s: %s.id: %d is already \"%s\" in model.vocab", b->path, where, id, b->piece[id]);
        b->is_special[id] = (unsigned char)opt_bool(b, t, "special", where, 0);
        b->added[b->n_added++] = (Added){xstrdup(content), strlen(content), id};
    }
    qsort(b->added, (size_t)b->n_added, sizeof(Added), cmp_added);
    for (int k = 0; k < 256; k++) b->added_first[k] = -1;
    for (int k = 0; k < b->n_added; k++) {
        unsigned char c = (unsigned char)b->added[k].content[0];
        if (b->added_first[c] < 0) b->added_first[c] = k;
        b->added_count[c]++;
    }
}

static void load_normalizer(Bpe *b, const cJSON *o, const char *where) {
    if (!o) return;
    if (!cJSON_IsObject(o)) die(EXIT_DATA, "%s: %s: expected an object or null", b->path, where);
    const char *type = req_str(b, o, "type", where);
    if (!strcmp(type, "NFC")) { b->nfc = 1; return; }
    if (strcmp(type, "Sequence"))
        die(EXIT_DATA, "%s: %s.type: normalizer \"%s\" is not supported (only NFC or a Sequence of NFC)", b->path, where, type);
    const cJSON *arr = field(o, "normalizers");
    if (!cJSON_IsArray(arr)) die(EXIT_DATA, "%s: %s.normalizers: expected an array", b->path, where);
    int i = 0;
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        char sub[256];
        snprintf(sub, sizeof sub, "%s.normalizers[%d]", where, i);
        load_normalizer(b, e, sub);
    }
}

/* \s and \S as Oniguruma has them (see the top of this file), spelled out for PCRE2:
 * inside a class \s becomes members, outside a class of its own. \S inside a class has
 * no such spelling without class subtraction, so it is refused. */
#define ONIG_SPACE "\\t\\n\\x0B\\f\\r\\x{85}\\p{Z}"
static char *onig_compatible(const Bpe *b, const char *re, const char *where) {
    size_t n = strlen(re), o = 0;
    char *out = xmalloc(n * sizeof("[^" ONIG_SPACE "]") + 1);
    int in_class = 0;
    for (size_t i = 0; i < n; i++) {
        char c = re[i];
        if (c == '\\' && i + 1 < n) {
            char d = re[++i];
            if (d == 's') o += (size_t)sprintf(out + o, in_class ? ONIG_SPACE : "[" ONIG_SPACE "]");
            else if (d == 'S') {
                if (in_class) die(EXIT_DATA, "%s: %s: \\S inside a character class is not supported", b->path, where);
                o += (size_t)sprintf(out + o, "[^" ONIG_SPACE "]");
            } else { out[o++] = c; out[o++] = d; }
            continue;
        }
        if (c == '[' && !in_class) {
            in_class = 1;
            out[o++] = c;
            /* a ']' right after '[' or '[^' is a literal member, not the end */
            if (i + 1 < n && re[i + 1] == '^') out[o++] = re[++i];
            if (i + 1 < n && re[i + 1] == ']') out[o++] = re[++i];
            continue;
        }
        if (c == '[' && in_class && i + 1 < n && re[i + 1] == ':') {   /* [:alpha:] */
            const char *end = strstr(re + i + 2, ":]");
            if (end) { size_t k = (size_t)(end + 2 - (re + i)); memcpy(out + o, re + i, k); o += k; i += k - 1; continue; }
        }
        if (c == ']' && in_class) in_class = 0;
        out[o++] = c;
    }
    out[o] = 0;
    return out;
}

static pcre2_code *compile(const Bpe *b, const char *pattern, uint32_t extra, const char *where, int *jit) {
    int err;
    PCRE2_SIZE off;
    char *re = extra & PCRE2_LITERAL ? xstrdup(pattern) : onig_compatible(b, pattern, where);
    uint32_t opts = PCRE2_UTF | (extra & PCRE2_LITERAL ? 0 : PCRE2_UCP) | extra;   /* LITERAL refuses UCP */
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, opts, &err, &off, NULL);
    free(re);
    if (!code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        die(EXIT_DATA, "%s: %s: bad regex at offset %zu: %s", b->path, where, (size_t)off, (char *)msg);
    }
    *jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
    return code;
}

static Stage *new_stage(Bpe *b, const char *where) {
    if (b->byte_level) die(EXIT_DATA, "%s: %s: only the last pre-tokenizer may be ByteLevel", b->path, where);
    if (b->n_stages == MAX_STAGES) die(EXIT_DATA, "%s: %s: more than %d pre-tokenizer steps", b->path, where, MAX_STAGES);
    Stage *s = &b->stage[b->n_stages++];
    memset(s, 0, sizeof *s);
    return s;
}

static void load_pretokenizer(Bpe *b, const cJSON *o, const char *where) {
    if (!o) return;
    if (!cJSON_IsObject(o)) die(EXIT_DATA, "%s: %s: expected an object or null", b->path, where);
    const char *type = req_str(b, o, "type", where);
    char sub[256];
    if (!strcmp(type, "Sequence")) {
        const cJSON *arr = field(o, "pretokenizers");
        if (!cJSON_IsArray(arr)) die(EXIT_DATA, "%s: %s.pretokenizers: expected an array", b->path, where);
        int i = 0;
        for (const cJSON *e = arr->child; e; e = e->next, i++) {
            snprintf(sub, sizeof sub, "%s.pretokenizers[%d]", where, i);
            load_pretokenizer(b, e, sub);
        }
    } else if (!strcmp(type, "ByteLevel")) {
        int prefix = req_bool(b, o, "add_prefix_space", where);
        int regex = opt_bool(b, o, "use_regex", where, 1);
        if (prefix) new_stage(b, where)->kind = STAGE_PREFIX_SPACE;
        if (regex) {
            Stage *s = new_stage(b, where);
            s->kind = STAGE_SPLIT; s->matcher = MATCH_REGEX; s->behavior = SPLIT_ISOLATED;
            s->re = compile(b, GPT2_REGEX, 0, where, &s->jit);
        }
        if (b->byte_level) die(EXIT_DATA, "%s: %s: only the last pre-tokenizer may be ByteLevel", b->path, where);
        b->byte_level = 1;
    } else if (!strcmp(type, "Digits")) {
        Stage *s = new_stage(b, where);
        s->kind = STAGE_SPLIT; s->matcher = MATCH_NUMERIC;
        s->behavior = opt_bool(b, o, "individual_digits", where, 0) ? SPLIT_ISOLATED : SPLIT_CONTIGUOUS;
    } else if (!strcmp(type, "Split")) {
        const cJSON *pat = field(o, "pattern");
        const char *behavior = req_str(b, o, "behavior", where);
        static const char *names[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"};
        int bh = -1;
        for (int k = 0; k < 5; k++) if (!strcmp(behavior, names[k])) bh = k;
        if (bh < 0) die(EXIT_DATA, "%s: %s.behavior: \"%s\" is not a Split behavior", b->path, where, behavior);
        Stage *s = new_stage(b, where);
        s->kind = STAGE_SPLIT; s->behavior = bh;
        s->invert = opt_bool(b, o, "invert", where, 0);
        const cJSON *rx = cJSON_IsObject(pat) ? field(pat, "Regex") : NULL, *lit = cJSON_IsObject(pat) ? field(pat, "String") : NULL;
        snprintf(sub, sizeof sub, "%s.pattern", where);
        if (cJSON_IsString(rx)) { s->matcher = MATCH_REGEX; s->re = compile(b, rx->valuestring, 0, sub, &s->jit); }
        else if (cJSON_IsString(lit)) {
            s->matcher = MATCH_LITERAL;
            if (lit->valuestring[0]) s->re = compile(b, lit->valuestring, PCRE2_LITERAL, sub, &s->jit);
        } else die(EXIT_DATA, "%s: %s: expected {\"Regex\": \"...\"} or {\"String\": \"...\"}", b->path, sub);
    } else die(EXIT_DATA, "%s: %s.type: pre-tokenizer \"%s\" is not supported (Sequence, Split, Digits, ByteLevel)", b->path, where, type);
}

static void load_decoder(Bpe *b, const cJSON *root) {
    const cJSON *d = field(root, "decoder");
    if (!d) die(EXIT_DATA, "%s: decoder: null is not supported (only ByteLevel)", b->path);
    if (!cJSON_IsObject(d)) die(EXIT_DATA, "%s: decoder: expected an object", b->path);
    const char *type = req_str(b, d, "type", "decoder");
    if (strcmp(type, "ByteLevel")) die(EXIT_DATA, "%s: decoder.type: \"%s\" is not supported (only ByteLevel)", b->path, type);
    b->byte_level_decoder = 1;
}

Bpe *bpe_load(const char *path) {
    pthread_once(&g_bytes_once, bytes_init);
    size_t len;
    char *text = slurp_file(path, (size_t)1 << 28, &len);   /* Qwen2.5's is 7 MB */
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        die(EXIT_DATA, "%s: not valid JSON (near byte %ld)", path, at ? (long)(at - text) : 0L);
    }
    free(text);
    Bpe *b = xcalloc(1, sizeof *b);
    b->path = xstrdup(path);
    if (!cJSON_IsObject(root)) die(EXIT_DATA, "%s: expected a JSON object (a tokenizer.json)", path);
    if (field(root, "truncation")) die(EXIT_DATA, "%s: truncation: only null is supported", path);
    if (field(root, "padding")) die(EXIT_DATA, "%s: padding: only null is supported", path);
    load_model(b, root);
    load_added(b, root);
    load_normalizer(b, field(root, "normalizer"), "normalizer");
    load_pretokenizer(b, field(root, "pre_tokenizer"), "pre_tokenizer");
    load_decoder(b, root);
    cJSON_Delete(root);
    b->n_ids = max_id(b) + 1;
    if (b->n_ids == 0) die(EXIT_DATA, "%s: model.vocab: empty", path);
    for (int c = 0; c < 256; c++) b->byte_id[c] = strmap_get(&b->vocab, g_bytes.utf8[c], g_bytes.len[c]);
    b->cache = xcalloc(1, sizeof(WordCache));
    b->cache->slot = xcalloc(CACHE_SLOTS, sizeof(CacheEntry *));
    return b;
}

void bpe_free(Bpe *b) {
    if (!b) return;
    for (int i = 0; i < b->n_ids; i++) free(b->piece[i]);
    free(b->piece); free(b->is_special); free(b->vocab.slot); free(b->merges.slot);
    for (int i = 0; i < b->n_added; i++) free(b->added[i].content);
    free(b->added);
    for (int i = 0; i < b->n_stages; i++) pcre2_code_free(b->stage[i].re);
    for (int i = 0; i < CACHE_SLOTS; i++) free(b->cache->slot[i]);
    free(b->cache->slot); free(b->cache);
    free(b->path);
    free(b);
}

/* ---------------------------------------------------------------- encoding */
typedef struct { size_t start, end; int is_match; } Span;
typedef struct { Span *v; size_t n, cap; } Spans;
typedef struct { int *v; size_t n, cap; } Ints;
typedef struct { char *v; size_t cap; } Bytes;
typedef struct { int id, prev, next; } Sym;

typedef struct {           /* one thread's scratch (thread_ctx): threads share only the cache */
    const Bpe *b;
    pcre2_match_data *md;
    Ints out;
    Spans spans[MAX_STAGES];   /* one per stage: a stage's list lives while deeper ones run */
    Bytes prefixed[MAX_STAGES];
    Bytes mapped;
    Sym *sym; size_t symcap;
    uint64_t *heap; size_t heapcap;
} Ctx;

static void ints_push(Ints *a, int x) {
    if (a->n == a->cap) a->v = xrealloc(a->v, sizeof(int) * (a->cap = a->cap ? a->cap * 2 : 64));
    a->v[a->n++] = x;
}

static void spans_push(Spans *a, size_t s, size_t e, int m) {
    if (a->n == a->cap) a->v = xrealloc(a->v, sizeof(Span) * (a->cap = a->cap ? a->cap * 2 : 32));
    a->v[a->n++] = (Span){s, e, m};
}

static void bytes_reserve(Bytes *a, size_t n) {
    if (n > a->cap) a->v = xrealloc(a->v, a->cap = n * 2);
}

static size_t char_len(const char *s, size_t n) {
    int k = utf8_seq((const unsigned char *)s, n);
    return k > 0 ? (size_t)k : 1;
}

/* one regex match at or after `from`: 1 and [*s, *e), or 0 */
static int regex_next(Ctx *c, const Stage *st, const char *s, size_t n, size_t from, size_t *ms, size_t *me) {
    int rc = st->jit ? pcre2_jit_match(st->re, (PCRE2_SPTR)s, n, from, 0, c->md, NULL) : PCRE2_ERROR_JIT_BADOPTION;
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT || rc == PCRE2_ERROR_JIT_BADOPTION)   /* the interpreter has no such limit */
        rc = pcre2_match(st->re, (PCRE2_SPTR)s, n, from, PCRE2_NO_UTF_CHECK, c->md, NULL);
    if (rc == PCRE2_ERROR_NOMATCH) return 0;
    if (rc < 0) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(rc, msg, sizeof msg);
        die(EXIT_DATA, "%s: pre_tokenizer regex failed on a %zu-byte piece: %s", c->b->path, n, (char *)msg);
    }
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(c->md);
    *ms = ov[0]; *me = ov[1];
    return 1;
}

/* HF's find_matches: the piece cut into (range, is_match) covering it in order */
static void find_matches(Ctx *c, const Stage *st, const char *s, size_t n, Spans *out) {
    out->n = 0;
    size_t prev = 0;
    if (n == 0) ;   /* HF: an empty piece is one empty non-match */
    else if (st->matcher == MATCH_NUMERIC) {
        for (size_t i = 0; i < n;) {
            size_t k = 1;
            int numeric;
            unsigned char b0 = (unsigned char)s[i];
            if (b0 < 0x80) numeric = b0 >= '0' && b0 <= '9';   /* ASCII: the only numerics are the digits */
            else {
                utf8proc_int32_t cp;
                k = (size_t)utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
                utf8proc_category_t cat = utf8proc_category(cp);   /* Rust's char::is_numeric: Nd, Nl, No */
                numeric = cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL || cat == UTF8PROC_CATEGORY_NO;
            }
            if (numeric) {
                if (prev < i) spans_push(out, prev, i, 0);
                spans_push(out, i, i + k, 1);
                prev = i + k;
            }
            i += k;
        }
    } else if (st->re) {
        size_t from = 0, ms, me;
        long last_match_end = -1;
        while (from <= n && regex_next(c, st, s, n, from, &ms, &me)) {
            if (ms == me && last_match_end == (long)me) {   /* onig crate: no empty match right after one */
                from += from < n ? char_len(s + from, n - from) : 1;
                continue;
            }
            from = me; last_match_end = (long)me;
            if (prev != ms) spans_push(out, prev, ms, 0);
            spans_push(out, ms, me, 1);
            prev = me;
        }
    }
    if (prev != n || n == 0) spans_push(out, prev, n, 0);
    if (st->invert)
        for (size_t i = 0; i < out->n; i++) out->v[i].is_match = !out->v[i].is_match;
}

/* HF's SplitDelimiterBehavior applied in place; is_match then means "drop this span" */
static void apply_behavior(int behavior, Spans *sp) {
    Span *v = sp->v;
    size_t n = sp->n, k = 0;
    int prev_match = 0;
    switch (behavior) {
    case SPLIT_REMOVED: return;
    case SPLIT_ISOLATED: for (size_t i = 0; i < n; i++) v[i].is_match = 0; return;
    case SPLIT_CONTIGUOUS:
        for (size_t i = 0; i < n; i++) {
            int m = v[i].is_match;
            if (m == prev_match && k) v[k - 1].end = v[i].end;
            else v[k++] = (Span){v[i].start, v[i].end, 0};
            prev_match = m;
        }
        break;
    case SPLIT_MERGED_PREVIOUS:
        for (size_t i = 0; i < n; i++) {
            int m = v[i].is_match;
            if (m && !prev_match && k) v[k - 1].end = v[i].end;
            else v[k++] = (Span){v[i].start, v[i].end, 0};
            prev_match = m;
        }
        break;
    case SPLIT_MERGED_NEXT:   /* HF folds from the right: a match joins the span after it */
        for (size_t i = n; i-- > 0;) {
            int m = v[i].is_match;
            if (m && !prev_match && k) v[n - k].start = v[i].start;
            else { k++; v[n - k] = (Span){v[i].start, v[i].end, 0}; }
            prev_match = m;
        }
        memmove(v, v + n - k, sizeof(Span) * k);
        break;
    }
    sp->n = k;
}

static void heap_push(uint64_t *h, size_t *n, uint64_t x) {
    size_t i = (*n)++;
    while (i > 0 && h[(i - 1) / 2] > x) { h[i] = h[(i - 1) / 2]; i = (i - 1) / 2; }
    h[i] = x;
}

static uint64_t heap_pop(uint64_t *h, size_t *n) {
    uint64_t top = h[0], x = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1;
        if (l >= *n) break;
        if (l + 1 < *n && h[l + 1] < h[l]) l++;
        if (h[l] >= x) break;
        h[i] = h[l]; i = l;
    }
    h[i] = x;
    return top;
}

static void push_pair(const Bpe *b, Ctx *c, size_t *nh, int left) {
    int right = c->sym[left].next;
    if (right < 0) return;
    const MergeSlot *m = merge_find(&b->merges, pair_key(c->sym[left].id, c->sym[right].id));
    if (m->rank >= 0) heap_push(c->heap, nh, (uint64_t)m->rank << 32 | (uint32_t)left);
}

/* BPE on one pre-token, ids appended to c->out: the lowest-ranked adjacent pair merges
 * first, the leftmost among equal ranks, as HF's Word::merge_all */
static void bpe_word(Ctx *c, const char *s, size_t n) {
    const Bpe *b = c->b;
    if (b->ignore_merges) {
        const char *key = s;
        size_t klen = n;
        if (b->byte_level) {
            bytes_reserve(&c->mapped, n * 2);
            klen = 0;
            for (size_t i = 0; i < n; i++) {
                unsigned char x = (unsigned char)s[i];
                memcpy(c->mapped.v + klen, g_bytes.utf8[x], g_bytes.len[x]);
                klen += g_bytes.len[x];
            }
            key = c->mapped.v;
        }
        int id = strmap_get(&b->vocab, key, klen);
        if (id >= 0) { ints_push(&c->out, id); return; }
    }
    if (n > c->symcap) {
        c->symcap = n * 2;
        c->sym = xrealloc(c->sym, sizeof(Sym) * c->symcap);
        c->heap = xrealloc(c->heap, sizeof(uint64_t) * c->symcap * 2);
    }
    int ns = 0;
    for (size_t i = 0; i < n;) {
        int id;
        size_t k = 1;
        if (b->byte_level) id = b->byte_id[(unsigned char)s[i]];
        else { k = char_len(s + i, n - i); id = strmap_get(&b->vocab, s + i, k); }
        i += k;
        if (id < 0) continue;   /* HF with no unk_token drops what the vocab lacks */
        c->sym[ns] = (Sym){id, ns - 1, -1};
        if (ns) c->sym[ns - 1].next = ns;
        ns++;
    }
    if (!ns) return;
    size_t nh = 0;
    for (int i = 0; i + 1 < ns; i++) push_pair(b, c, &nh, i);
    while (nh) {
        uint64_t top = heap_pop(c->heap, &nh);
        int rank = (int)(top >> 32), left = (int)(uint32_t)top;
        Sym *l = &c->sym[left];
        if (l->id < 0 || l->next < 0) continue;   /* merged away, or now last */
        Sym *r = &c->sym[l->next];
        const MergeSlot *m = merge_find(&b->merges, pair_key(l->id, r->id));
        if (m->rank != rank) continue;            /* stale: the pair changed since it was pushed */
        l->id = m->id;
        r->id = -1;
        l->next = r->next;
        if (r->next >= 0) c->sym[r->next].prev = left;
        if (l->prev >= 0) push_pair(b, c, &nh, l->prev);
        push_pair(b, c, &nh, left);
    }
    for (int i = 0; i >= 0; i = c->sym[i].next) ints_push(&c->out, c->sym[i].id);
}

static void model_piece(Ctx *c, const char *s, size_t n) {
    if (!n) return;
    if (n > CACHE_MAX_KEY) { bpe_word(c, s, n); return; }
    uint64_t h = hash_bytes(s, n);
    const CacheEntry *e = cache_get(c->b->cache, h, s, n);
    if (e) {
        for (uint32_t i = 0; i < e->nids; i++) ints_push(&c->out, e->ids[i]);
        return;
    }
    size_t at = c->out.n;
    bpe_word(c, s, n);
    cache_put(c->b->cache, h, s, n, c->out.v + at, (int)(c->out.n - at));
}

/* pre-tokenizer stage `i` on one piece, its pieces on to stage i+1, the last to BPE */
static void run_stage(Ctx *c, int i, const char *s, size_t n) {
    const Bpe *b = c->b;
    if (i == b->n_stages) { model_piece(c, s, n); return; }
    const Stage *st = &b->stage[i];
    if (st->kind == STAGE_PREFIX_SPACE) {
        if (n && s[0] == ' ') { run_stage(c, i + 1, s, n); return; }
        Bytes *p = &c->prefixed[i];
        bytes_reserve(p, n + 1);
        p->v[0] = ' ';
        memcpy(p->v + 1, s, n);
        run_stage(c, i + 1, p->v, n + 1);
        return;
    }
    Spans *sp = &c->spans[i];
    find_matches(c, st, s, n, sp);
    apply_behavior(st->behavior, sp);
    for (size_t k = 0; k < sp->n; k++) {
        Span x = sp->v[k];
        if (!x.is_match && x.end > x.start) run_stage(c, i + 1, s + x.start, x.end - x.start);
    }
}

static void segment(Ctx *c, const char *s, size_t n) {
    int needs_nfc = 0;
    if (c->b->nfc)   /* below U+0300 (lead bytes < 0xCC) nothing composes or decomposes */
        for (size_t i = 0; i < n && !needs_nfc; i++) needs_nfc = (unsigned char)s[i] >= 0xCC;
    if (!needs_nfc) { run_stage(c, 0, s, n); return; }
    utf8proc_uint8_t *norm = NULL;
    utf8proc_ssize_t m = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &norm, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (m < 0) die(EXIT_DATA, "%s: NFC failed: %s", c->b->path, utf8proc_errmsg(m));
    run_stage(c, 0, (const char *)norm, (size_t)m);
    free(norm);
}

/* leftmost, then longest, added token in s[from..n): its index, start in *at */
static int next_added(const Bpe *b, const char *s, size_t n, size_t from, size_t *at) {
    if (!b->n_added) return -1;
    for (size_t i = from; i < n; i++) {
        int first = b->added_first[(unsigned char)s[i]];
        if (first < 0) continue;
        for (int k = first; k < first + b->added_count[(unsigned char)s[i]]; k++) {
            const Added *a = &b->added[k];
            if (a->len <= n - i && !memcmp(s + i, a->content, a->len)) { *at = i; return k; }
        }
    }
    return -1;
}

/* Scratch is per thread and kept between calls (its buffers only grow), so an encode
 * allocates nothing but its result once warm. The static TLS pointer keeps it reachable
 * for leak checkers; the key's destructor frees it when a thread ends. */
static pthread_key_t g_ctx_key;
static pthread_once_t g_ctx_once = PTHREAD_ONCE_INIT;
static __thread Ctx *t_ctx;

static void ctx_free(void *p) {
    Ctx *c = p;
    pcre2_match_data_free(c->md);
    for (int i = 0; i < MAX_STAGES; i++) { free(c->spans[i].v); free(c->prefixed[i].v); }
    free(c->out.v); free(c->mapped.v); free(c->sym); free(c->heap);
    free(c);
}

static void ctx_key_init(void) {
    if (pthread_key_create(&g_ctx_key, ctx_free)) die(EXIT_IO, "cannot create a thread key");
}

static Ctx *thread_ctx(void) {
    if (t_ctx) return t_ctx;
    pthread_once(&g_ctx_once, ctx_key_init);
    Ctx *c = xcalloc(1, sizeof *c);
    c->md = pcre2_match_data_create(1, NULL);
    if (!c->md) die(EXIT_IO, "out of memory (pcre2 match data)");
    pthread_setspecific(g_ctx_key, c);
    return t_ctx = c;
}

int bpe_encode(const Bpe *b, const char *text, size_t len, int **ids) {
    *ids = NULL;
    if (!text) text = "";
    if (!utf8_valid(text, len)) return -1;
    Ctx *c = thread_ctx();
    c->b = b;
    c->out.n = 0;
    size_t pos = 0, at;
    for (;;) {
        int k = next_added(b, text, len, pos, &at);
        size_t end = k < 0 ? len : at;
        /* HF keeps the one empty split of an empty text (ByteLevel may prefix it a space) */
        if (end > pos || len == 0) segment(c, text + pos, end - pos);
        if (k < 0) break;
        ints_push(&c->out, b->added[k].id);
        pos = at + b->added[k].len;
    }
    *ids = xmalloc(sizeof(int) * c->out.n);
    if (c->out.n) memcpy(*ids, c->out.v, sizeof(int) * c->out.n);
    return (int)c->out.n;
}

/* ---------------------------------------------------------------- decoding */
/* HF's ByteLevel decoder, per token: its characters back to bytes if every one of them is
 * a byte's character, else the token's own UTF-8 */
static void decode_piece(const char *p, Bytes *out, size_t *n) {
    size_t len = strlen(p), start = *n;
    bytes_reserve(out, *n + len + 1);
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)p + i, (utf8proc_ssize_t)(len - i), &cp);
        if (k < 0 || cp >= 0x144 || !g_bytes.cp_byte_ok[cp]) {
            memcpy(out->v + start, p, len);
            *n = start + len;
            return;
        }
        out->v[(*n)++] = (char)g_bytes.cp_byte[cp];
        i += (size_t)k;
    }
}

char *bpe_decode(const Bpe *b, const int *ids, int n) {
    Bytes raw = {0};
    size_t len = 0;
    bytes_reserve(&raw, 64);
    for (int i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= b->n_ids) die(EXIT_DATA, "%s: token id %d out of range [0, %d)", b->path, ids[i], b->n_ids);
        if (b->piece[ids[i]]) decode_piece(b->piece[ids[i]], &raw, &len);
    }
    /* String::from_utf8_lossy: each maximal invalid prefix becomes one U+FFFD */
    char *out = xmalloc(len * 3 + 1);
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        int k = utf8_seq((const unsigned char *)raw.v + i, len - i);
        if (k > 0) { memcpy(out + o, raw.v + i, (size_t)k); o += (size_t)k; i += (size_t)k; }
        else { memcpy(out + o, "\xEF\xBF\xBD", 3); o += 3; i += (size_t)-k; }
    }
    out[o] = 0;
    free(raw.v);
    return out;
}

/* ---------------------------------------------------------------- lookups */
const char *bpe_piece(const Bpe *b, int id) {
    return id >= 0 && id < b->n_ids && b->piece[id] ? b->piece[id] : "";
}
int bpe_vocab_size(const Bpe *b) { return b->n_ids; }
int bpe_is_special(const Bpe *b, int id) { return id >= 0 && id < b->n_ids && b->is_special[id]; }

int bpe_token_id(const Bpe *b, const char *piece) {
    for (int i = 0; i < b->n_added; i++)
        if (!strcmp(b->added[i].content, piece)) return b->added[i].id;
    return strmap_get(&b->vocab, piece, strlen(piece));
}
