/* GGUF reader (strict, mmap, multi-part) and dequantisation to f32. See gguf.h. */
/* numpy (gguf-py, the oracle) rounds every product and sum separately; GNU C may fuse
 * d * q - m into one FMA (-ffp-contract=fast is the gnu11 default). For the block types here
 * the products are exact in f32 (an 11-bit f16 scale times small integers), so fusing would
 * not change a bit today; this keeps it that way for any future type. Must precede all code. */
#pragma GCC optimize("fp-contract=off")
#include "gguf.h"
#include "util.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------- type tables ---------------- */
typedef struct { const char *name; uint32_t blck, size; int supported; } TypeInfo;
/* sizes as gguf-py's GGML_QUANT_SIZES (gguf 0.19); QK_K = 256 */
static const TypeInfo TYPES[GGML_TYPE_LIMIT] = {
    [0] = {"F32", 1, 4, 1},        [1] = {"F16", 1, 2, 1},
    [2] = {"Q4_0", 32, 18, 1},     [3] = {"Q4_1", 32, 20, 1},
    [6] = {"Q5_0", 32, 22, 1},     [7] = {"Q5_1", 32, 24, 1},
    [8] = {"Q8_0", 32, 34, 1},     [9] = {"Q8_1", 32, 40, 0},
    [10] = {"Q2_K", 256, 84, 1},   [11] = {"Q3_K", 256, 110, 1},
    [12] = {"Q4_K", 256, 144, 1},  [13] = {"Q5_K", 256, 176, 1},
    [14] = {"Q6_K", 256, 210, 1},  [15] = {"Q8_K", 256, 292, 0},
    [16] = {"IQ2_XXS", 256, 66, 0}, [17] = {"IQ2_XS", 256, 74, 0},
    [18] = {"IQ3_XXS", 256, 98, 0}, [19] = {"IQ1_S", 256, 50, 0},
    [20] = {"IQ4_NL", 32, 18, 0},  [21] = {"IQ3_S", 256, 110, 0},
    [22] = {"IQ2_S", 256, 82, 0},  [23] = {"IQ4_XS", 256, 136, 0},
    [24] = {"I8", 1, 1, 0},        [25] = {"I16", 1, 2, 0},
    [26] = {"I32", 1, 4, 0},       [27] = {"I64", 1, 8, 0},
    [28] = {"F64", 1, 8, 0},       [29] = {"IQ1_M", 256, 56, 0},
    [30] = {"BF16", 1, 2, 1},
    [34] = {"TQ1_0", 256, 54, 0},  [35] = {"TQ2_0", 256, 66, 0},
    [39] = {"MXFP4", 32, 17, 0},   [40] = {"NVFP4", 64, 36, 0},
    [41] = {"Q1_0", 128, 18, 0},
};

int gguf_type_known(uint32_t t) { return t < GGML_TYPE_LIMIT && TYPES[t].name; }
const char *gguf_type_name(uint32_t t) { return gguf_type_known(t) ? TYPES[t].name : NULL; }
uint32_t gguf_type_block(uint32_t t) { return gguf_type_known(t) ? TYPES[t].blck : 0; }
uint32_t gguf_type_size(uint32_t t) { return gguf_type_known(t) ? TYPES[t].size : 0; }
int gguf_type_supported(uint32_t t) { return gguf_type_known(t) && TYPES[t].supported; }

static const char *const VT_NAMES[GGUF_T_COUNT] = {
    "UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32", "BOOL", "STRING",
    "ARRAY", "UINT64", "INT64", "FLOAT64"};
