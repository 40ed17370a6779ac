/* fuzz_amzscan: amz-filter's JSON line scanner (tools/lib/data/amzscan.c) and the title cleaning
 * behind it (textclean.c) on arbitrary bytes, differentially: an independent, plain
 * recursive-descent validator written here from amzscan.h's grammar must give the same
 * verdict and the same top-level key spans. Then jstr_decode / jnum_int64 / jnum_double /
 * title_clean / html_decode on what the line yields, with their documented invariants.
 * Input: one line (any bytes; a line with '\n' in it is just another invalid line). */
#include "amzscan.h"
#include "fuzz_common.h"
#include "textclean.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv) { (void)argc; fz_init((*argv)[0]); return 0; }

/* ---- the reference validator: RFC 8259 as amzscan.h states it ---- */
enum { MAX_DEPTH = 256 };   /* containers below the top-level object: depth 1..256 */
typedef struct { const char *s, *e; const char *keys[4]; size_t klen[4]; int nk; JSpan out[4]; } Ref;

static const char *ws(const char *p, const char *e) {
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}
static int is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* string at p (the quote); returns the byte after the closing quote or NULL */
static const char *str(const char *p, const char *e, int *esc) {
    *esc = 0;
    for (p++; p < e; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') return p + 1;
        if (c < 0x20) return NULL;
        if (c == '\\') {
            *esc = 1;
            if (++p >= e) return NULL;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++) if (p + i >= e || !is_hex(p[i])) return NULL;
                p += 4;
            } else if (!strchr("\"\\/bfnrt", *p) || !*p) return NULL;
        }
    }
    return NULL;
}
static const char *num(const char *p, const char *e) {
    if (p < e && *p == '-') p++;
    if (p >= e) return NULL;
    if (*p == '0') p++;
    else if (*p >= '1' && *p <= '9') while (p < e && is_digit(*p)) p++;
    else return NULL;
    if (p < e && *p == '.') {
        p++;
        if (p >= e || !is_digit(*p)) return NULL;
        while (p < e && is_digit(*p)) p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-')) p++;
        if (p >= e || !is_digit(*p)) return NULL;
        while (p < e && is_digit(*p)) p++;
    }
    return p;
}
static const char *value(const char *p, const char *e, int depth, int *type, int *esc);
static const char *container(const char *p, const char *e, int depth) {
    if (depth > MAX_DEPTH) return NULL;
    char close = *p == '{' ? '}' : ']';
    p = ws(p + 1, e);
    if (p < e && *p == close) return p + 1;
    for (;;) {
        int t, esc;
        if (close == '}') {
            if (p >= e || *p != '"' || !(p = str(p, e, &esc))) return NULL;
            p = ws(p, e);
            if (p >= e || *p != ':') return NULL;
            p++;
        }
        if (!(p = value(p, e, depth + 1, &t, &esc))) return NULL;
        p = ws(p, e);
        if (p >= e) return NULL;
        if (*p == close) return p + 1;
        if (*p != ',') return NULL;
        p = ws(p + 1, e);
    }
}
static const char *value(const char *p, const char *e, int depth, int *type, int *esc) {
    p = ws(p, e);
    *esc = 0;
    if (p >= e) return NULL;
    static const struct { const char *lit; int t; } lits[] = {{"true", JV_TRUE}, {"false", JV_FALSE}, {"null", JV_NULL}};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(lits[i].lit);
        if (*p == lits[i].lit[0]) { *type = lits[i].t; return (size_t)(e - p) >= n && !memcmp(p, lits[i].lit, n) ? p + n : NULL; }
    }
    if (*p == '"') { *type = JV_STR; return str(p, e, esc); }
    if (*p == '{' || *p == '[') { *type = *p == '{' ? JV_OBJ : JV_ARR; return container(p, e, depth); }
    *type = JV_NUM;
    return num(p, e);
}
/* 0 = valid object line (r->out filled), -1 = not */
static int ref_scan(Ref *r) {
    for (int i = 0; i < r->nk; i++) memset(&r->out[i], 0, sizeof r->out[i]);
    const char *p = ws(r->s, r->e), *e = r->e;
    if (p >= e || *p != '{') return -1;
    p = ws(p + 1, e);
    if (p < e && *p == '}') return ws(p + 1, e) == e ? 0 : -1;
    for (;;) {
        int esc, t;
        if (p >= e || *p != '"') return -1;
        const char *k0 = p + 1, *k1 = str(p, e, &esc);
        if (!k1) return -1;
        size_t kl = (size_t)(k1 - 1 - k0);
        p = ws(k1, e);
        if (p >= e || *p != ':') return -1;
        p = ws(p + 1, e);
        const char *v0 = p, *v1 = value(p, e, 1, &t, &esc);
        if (!v1) return -1;
        for (int i = 0; i < r->nk; i++)
            if (r->klen[i] == kl && !memcmp(r->keys[i], k0, kl)) {
                if (r->out[i].type == JV_NONE) {   /* the first occurrence wins */
                    r->out[i].type = t;
                    r->out[i].escaped = esc;
                    r->out[i].p = t == JV_STR ? v0 + 1 : v0;
                    r->out[i].n = t == JV_STR ? (size_t)(v1 - v0 - 2) : (size_t)(v1 - v0);
                }
                break;
            }
        p = ws(v1, e);
        if (p >= e) return -1;
        if (*p == '}') return ws(p + 1, e) == e ? 0 : -1;
        if (*p != ',') return -1;
        p = ws(p + 1, e);
    }
}

static void check_span(const char *s, size_t n, const JSpan *sp, char *dec, char *clean) {
    FZ_CHECK(sp->p >= s && sp->p + sp->n <= s + n, "span outside the line");
    if (sp->type == JV_STR) {
        size_t dn = jstr_decode(sp, dec);
        FZ_CHECK(dn <= sp->n, "jstr_decode grew %zu bytes to %zu", sp->n, dn);
        FZ_CHECK(dec[dn] == 0 && !memchr(dec, 0, dn), "decoded string holds a NUL");
        FZ_CHECK(sp->escaped || (dn == sp->n && !memcmp(dec, sp->p, dn)), "unescaped string changed by decoding");
        static const TitleRules rules[3] = {{2, 20, 1, 1}, {1, 0, 0, 0}, {0, 3, 1, 0}};
        for (int i = 0; i < 3; i++) {
            size_t cn = (size_t)-1;
            TitleVerdict v = title_clean(dec, dn, clean, &cn, &rules[i]);
            FZ_CHECK((unsigned)v < TITLE_NREASONS, "title_clean verdict %d", (int)v);
            FZ_CHECK(cn <= dn && clean[cn] == 0, "title_clean length %zu of %zu", cn, dn);
        }
        size_t hn = html_decode(dec, dn, clean);
        FZ_CHECK(hn <= dn && clean[hn] == 0, "html_decode length %zu of %zu", hn, dn);
    } else if (sp->type == JV_NUM) {
        int64_t v;
        if (jnum_int64(sp, &v) == 0) {
            /* only -?digits{1,18} optionally followed by .0+ */
            const char *p = sp->p, *e = sp->p + sp->n;
            if (*p == '-') p++;
            size_t nd = 0;
            while (p < e && is_digit(*p)) { p++; nd++; }
            FZ_CHECK(nd >= 1 && nd <= 18, "jnum_int64 accepted %zu digits", nd);
            if (p < e) { FZ_CHECK(*p == '.', "jnum_int64 accepted an exponent"); for (p++; p < e; p++) FZ_CHECK(*p == '0', "jnum_int64 accepted a fraction"); }
            FZ_CHECK(strtoll(sp->p, NULL, 10) == v, "jnum_int64 gave %lld", (long long)v);
        }
        double d = jnum_double(sp);
        if (sp->n < 60) {
            char buf[64];
            memcpy(buf, sp->p, sp->n);
            buf[sp->n] = 0;
            double want = strtod(buf, NULL);
            FZ_CHECK(d == want || (d != d && want != want), "jnum_double(%s) = %.17g, strtod %.17g", buf, d, want);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);   /* s[n] readable and NUL, as lr_next gives it */
    memcpy(s, data, size);
    s[size] = 0;
    static const char *const sets[2][4] = {{"reviewerID", "asin", "unixReviewTime", "overall"}, {"asin", "title", "", ""}};
    static const int nks[2] = {4, 2};
    char *dec = malloc(size + 1), *clean = malloc(size + 1);
    for (int k = 0; k < 2; k++) {
        JKeys keys;
        jkeys_init(&keys, sets[k], nks[k]);
        JSpan out[4];
        const char *err = NULL;
        size_t pos = (size_t)-1;
        int rc = jscan_object(s, size, &keys, out, &err, &pos);
        Ref r = {.s = s, .e = s + size, .nk = nks[k]};
        for (int i = 0; i < r.nk; i++) { r.keys[i] = sets[k][i]; r.klen[i] = strlen(sets[k][i]); }
        int want = ref_scan(&r);
        FZ_CHECK((rc == 0) == (want == 0), "jscan_object says %s, the reference %s (%s at %zu)",
                 rc ? "invalid" : "valid", want ? "invalid" : "valid", rc ? err : "-", rc ? pos : 0);
        if (rc) { FZ_CHECK(err && pos <= size, "error without message or position"); continue; }
        for (int i = 0; i < nks[k]; i++) {
            FZ_CHECK(out[i].type == r.out[i].type, "key %s: type %d, reference %d", sets[k][i], out[i].type, r.out[i].type);
            if (out[i].type == JV_NONE) continue;
            FZ_CHECK(out[i].p == r.out[i].p && out[i].n == r.out[i].n && out[i].escaped == r.out[i].escaped,
                     "key %s: span differs from the reference", sets[k][i]);
            check_span(s, size, &out[i], dec, clean);
        }
    }
    free(dec); free(clean); free(s);
    return 0;
}