static const uint8_t VT_SIZE[GGUF_T_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
const char *gguf_value_type_name(GgufType t) { return (unsigned)t < GGUF_T_COUNT ? VT_NAMES[t] : "?"; }

/* ---------------- little-endian loads (map may be unaligned) ---------------- */
static inline uint16_t ld16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t ld32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t ld64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* hostile names in one-line messages: printable, bounded */
static const char *shown(const char *s, size_t n, char *buf, size_t cap) {
    size_t o = 0, lim = cap - 4;
    for (size_t i = 0; i < n && o < lim; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (o >= lim && n > o) { memcpy(buf + o, "...", 3); o += 3; }
    buf[o] = 0;
    return buf;
}

/* ---------------- parser ---------------- */
typedef struct {
    const char *path;
    const uint8_t *m;
    uint64_t size, pos;
    char ctx[200];           /* "key 'K'" / "tensor 'T'" / "header": what is being read */
} Cur;

__attribute__((noreturn, format(printf, 2, 3)))
static void bad(const Cur *c, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    die(EXIT_DATA, "%s: %s%s%s", c->path, c->ctx, c->ctx[0] ? ": " : "", msg);
}

static void need(const Cur *c, uint64_t n, const char *what) {
    if (n > c->size - c->pos)
        bad(c, "truncated: %s needs %llu bytes at offset %llu, the file has %llu", what,
            (unsigned long long)n, (unsigned long long)c->pos, (unsigned long long)c->size);
}
static uint32_t rd32(Cur *c, const char *what) { need(c, 4, what); uint32_t v = ld32(c->m + c->pos); c->pos += 4; return v; }
static uint64_t rd64(Cur *c, const char *what) { need(c, 8, what); uint64_t v = ld64(c->m + c->pos); c->pos += 8; return v; }
/* a string: returns its bytes in the map, len in *n; the length is checked against the file */
static const uint8_t *rdstr(Cur *c, uint64_t *n, const char *what) {
    uint64_t len = rd64(c, what);
    if (len > c->size - c->pos)
        bad(c, "truncated: %s of %llu bytes at offset %llu runs past the end of the %llu-byte file", what,
            (unsigned long long)len, (unsigned long long)c->pos, (unsigned long long)c->size);
    const uint8_t *p = c->m + c->pos;
    c->pos += len;
    *n = len;
    return p;
}

/* smallest encoding of one element of type t: bounds counts before anything is looped */
static uint64_t min_elem_bytes(uint32_t t) {
    if (t == GGUF_T_STRING) return 8;
    if (t == GGUF_T_ARRAY) return 12;
    return VT_SIZE[t];
}

static void check_bools(const Cur *c, const uint8_t *p, uint64_t n) {
    for (uint64_t i = 0; i < n; i++)
        if (p[i] > 1) bad(c, "bool value %u is not 0 or 1", p[i]);
}

/* skip one value of type t (validated); kv != NULL at top level records where it lies */
static void parse_value(Cur *c, uint32_t t, int depth, GgufKV *kv) {
    if (t >= GGUF_T_COUNT) bad(c, "unknown value type %u", t);
    if (t == GGUF_T_STRING) {
        uint64_t n;
        const uint8_t *p = rdstr(c, &n, "string value");
        if (kv) {
            kv->val = p; kv->val_bytes = n; kv->str_len = n;
            kv->str = xmalloc((size_t)n + 1);
            memcpy(kv->str, p, (size_t)n);
            kv->str[n] = 0;
        }
        return;
    }
    if (t != GGUF_T_ARRAY) {
        need(c, VT_SIZE[t], VT_NAMES[t]);
        if (t == GGUF_T_BOOL) check_bools(c, c->m + c->pos, 1);
        if (kv) { kv->val = c->m + c->pos; kv->val_bytes = VT_SIZE[t]; }
        c->pos += VT_SIZE[t];
        return;
    }
    if (depth >= GGUF_MAX_NESTING) bad(c, "arrays nested deeper than %d levels", GGUF_MAX_NESTING);
    uint32_t et = rd32(c, "array element type");
    if (et >= GGUF_T_COUNT) bad(c, "unknown array element type %u", et);
    uint64_t n = rd64(c, "array length");
    uint64_t room = c->size - c->pos, mb = min_elem_bytes(et);
    if (n > room / mb)
        bad(c, "truncated: array of %llu %s elements (at least %llu bytes each) at offset %llu runs past the end of the %llu-byte file",
            (unsigned long long)n, VT_NAMES[et], (unsigned long long)mb, (unsigned long long)c->pos,
            (unsigned long long)c->size);
    uint64_t start = c->pos;
    if (kv) { kv->arr_type = (GgufType)et; kv->arr_n = n; kv->val = c->m + start; }
    if (et == GGUF_T_STRING) {
        /* n <= file size / 8 here, so the index is bounded by the file */
        uint64_t *off = kv ? xmalloc((size_t)(n + 1) * sizeof *off) : NULL, tot = 0;
        if (kv) kv->soff = off;
        for (uint64_t i = 0; i < n; i++) {
            uint64_t len;
            rdstr(c, &len, "array string element");
            if (off) { off[i] = tot; tot += len + 1; }
        }
        if (kv) {
            off[n] = tot;
            kv->strs = xmalloc((size_t)tot + 1);
            const uint8_t *p = c->m + start;
            for (uint64_t i = 0; i < n; i++) {
                uint64_t len = off[i + 1] - off[i] - 1;
                memcpy(kv->strs + off[i], p + 8, (size_t)len);
                kv->strs[off[i] + len] = 0;
                p += 8 + len;
            }
        }
    } else if (et == GGUF_T_ARRAY) {
        for (uint64_t i = 0; i < n; i++) parse_value(c, et, depth + 1, NULL);
    } else {
        c->pos += n * VT_SIZE[et];      /* fits: n <= room / size */
        if (et == GGUF_T_BOOL) check_bools(c, c->m + start, n);
    }
    if (kv) kv->val_bytes = c->pos - start;
}

static const GgufFile *g_sort_file;   /* qsort has no context argument; open is single-threaded */
/* what open holds while it may die: global roots, so LeakSanitizer does not call it a leak */
static GgufFile *volatile g_opening;     /* volatile: stores to a never-read static */
static int *volatile g_ord, *volatile g_fds; /* would otherwise be optimised away */
static uint64_t *volatile g_sizes;
static int cmp_kv(const void *a, const void *b) {
    return strcmp(g_sort_file->kv[*(const int *)a].key, g_sort_file->kv[*(const int *)b].key);
}
static int cmp_tname(const void *a, const void *b) {
    return strcmp(g_sort_file->t[*(const int *)a].name, g_sort_file->t[*(const int *)b].name);
}
static int cmp_toff(const void *a, const void *b) {
    const GgufTensor *x = &g_sort_file->t[*(const int *)a], *y = &g_sort_file->t[*(const int *)b];
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static char *name_copy(const Cur *c, const uint8_t *p, uint64_t n, const char *what) {
    if (n == 0) bad(c, "empty %s", what);
    if (memchr(p, 0, (size_t)n)) bad(c, "%s contains a NUL byte", what);
    char *s = xmalloc((size_t)n + 1);
    memcpy(s, p, (size_t)n);
    s[n] = 0;
    return s;
}

static void parse(GgufFile *f) {
    Cur c = {.path = f->path, .m = f->map, .size = f->size, .pos = 0};
    char b1[96], b2[96];
    snprintf(c.ctx, sizeof c.ctx, "header");
    need(&c, 4, "magic");
    if (memcmp(f->map, "GGUF", 4)) {
        c.ctx[0] = 0;
        bad(&c, "not a GGUF file (magic %02x %02x %02x %02x, expected \"GGUF\")", f->map[0], f->map[1], f->map[2], f->map[3]);
    }
    c.pos = 4;
    f->version = rd32(&c, "version");
    if (f->version == 1) bad(&c, "GGUF version 1 is not supported (only 2 and 3)");
    if (f->version != 2 && f->version != 3) {
        if ((f->version & 0xffff) == 0 && f->version) bad(&c, "GGUF version %u: big-endian files are not supported", f->version);
        bad(&c, "unknown GGUF version %u (only 2 and 3)", f->version);
    }
    uint64_t nt = rd64(&c, "tensor count"), nk = rd64(&c, "key count");
    /* a key is at least 8 + 1 + 4 + 1 bytes, a tensor info at least 8 + 1 + 4 + 4 + 8 */
    uint64_t room = c.size - c.pos;
    if (nk > room / 14 || nk > INT32_MAX)
        bad(&c, "key count %llu cannot fit in the %llu-byte file", (unsigned long long)nk, (unsigned long long)c.size);
    if (nt > room / 25 || nt > INT32_MAX)
        bad(&c, "tensor count %llu cannot fit in the %llu-byte file", (unsigned long long)nt, (unsigned long long)c.size);
    f->kv = xcalloc((size_t)nk + 1, sizeof *f->kv);
    for (uint64_t i = 0; i < nk; i++) {
        snprintf(c.ctx, sizeof c.ctx, "key #%llu", (unsigned long long)i);
        uint64_t kl;
        const uint8_t *kp = rdstr(&c, &kl, "key name");
        GgufKV *kv = &f->kv[i];
        kv->key = name_copy(&c, kp, kl, "key name");
        f->n_kv = (int)i + 1;
        snprintf(c.ctx, sizeof c.ctx, "key '%s'", shown(kv->key, kl, b1, sizeof b1));
        uint32_t t = rd32(&c, "value type");
        if (t >= GGUF_T_COUNT) bad(&c, "unknown value type %u", t);
        kv->type = (GgufType)t;
        parse_value(&c, t, 0, kv);
    }
    g_sort_file = f;
    f->kv_sorted = xmalloc(((size_t)nk + 1) * sizeof(int));
    for (int i = 0; i < f->n_kv; i++) f->kv_sorted[i] = i;
    qsort(f->kv_sorted, (size_t)f->n_kv, sizeof(int), cmp_kv);
    for (int i = 1; i < f->n_kv; i++)
        if (!strcmp(f->kv[f->kv_sorted[i - 1]].key, f->kv[f->kv_sorted[i]].key)) {
            snprintf(c.ctx, sizeof c.ctx, "key '%s'", shown(f->kv[f->kv_sorted[i]].key, strlen(f->kv[f->kv_sorted[i]].key), b1, sizeof b1));
            bad(&c, "duplicate key");
        }
    f->alignment = GGUF_DEFAULT_ALIGNMENT;
    const GgufKV *al = gguf_find(f, "general.alignment");
    if (al) {
        snprintf(c.ctx, sizeof c.ctx, "key 'general.alignment'");
        if (al->type != GGUF_T_UINT32) bad(&c, "expected UINT32, found %s", VT_NAMES[al->type]);
        uint32_t a = ld32(al->val);
        if (a == 0 || (a & (a - 1))) bad(&c, "alignment %u is not a non-zero power of two", a);
        f->alignment = a;
    }

    f->t = xcalloc((size_t)nt + 1, sizeof *f->t);
    for (uint64_t i = 0; i < nt; i++) {
        snprintf(c.ctx, sizeof c.ctx, "tensor #%llu", (unsigned long long)i);
        uint64_t nl;
        const uint8_t *np = rdstr(&c, &nl, "tensor name");
        GgufTensor *t = &f->t[i];
        t->name = name_copy(&c, np, nl, "tensor name");
        f->n_tensors = (int)i + 1;
        snprintf(c.ctx, sizeof c.ctx, "tensor '%s'", shown(t->name, nl, b1, sizeof b1));
        uint32_t nd = rd32(&c, "dimension count");
        if (nd > GGUF_MAX_DIMS) bad(&c, "%u dimensions (max %d)", nd, GGUF_MAX_DIMS);
        t->ndim = (int)nd;
        uint64_t nel = 1;
        for (int d = 0; d < GGUF_MAX_DIMS; d++) t->ne[d] = 1;
        for (uint32_t d = 0; d < nd; d++) {
            uint64_t v = rd64(&c, "dimension");
            if (v == 0) bad(&c, "ne[%u] is 0", d);
            if (v > INT64_MAX || __builtin_mul_overflow(nel, v, &nel) || nel > INT64_MAX)
                bad(&c, "dimensions overflow (ne[%u] = %llu)", d, (unsigned long long)v);
            t->ne[d] = v;
        }
        t->nelem = nel;
        t->type = rd32(&c, "type");
        if (!gguf_type_known(t->type)) bad(&c, "unknown ggml type %u", t->type);
        const TypeInfo *ti = &TYPES[t->type];
        if (t->ne[0] % ti->blck)
            bad(&c, "row length %llu is not a multiple of the %s block size %u", (unsigned long long)t->ne[0], ti->name, ti->blck);
        uint64_t rowb;
        if (__builtin_mul_overflow(t->ne[0] / ti->blck, (uint64_t)ti->size, &rowb) ||
            __builtin_mul_overflow(rowb, nel / t->ne[0], &t->nbytes))
            bad(&c, "byte size overflows");
        t->offset = rd64(&c, "data offset");
    }
    g_sort_file = f;
    f->t_sorted = xmalloc(((size_t)nt + 1) * sizeof(int));
    for (int i = 0; i < f->n_tensors; i++) f->t_sorted[i] = i;
    qsort(f->t_sorted, (size_t)f->n_tensors, sizeof(int), cmp_tname);
    for (int i = 1; i < f->n_tensors; i++)
        if (!strcmp(f->t[f->t_sorted[i - 1]].name, f->t[f->t_sorted[i]].name)) {
            const char *nm = f->t[f->t_sorted[i]].name;
            snprintf(c.ctx, sizeof c.ctx, "tensor '%s'", shown(nm, strlen(nm), b1, sizeof b1));
            bad(&c, "duplicate tensor name");
        }

    uint64_t pos = c.pos, a = f->alignment;
    f->data_offset = (pos + a - 1) / a * a;    /* pos <= size < 2^63, a <= 2^31 */
    uint64_t dsize = f->data_offset <= f->size ? f->size - f->data_offset : 0;
    for (int i = 0; i < f->n_tensors; i++) {
        GgufTensor *t = &f->t[i];
        snprintf(c.ctx, sizeof c.ctx, "tensor '%s'", shown(t->name, strlen(t->name), b1, sizeof b1));
        if (t->offset % a)
            bad(&c, "data offset %llu is not a multiple of the alignment %llu", (unsigned long long)t->offset, (unsigned long long)a);
        if (t->offset > dsize || t->nbytes > dsize - t->offset)
            bad(&c, "data [%llu, +%llu bytes) is outside the %llu-byte data section (truncated file?)",
                (unsigned long long)t->offset, (unsigned long long)t->nbytes, (unsigned long long)dsize);
        t->data = f->map + f->data_offset + t->offset;
    }
    int *ord = g_ord = xmalloc(((size_t)nt + 1) * sizeof(int));
    for (int i = 0; i < f->n_tensors; i++) ord[i] = i;
    qsort(ord, (size_t)f->n_tensors, sizeof(int), cmp_toff);
    for (int i = 1; i < f->n_tensors; i++) {
        const GgufTensor *p = &f->t[ord[i - 1]], *q = &f->t[ord[i]];
        if (q->offset < p->offset + p->nbytes) {
            snprintf(c.ctx, sizeof c.ctx, "tensor '%s'", shown(q->name, strlen(q->name), b1, sizeof b1));
            bad(&c, "data [%llu, +%llu bytes) overlaps tensor '%s' [%llu, +%llu bytes)",
                (unsigned long long)q->offset, (unsigned long long)q->nbytes, shown(p->name, strlen(p->name), b2, sizeof b2),
                (unsigned long long)p->offset, (unsigned long long)p->nbytes);
        }
    }
    free(ord);
    g_ord = NULL;
}

/* ---------------- open / map ---------------- */
enum { MAP_NONE, MAP_MMAP, MAP_HEAP };

static void read_all(int fd, uint8_t *dst, uint64_t n, const char *path) {
    uint64_t got = 0;
    while (got < n) {
        size_t want = n - got > (1u << 30) ? (1u << 30) : (size_t)(n - got);
        ssize_t r = read(fd, dst + got, want);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) die(EXIT_IO, "%s: read error: %s", path, strerror(errno));
        if (r == 0) die(EXIT_IO, "%s: file shrank while reading (%llu of %llu bytes)", path,
                        (unsigned long long)got, (unsigned long long)n);
        got += (uint64_t)r;
    }
}

GgufFile *gguf_open_parts(int n, const char *const *paths) {
    if (n < 1) die(EXIT_USAGE, "gguf_open_parts: no files");
    GgufFile *f = g_opening = xcalloc(1, sizeof *f);
    if (n == 1) f->path = xstrdup(paths[0]);
    else {
        size_t l = strlen(paths[0]) + 32;
        f->path = xmalloc(l);
        snprintf(f->path, l, "%s (+%d parts)", paths[0], n - 1);
    }
    int *fd = g_fds = xmalloc((size_t)n * sizeof *fd);
    uint64_t *sz = g_sizes = xmalloc((size_t)n * sizeof *sz), total = 0;
    long page = sysconf(_SC_PAGESIZE);
    int aligned = 1;
    for (int i = 0; i < n; i++) {
        fd[i] = open_regular(paths[i], &sz[i]);
        if (__builtin_add_overflow(total, sz[i], &total) || total > (uint64_t)INT64_MAX)
            die(EXIT_IO, "%s: parts too large", f->path);
        if (i < n - 1 && sz[i] % (uint64_t)page) aligned = 0;
    }
    f->size = total;
    static const uint8_t empty[1];
    if (total == 0) { f->map = empty; f->map_kind = MAP_NONE; }
    else if (aligned) {
        size_t len = (size_t)((total + (uint64_t)page - 1) / (uint64_t)page * (uint64_t)page);
        uint8_t *base = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (base == MAP_FAILED) die(EXIT_IO, "%s: cannot reserve %zu bytes: %s", f->path, len, strerror(errno));
        uint64_t off = 0;
        for (int i = 0; i < n; i++) {
            if (sz[i]) {
                void *p = mmap(base + off, (size_t)sz[i], PROT_READ, MAP_PRIVATE | MAP_FIXED, fd[i], 0);
                if (p == MAP_FAILED) die(EXIT_IO, "%s: cannot map: %s", paths[i], strerror(errno));
            }
            off += sz[i];
        }
        f->map = base; f->map_len = len; f->map_kind = MAP_MMAP;
    } else {
        uint8_t *buf = xmalloc((size_t)total);
        uint64_t off = 0;
        f->map = buf; f->map_kind = MAP_HEAP;
        for (int i = 0; i < n; i++) { read_all(fd[i], buf + off, sz[i], paths[i]); off += sz[i]; }
    }
    for (int i = 0; i < n; i++) close(fd[i]);
    free(fd); free(sz);
    g_fds = NULL; g_sizes = NULL;
    parse(f);
    g_opening = NULL;
    return f;
}

GgufFile *gguf_open(const char *path) { return gguf_open_parts(1, &path); }

void gguf_close(GgufFile *f) {
    if (!f) return;
    if (f->map_kind == MAP_MMAP) munmap((void *)f->map, f->map_len);
    else if (f->map_kind == MAP_HEAP) free((void *)f->map);
    for (int i = 0; i < f->n_kv; i++) {
        free((char *)f->kv[i].key); free(f->kv[i].str); free(f->kv[i].strs); free(f->kv[i].soff);
    }
    for (int i = 0; i < f->n_tensors; i++) free(f->t[i].name);
    free(f->kv); free(f->t); free(f->kv_sorted); free(f->t_sorted); free(f->path); free(f);
}

/* ---------------- metadata access ---------------- */
int gguf_n_kv(const GgufFile *f) { return f->n_kv; }
const GgufKV *gguf_kv(const GgufFile *f, int i) { return i >= 0 && i < f->n_kv ? &f->kv[i] : NULL; }

/* binary search of an index sorted by the name found at name_off in each stride-byte
 * element of base: one lookup for keys and tensors alike */
static int find_sorted(const int *sorted, int n, const void *base, size_t stride, size_t name_off, const char *name) {
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const char *nm = *(const char *const *)((const char *)base + (size_t)sorted[mid] * stride + name_off);
        int r = strcmp(nm, name);
        if (!r) return sorted[mid];
        if (r < 0) lo = mid + 1; else hi = mid - 1;
    }
    return -1;
}

const GgufKV *gguf_find(const GgufFile *f, const char *key) {
    int i = find_sorted(f->kv_sorted, f->n_kv, f->kv, sizeof *f->kv, offsetof(GgufKV, key), key);
    return i < 0 ? NULL : &f->kv[i];
}

__attribute__((noreturn, format(printf, 3, 4)))
static void kbad(const GgufFile *f, const char *key, const char *fmt, ...) {
    char msg[300], b[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    die(EXIT_DATA, "%s: key '%s': %s", f->path, shown(key, strlen(key), b, sizeof b), msg);
}

static const GgufKV *req(const GgufFile *f, const char *key) {
    const GgufKV *kv = gguf_find(f, key);
    if (!kv) kbad(f, key, "missing");
    return kv;
}

static int is_int_type(uint32_t t) {
    return t <= GGUF_T_INT32 || t == GGUF_T_UINT64 || t == GGUF_T_INT64;
}
static int is_signed(uint32_t t) {
    return t == GGUF_T_INT8 || t == GGUF_T_INT16 || t == GGUF_T_INT32 || t == GGUF_T_INT64;
}
/* integer at p of type t as (negative?, magnitude-preserving) int64 or uint64 */
static void load_int(uint32_t t, const uint8_t *p, int64_t *s, uint64_t *u, int *neg) {
    switch (t) {
    case GGUF_T_UINT8: *u = p[0]; break;
    case GGUF_T_INT8: *s = (int8_t)p[0]; break;
    case GGUF_T_UINT16: *u = ld16(p); break;
    case GGUF_T_INT16: *s = (int16_t)ld16(p); break;
    case GGUF_T_UINT32: *u = ld32(p); break;
    case GGUF_T_INT32: *s = (int32_t)ld32(p); break;
    case GGUF_T_UINT64: *u = ld64(p); break;
    default: *s = (int64_t)ld64(p); break;
    }
    if (is_signed(t)) { *neg = *s < 0; *u = (uint64_t)*s; }
    else { *neg = 0; *s = (int64_t)*u; }
}

static uint64_t kv_uint(const GgufFile *f, const GgufKV *kv) {
    if (!is_int_type(kv->type)) kbad(f, kv->key, "expected an unsigned integer, found %s", VT_NAMES[kv->type]);
    int64_t s; uint64_t u; int neg;
    load_int(kv->type, kv->val, &s, &u, &neg);
    if (neg) kbad(f, kv->key, "value %lld is negative", (long long)s);
    return u;
}
static int64_t int_elem(const GgufFile *f, const char *key, uint32_t t, const uint8_t *p) {
    if (!is_int_type(t)) kbad(f, key, "expected an integer, found %s", VT_NAMES[t]);
    int64_t s; uint64_t u; int neg;
    load_int(t, p, &s, &u, &neg);
    if (t == GGUF_T_UINT64 && u > INT64_MAX) kbad(f, key, "value %llu is out of the int64 range", (unsigned long long)u);
    return s;
}
static double float_elem(const GgufFile *f, const char *key, uint32_t t, const uint8_t *p) {
    if (t == GGUF_T_FLOAT32) { float x; memcpy(&x, p, 4); return x; }
    if (t == GGUF_T_FLOAT64) { double x; memcpy(&x, p, 8); return x; }
    kbad(f, key, "expected a float, found %s", VT_NAMES[t]);
}

uint64_t gguf_get_uint(const GgufFile *f, const char *key) { return kv_uint(f, req(f, key)); }
uint64_t gguf_get_uint_or(const GgufFile *f, const char *key, uint64_t def) {
    const GgufKV *kv = gguf_find(f, key);
    return kv ? kv_uint(f, kv) : def;
}
int64_t gguf_get_int(const GgufFile *f, const char *key) {
    const GgufKV *kv = req(f, key);
    return int_elem(f, key, kv->type, kv->val);
}
int64_t gguf_get_int_or(const GgufFile *f, const char *key, int64_t def) {
    const GgufKV *kv = gguf_find(f, key);
    return kv ? int_elem(f, key, kv->type, kv->val) : def;
}
double gguf_get_float(const GgufFile *f, const char *key) {
    const GgufKV *kv = req(f, key);
    return float_elem(f, key, kv->type, kv->val);
}
double gguf_get_float_or(const GgufFile *f, const char *key, double def) {
    const GgufKV *kv = gguf_find(f, key);
    return kv ? float_elem(f, key, kv->type, kv->val) : def;
}
static int kv_bool(const GgufFile *f, const GgufKV *kv) {
    if (kv->type != GGUF_T_BOOL) kbad(f, kv->key, "expected BOOL, found %s", VT_NAMES[kv->type]);
    return kv->val[0];
}
int gguf_get_bool(const GgufFile *f, const char *key) { return kv_bool(f, req(f, key)); }
int gguf_get_bool_or(const GgufFile *f, const char *key, int def) {
    const GgufKV *kv = gguf_find(f, key);
    return kv ? kv_bool(f, kv) : def;
}
static const char *kv_str(const GgufFile *f, const GgufKV *kv, size_t *len) {
    if (kv->type != GGUF_T_STRING) kbad(f, kv->key, "expected STRING, found %s", VT_NAMES[kv->type]);
    if (len) *len = (size_t)kv->str_len;
    return kv->str;
}
const char *gguf_get_str(const GgufFile *f, const char *key, size_t *len) { return kv_str(f, req(f, key), len); }
const char *gguf_get_str_or(const GgufFile *f, const char *key, const char *def, size_t *len) {
    const GgufKV *kv = gguf_find(f, key);
    if (kv) return kv_str(f, kv, len);
    if (len) *len = def ? strlen(def) : 0;
    return def;
}

static const GgufKV *req_arr(const GgufFile *f, const char *key, GgufType expect) {
    const GgufKV *kv = req(f, key);
    if (kv->type != GGUF_T_ARRAY) kbad(f, key, "expected ARRAY, found %s", VT_NAMES[kv->type]);
    if (expect != GGUF_T_COUNT && kv->arr_type != expect)
        kbad(f, key, "expected ARRAY of %s, found ARRAY of %s", gguf_value_type_name(expect), VT_NAMES[kv->arr_type]);
    return kv;
}
static void idx_check(const GgufFile *f, const GgufKV *kv, uint64_t i) {
    if (kv->type != GGUF_T_ARRAY) kbad(f, kv->key, "expected ARRAY, found %s", VT_NAMES[kv->type]);
    if (i >= kv->arr_n) kbad(f, kv->key, "index %llu out of range (%llu elements)", (unsigned long long)i, (unsigned long long)kv->arr_n);
}
uint64_t gguf_arr_len(const GgufFile *f, const char *key, GgufType expect) { return req_arr(f, key, expect)->arr_n; }
const char *gguf_kv_arr_str(const GgufFile *f, const GgufKV *kv, uint64_t i, size_t *len) {
    idx_check(f, kv, i);
    if (kv->arr_type != GGUF_T_STRING) kbad(f, kv->key, "expected ARRAY of STRING, found ARRAY of %s", VT_NAMES[kv->arr_type]);
    if (len) *len = (size_t)(kv->soff[i + 1] - kv->soff[i] - 1);
    return kv->strs + kv->soff[i];
}
int64_t gguf_kv_arr_int(const GgufFile *f, const GgufKV *kv, uint64_t i) {
    idx_check(f, kv, i);
    if (!is_int_type(kv->arr_type)) kbad(f, kv->key, "expected ARRAY of integers, found ARRAY of %s", VT_NAMES[kv->arr_type]);
    return int_elem(f, kv->key, kv->arr_type, kv->val + i * VT_SIZE[kv->arr_type]);
}
double gguf_kv_arr_float(const GgufFile *f, const GgufKV *kv, uint64_t i) {
    idx_check(f, kv, i);
    if (kv->arr_type != GGUF_T_FLOAT32 && kv->arr_type != GGUF_T_FLOAT64)
        kbad(f, kv->key, "expected ARRAY of floats, found ARRAY of %s", VT_NAMES[kv->arr_type]);
    return float_elem(f, kv->key, kv->arr_type, kv->val + i * VT_SIZE[kv->arr_type]);
}
const char *gguf_arr_str(const GgufFile *f, const char *key, uint64_t i, size_t *len) {
    return gguf_kv_arr_str(f, req_arr(f, key, GGUF_T_STRING), i, len);
}
int64_t gguf_arr_int(const GgufFile *f, const char *key, uint64_t i) {
    return gguf_kv_arr_int(f, req_arr(f, key, GGUF_T_COUNT), i);
}
int32_t gguf_arr_i32(const GgufFile *f, const char *key, uint64_t i) {
    int64_t v = gguf_kv_arr_int(f, req_arr(f, key, GGUF_T_COUNT), i);
    if (v < INT32_MIN || v > INT32_MAX) kbad(f, key, "element %llu = %lld is out of the int32 range", (unsigned long long)i, (long long)v);
    return (int32_t)v;
}
float gguf_arr_f32(const GgufFile *f, const char *key, uint64_t i) {
    return (float)gguf_kv_arr_float(f, req_arr(f, key, GGUF_T_COUNT), i);
}

/* ---------------- printing ---------------- */
static void put_str(FILE *o, const uint8_t *s, uint64_t n, size_t max) {
    uint64_t cut = n;
    if (n > max) {               /* cut at max bytes, not inside a UTF-8 sequence */
        cut = max;
        while (cut > 0 && (s[cut] & 0xc0) == 0x80) cut--;
    }
    putc('"', o);
    for (uint64_t i = 0; i < cut; i++) {
        uint8_t ch = s[i];
        if (ch == '"' || ch == '\\') { putc('\\', o); putc(ch, o); }
        else if (ch < 0x20 || ch == 0x7f) fprintf(o, "\\x%02x", ch);
        else putc(ch, o);
    }
    putc('"', o);
    if (cut < n) fprintf(o, "...(+%llu bytes)", (unsigned long long)(n - cut));
}

static const uint8_t *skip_val(uint32_t t, const uint8_t *p) {   /* validated at open */
    if (t == GGUF_T_STRING) return p + 8 + ld64(p);
    if (t != GGUF_T_ARRAY) return p + VT_SIZE[t];
    uint32_t et = ld32(p);
    uint64_t n = ld64(p + 4);
    p += 12;
    if (et != GGUF_T_STRING && et != GGUF_T_ARRAY) return p + n * VT_SIZE[et];
    for (uint64_t i = 0; i < n; i++) p = skip_val(et, p);
    return p;
}

static const uint8_t *put_val(FILE *o, uint32_t t, const uint8_t *p, int max_items, size_t max_str) {
    int64_t s; uint64_t u; int neg;
    switch (t) {
    case GGUF_T_FLOAT32: { float x; memcpy(&x, p, 4); fprintf(o, "%.9g", x); return p + 4; }
    case GGUF_T_FLOAT64: { double x; memcpy(&x, p, 8); fprintf(o, "%.17g", x); return p + 8; }
    case GGUF_T_BOOL: fputs(p[0] ? "true" : "false", o); return p + 1;
    case GGUF_T_STRING: { uint64_t n = ld64(p); put_str(o, p + 8, n, max_str); return p + 8 + n; }
    case GGUF_T_ARRAY: {
        uint32_t et = ld32(p);
        uint64_t n = ld64(p + 4);
        const uint8_t *arr = p, *end = NULL;
        p += 12;
        putc('[', o);
        for (uint64_t i = 0; i < n; i++) {
            if (i == (uint64_t)max_items) {
                fputs(i ? ", ..." : "...", o);
                end = skip_val(GGUF_T_ARRAY, arr);
                break;
            }
            if (i) fputs(", ", o);
            p = put_val(o, et, p, max_items, max_str);
        }
        putc(']', o);
        return end ? end : p;
    }
    default:
        load_int(t, p, &s, &u, &neg);
        if (is_signed(t)) fprintf(o, "%lld", (long long)s); else fprintf(o, "%llu", (unsigned long long)u);
        return p + VT_SIZE[t];
    }
}

void gguf_kv_print(FILE *out, const GgufKV *kv, int max_items, size_t max_str) {
    if (kv->type == GGUF_T_STRING) put_str(out, kv->val, kv->val_bytes, max_str);
    else if (kv->type == GGUF_T_ARRAY) put_val(out, GGUF_T_ARRAY, kv->val - 12, max_items, max_str);   /* header precedes val */
    else put_val(out, kv->type, kv->val, max_items, max_str);
}

/* ---------------- tensors ---------------- */
int gguf_n_tensors(const GgufFile *f) { return f->n_tensors; }
const GgufTensor *gguf_tensor(const GgufFile *f, int i) { return i >= 0 && i < f->n_tensors ? &f->t[i] : NULL; }
const GgufTensor *gguf_find_tensor(const GgufFile *f, const char *name) {
    int i = find_sorted(f->t_sorted, f->n_tensors, f->t, sizeof *f->t, offsetof(GgufTensor, name), name);
    return i < 0 ? NULL : &f->t[i];
}
uint64_t gguf_tensor_rows(const GgufTensor *t) { return t->nelem / t->ne[0]; }

/* ---------------- dequantisation ----------------
 * One function per type over nb blocks, following ggml's dequantize_row_* and gguf-py's
 * dequantize_blocks; gguf-py's numpy order of operations is what is matched, e.g. Q4_1 is
 * (d * q) + m, the K-quants (d * sc) * q - (dmin * m), Q6_K (d * sc) * q: for all of these
 * ggml computes the same products in the same order, so no difference was found. */
static inline float h2f(uint16_t h) {
    uint32_t s = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff, bits;
    if (e == 0x1f) bits = s | 0x7f800000u | (m << 13);
    else if (e == 0) { float v = (float)m * 0x1p-24f; memcpy(&bits, &v, 4); bits |= s; }   /* exact */
    else bits = s | ((e + 112) << 23) | (m << 13);
    float x; memcpy(&x, &bits, 4); return x;
}

static void deq_f32(const uint8_t *b, float *y, uint64_t n) { memcpy(y, b, (size_t)n * 4); }
static void deq_f16(const uint8_t *b, float *y, uint64_t n) { for (uint64_t i = 0; i < n; i++) y[i] = h2f(ld16(b + 2 * i)); }
static void deq_bf16(const uint8_t *b, float *y, uint64_t n) {
    for (uint64_t i = 0; i < n; i++) { uint32_t v = (uint32_t)ld16(b + 2 * i) << 16; memcpy(&y[i], &v, 4); }
}
static void deq_q4_0(const uint8_t *b, float *y, uint64_t nb) {
    for (uint64_t i = 0; i < nb; i++, b += 18, y += 32) {
        float d = h2f(ld16(b));
        for (int j = 0; j < 16; j++) {
            y[j] = d * (float)((b[2 + j] & 0xf) - 8);
            y[j + 16] = d * (float)((b[2 + j] >> 4) - 8);
        }
    }
}
static void deq_q4_1(const uint8_t *b, float *y, uint64_t nb) {
    for (uint64_t i = 0; i < nb; i++, b += 20, y += 32) {
        float d = h2f(ld16(b)), m = h2f(ld16(b + 2));
        for (int j = 0; j < 16; j++) {
            y[j] = d * (float)(b[4 + j] & 0xf) + m;
            y[j + 16] = d * (float)(b[4 + j] >> 4) + m;
        }
    }
}
static void deq_q5_0(const uint8_t *b, float *y, uint64_t nb) {
    for (uint64_t i = 0; i < nb; i++, b += 22, y += 32) {
        float d = h2f(ld16(b));
        uint32_t qh = ld32(b + 2);
        for (int j = 0; j < 16; j++) {
            int x0 = (b[6 + j] & 0xf) | (int)(((qh >> j) & 1) << 4);
            int x1 = (b[6 + j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
            y[j] = d * (float)(x0 - 16);
            y[j + 16] = d * (float)(x1 - 16);
        }
    }
}
static void deq_q5_1(const uint8_t *b, float *y, uint64_t nb) {
    for (uint64_t i = 0; i < nb; i++, b += 24, y += 32) {
        float d = h2f(ld16(b)), m = h2f(ld16(b + 2));
        uint32_t qh = ld32(b + 4);
        for (int j = 0; j < 16; j++) {
            int x0 = (b[8 + j] & 0xf) | (int)(((qh >> j) & 1) << 4);
            int x1 = (b[8 + j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
            y[j] = d * (float)x0 + m;
            y[j + 16] = d * (float)x1 + m;
        }
    }
}
static void deq_q8_0(const uint8_t *b, float *y, uint64_t nb) {
    for (uint64_t i = 0; i < nb; i++, b += 34, y += 32) {
        float d = h2f(ld16(b));
        for (int j = 0; j < 32; j++) y[j] = (float)(int8_t)b[2 + j] * d;
    }
}
static void deq_q2_k(const uint8_t *b, float *y, uint64_t nb) {
    for (uint64_t i = 0; i < nb; i++, b += 84) {   /* scales[16] qs[64] d dmin */
        const uint8_t *sc = b, *q = b + 16;
        float d = h2f(ld16(b + 80)), mn = h2f(ld16(b + 82));
        int is = 0;
        for (int n = 0; n < 256; n += 128, q += 32)
            for (int shift = 0; shift < 8; shift += 2)
                for (int half = 0; half < 2; half++) {
                    uint8_t s = sc[is++];
                    float dl = d * (float)(s & 0xf), ml = mn * (float)(s >> 4);
                    for (int l = 0; l < 16; l++) *y++ = dl * (float)((q[l + 16 * half] >> shift) & 3) - ml;
                }
    }
}
static void deq_q3_k(const uint8_t *b, float *y, uint64_t nb) {
    for (uint64_t i = 0; i < nb; i++, b += 110) {  /* hmask[32] qs[64] scales[12] d */
        const uint8_t *hm = b, *q = b + 32, *s12 = b + 96;
        float d = h2f(ld16(b + 108));
        int8_t sc[16];
        for (int s = 0; s < 16; s++) {
            int lo = s < 8 ? (s12[s] & 0xf) : (s12[s - 8] >> 4);
            int hi = (s12[8 + (s & 3)] >> (2 * (s >> 2))) & 3;
            sc[s] = (int8_t)((lo | hi << 4) - 32);
        }
        int is = 0;
        uint8_t m = 1;
        for (int n = 0; n < 256; n += 128, q += 32)
            for (int shift = 0; shift < 8; shift += 2, m <<= 1)
                for (int half = 0; half < 2; half++) {
                    float dl = d * (float)sc[is++];
                    for (int l = 0; l < 16; l++) {
                        int k = l + 16 * half;
                        *y++ = dl * (float)(((q[k] >> shift) & 3) - ((hm[k] & m) ? 0 : 4));
                    }
                }
    }
}
static inline void scale_min_k4(int j, const uint8_t *q, int *d, int *m) {
    if (j < 4) { *d = q[j] & 63; *m = q[j + 4] & 63; }
    else { *d = (q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4); *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4); }
}
static void deq_q4_k(const uint8_t *b, float *y, uint64_t nb) {
    for (uint64_t i = 0; i < nb; i++, b += 144) {  /* d dmin scales[12] qs[128] */
        float d = h2f(ld16(b)), mn = h2f(ld16(b + 2));
        const uint8_t *sc = b + 4, *q = b + 16;
        for (int j = 0, is = 0; j < 256; j += 64, q += 32, is += 2) {
            int s, m;
            scale_min_k4(is, sc, &s, &m);
            float d1 = d * (float)s, m1 = mn * (float)m;
            scale_min_k4(is + 1, sc, &s, &m);
            float d2 = d * (float)s, m2 = mn * (float)m;
            for (int l = 0; l < 32; l++) *y++ = d1 * (float)(q[l] & 0xf) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * (float)(q[l] >> 4) - m2;
        }
    }
}
static void deq_q5_k(const uint8_t *b, float *y, uint64_t nb) {
    for (uint64_t i = 0; i < nb; i++, b += 176) {  /* d dmin scales[12] qh[32] qs[128] */
        float d = h2f(ld16(b)), mn = h2f(ld16(b + 2));
        const uint8_t *sc = b + 4, *qh = b + 16, *ql = b + 48;
        uint8_t u1 = 1, u2 = 2;
        for (int j = 0, is = 0; j < 256; j += 64, ql += 32, is += 2, u1 <<= 2, u2 <<= 2) {
            int s, m;
            scale_min_k4(is, sc, &s, &m);
            float d1 = d * (float)s, m1 = mn * (float)m;
            scale_min_k4(is + 1, sc, &s, &m);
            float d2 = d * (float)s, m2 = mn * (float)m;
            for (int l = 0; l < 32; l++) *y++ = d1 * (float)((ql[l] & 0xf) + (qh[l] & u1 ? 16 : 0)) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * (float)((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
        }
    }
}
static void deq_q6_k(const uint8_t *b, float *y, uint64_t nb) {
    for (uint64_t i = 0; i < nb; i++, b += 210) {  /* ql[128] qh[64] scales[16] d */
        float d = h2f(ld16(b + 208));
        const uint8_t *ql = b, *qh = b + 128;
        const int8_t *sc = (const int8_t *)(b + 192);
        for (int n = 0; n < 256; n += 128, y += 128, ql += 64, qh += 32, sc += 8)
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int q1 = ((ql[l] & 0xf) | ((qh[l] >> 0) & 3) << 4) - 32;
                int q2 = ((ql[l + 32] & 0xf) | ((qh[l] >> 2) & 3) << 4) - 32;
                int q3 = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
                int q4 = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
                y[l] = d * (float)sc[is] * (float)q1;
                y[l + 32] = d * (float)sc[is + 2] * (float)q2;
                y[l + 64] = d * (float)sc[is + 4] * (float)q3;
                y[l + 96] = d * (float)sc[is + 6] * (float)q4;
            }
    }
}

typedef void (*DeqFn)(const uint8_t *, float *, uint64_t);   /* (blocks, out, n blocks) */
static DeqFn deq_fn(uint32_t t) {
    switch (t) {
    case GGML_F32: return deq_f32;
    case GGML_F16: return deq_f16;
    case GGML_BF16: return deq_bf16;
    case GGML_Q4_0: return deq_q4_0;
    case GGML_Q4_1: return deq_q4_1;
    case GGML_Q5_0: return deq_q5_0;
    case GGML_Q5_1: return deq_q5_1;
    case GGML_Q8_0: return deq_q8_0;
    case GGML_Q2_K: return deq_q2_k;
    case GGML_Q3_K: return deq_q3_k;
    case GGML_Q4_K: return deq_q4_k;
    case GGML_Q5_K: return deq_q5_k;
    case GGML_Q6_K: return deq_q6_k;
    default: return NULL;
    }
}

/* nb blocks, split over threads at block boundaries (results do not depend on the split) */
static void deq_blocks(uint32_t type, const uint8_t *src, float *dst, uint64_t nb) {
    DeqFn fn = deq_fn(type);
    const uint64_t chunk = 4096;
    uint32_t bl = TYPES[type].blck, bs = TYPES[type].size;
    uint64_t nchunks = (nb + chunk - 1) / chunk;
    if (nchunks <= 1) { fn(src, dst, nb); return; }
    #pragma omp parallel for schedule(static)
    for (uint64_t c = 0; c < nchunks; c++) {
        uint64_t b0 = c * chunk, n = nb - b0 < chunk ? nb - b0 : chunk;
        fn(src + b0 * bs, dst + b0 * bl, n);
    }
}

void gguf_dequantize(uint32_t type, const void *src, float *dst, uint64_t n) {
    if (!gguf_type_supported(type))
        die(EXIT_DATA, "gguf_dequantize: type %s (%u) cannot be converted", gguf_type_known(type) ? TYPES[type].name : "unknown", type);
    if (n % TYPES[type].blck)
        die(EXIT_DATA, "gguf_dequantize: %llu elements is not a multiple of the %s block size %u",
            (unsigned long long)n, TYPES[type].name, TYPES[type].blck);
    deq_blocks(type, src, dst, n / TYPES[type].blck);
}

void gguf_tensor_rows_f32(const GgufFile *f, const GgufTensor *t, uint64_t row0, uint64_t nrows, float *dst) {
    char b[96];
    if (!gguf_type_supported(t->type))
        die(EXIT_DATA, "%s: tensor '%s': type %s cannot be converted", f->path, shown(t->name, strlen(t->name), b, sizeof b), TYPES[t->type].name);
    uint64_t rows = gguf_tensor_rows(t);
    if (row0 > rows || nrows > rows - row0)
        die(EXIT_DATA, "%s: tensor '%s': rows [%llu, +%llu) outside its %llu rows", f->path, shown(t->name, strlen(t->name), b, sizeof b),
            (unsigned long long)row0, (unsigned long long)nrows, (unsigned long long)rows);
    const TypeInfo *ti = &TYPES[t->type];
    uint64_t bpr = t->ne[0] / ti->blck;   /* blocks per row */
    deq_blocks(t->type, t->data + row0 * bpr * ti->size, dst, nrows * bpr);
}

void gguf_tensor_f32(const GgufFile *f, const GgufTensor *t, float *dst) {
    gguf_tensor_rows_f32(f, t, 0, gguf_tensor_rows(t), dst);
}
