#include "amzscan.h"
#include "textclean.h"
#include <stdlib.h>
#include <string.h>

const char *const jv_type_name[8] = {"missing", "a string", "a number", "true", "false", "null", "an object", "an array"};

void jkeys_init(JKeys *k, const char *const *keys, int n) {
    k->keys = keys;
    k->nkeys = n > 16 ? 16 : n;
    for (int i = 0; i < k->nkeys; i++) k->lens[i] = strlen(keys[i]);
}

typedef struct { const char *p, *e; const char *err; } St;

#define FAIL(st, msg) do { (st)->err = (msg); return -1; } while (0)
static inline int ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static inline void skip_ws(St *st) { while (st->p < st->e && ws(*st->p)) st->p++; }
static inline int hexd(char c) { return (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'f'); }

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL
static inline uint64_t haszero(uint64_t v) { return (v - ONES) & ~v & HIGHS; }

/* st->p at the opening quote; leaves st->p after the closing quote */
static int scan_string(St *st, int *escaped) {
    const char *p = st->p + 1, *e = st->e;
    *escaped = 0;
    for (;;) {
        /* 8 bytes at a time while none is '"', '\\' or a control byte: review texts are long */
        while (p + 8 <= e) {
            uint64_t v; memcpy(&v, p, 8);
            if (haszero(v ^ (ONES * '"')) | haszero(v ^ (ONES * '\\')) | ((v - ONES * 0x20) & ~v & HIGHS)) break;
            p += 8;
        }
        if (p >= e) { st->p = p; FAIL(st, "unterminated string"); }
        unsigned char c = (unsigned char)*p;
        if (c == '"') { st->p = p + 1; return 0; }
        if (c == '\\') {
            *escaped = 1;
            if (p + 1 >= e) { st->p = p; FAIL(st, "unterminated string"); }
            char x = p[1];
            if (x == 'u') {
                if (p + 6 > e || !hexd(p[2]) || !hexd(p[3]) || !hexd(p[4]) || !hexd(p[5])) { st->p = p; FAIL(st, "bad \\u escape"); }
                p += 6;
            } else if (x == '"' || x == '\\' || x == '/' || x == 'b' || x == 'f' || x == 'n' || x == 'r' || x == 't') {
                p += 2;
            } else { st->p = p; FAIL(st, "bad escape in string"); }
            continue;
        }
        if (c < 0x20) { st->p = p; FAIL(st, "control character in string"); }
        p++;
    }
}

static int scan_number(St *st) {
    const char *p = st->p, *e = st->e;
    if (p < e && *p == '-') p++;
    if (p >= e) { st->p = p; FAIL(st, "bad number"); }
    if (*p == '0') p++;
    else if (*p >= '1' && *p <= '9') { while (p < e && *p >= '0' && *p <= '9') p++; }
    else { st->p = p; FAIL(st, "bad number"); }
    if (p < e && *p == '.') {
        p++;
        if (p >= e || !(*p >= '0' && *p <= '9')) { st->p = p; FAIL(st, "bad number"); }
        while (p < e && *p >= '0' && *p <= '9') p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-')) p++;
        if (p >= e || !(*p >= '0' && *p <= '9')) { st->p = p; FAIL(st, "bad number"); }
        while (p < e && *p >= '0' && *p <= '9') p++;
    }
    st->p = p;
    return 0;
}

static int scan_value(St *st, int depth, int *type, int *escaped);

static int scan_lit(St *st, const char *lit, size_t n) {
    if ((size_t)(st->e - st->p) < n || memcmp(st->p, lit, n) != 0) FAIL(st, "unexpected character");
    st->p += n;
    return 0;
}

/* object or array body; st->p at '{' or '[' */
static int scan_container(St *st, int depth) {
    if (depth > 256) FAIL(st, "nesting too deep");
    char close = *st->p == '{' ? '}' : ']';
    int obj = close == '}';
    st->p++;
    skip_ws(st);
    if (st->p < st->e && *st->p == close) { st->p++; return 0; }
    for (;;) {
        int t, esc;
        if (obj) {
            skip_ws(st);
            if (st->p >= st->e || *st->p != '"') FAIL(st, "expected a key string");
            if (scan_string(st, &esc)) return -1;
            skip_ws(st);
            if (st->p >= st->e || *st->p != ':') FAIL(st, "expected ':'");
            st->p++;
        }
        if (scan_value(st, depth + 1, &t, &esc)) return -1;
        skip_ws(st);
        if (st->p >= st->e) FAIL(st, obj ? "unterminated object" : "unterminated array");
        if (*st->p == ',') { st->p++; continue; }
        if (*st->p == close) { st->p++; return 0; }
        FAIL(st, obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int scan_value(St *st, int depth, int *type, int *escaped) {
    skip_ws(st);
    if (st->p >= st->e) FAIL(st, "expected a value");
    *escaped = 0;
    switch (*st->p) {
    case '"': *type = JV_STR; return scan_string(st, escaped);
    case '{': *type = JV_OBJ; return scan_container(st, depth);
    case '[': *type = JV_ARR; return scan_container(st, depth);
    case 't': *type = JV_TRUE; return scan_lit(st, "true", 4);
    case 'f': *type = JV_FALSE; return scan_lit(st, "false", 5);
    case 'n': *type = JV_NULL; return scan_lit(st, "null", 4);
    default:
        if (*st->p == '-' || (*st->p >= '0' && *st->p <= '9')) { *type = JV_NUM; return scan_number(st); }
        FAIL(st, "unexpected character");
    }
}

int jscan_object(const char *s, size_t n, const JKeys *k, JSpan *out, const char **err, size_t *errpos) {
    St st = {s, s + n, NULL};
    for (int i = 0; i < k->nkeys; i++) out[i].type = JV_NONE, out[i].p = NULL, out[i].n = 0, out[i].escaped = 0;
    skip_ws(&st);
    if (st.p >= st.e) { st.err = "empty line"; goto bad; }
    if (*st.p != '{') { st.err = "not a JSON object"; goto bad; }
    st.p++;
    skip_ws(&st);
    if (st.p < st.e && *st.p == '}') { st.p++; goto tail; }
    for (;;) {
        int esc, t;
        skip_ws(&st);
        if (st.p >= st.e || *st.p != '"') { st.err = "expected a key string"; goto bad; }
        const char *key = st.p + 1;
        if (scan_string(&st, &esc)) goto bad;
        size_t klen = (size_t)(st.p - 1 - key);
        int want = -1;
        for (int i = 0; i < k->nkeys; i++)
            if (k->lens[i] == klen && out[i].type == JV_NONE && memcmp(k->keys[i], key, klen) == 0) { want = i; break; }
        skip_ws(&st);
        if (st.p >= st.e || *st.p != ':') { st.err = "expected ':'"; goto bad; }
        st.p++;
        skip_ws(&st);
        const char *v0 = st.p;
        if (scan_value(&st, 1, &t, &esc)) goto bad;
        if (want >= 0) {
            JSpan *sp = &out[want];
            sp->type = t; sp->escaped = esc;
            if (t == JV_STR) { sp->p = v0 + 1; sp->n = (size_t)(st.p - v0 - 2); }
            else { sp->p = v0; sp->n = (size_t)(st.p - v0); }
        }
        skip_ws(&st);
        if (st.p >= st.e) { st.err = "unterminated object"; goto bad; }
        if (*st.p == ',') { st.p++; continue; }
        if (*st.p == '}') { st.p++; break; }
        st.err = "expected ',' or '}'";
        goto bad;
    }
tail:
    skip_ws(&st);
    if (st.p != st.e) { st.err = "trailing characters after the object"; goto bad; }
    return 0;
bad:
    *err = st.err;
    *errpos = (size_t)(st.p - s);
    return -1;
}

static unsigned hex4(const char *p) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 32) - 'a' + 10);
    }
    return v;
}

size_t jstr_decode(const JSpan *sp, char *dst) {
    const char *p = sp->p, *e = sp->p + sp->n;
    if (!sp->escaped) { memcpy(dst, p, sp->n); dst[sp->n] = 0; return sp->n; }
    size_t o = 0;
    while (p < e) {
        if (*p != '\\') { dst[o++] = *p++; continue; }
        char x = p[1];
        p += 2;
        switch (x) {
        case 'b': dst[o++] = '\b'; break;
        case 'f': dst[o++] = '\f'; break;
        case 'n': dst[o++] = '\n'; break;
        case 'r': dst[o++] = '\r'; break;
        case 't': dst[o++] = '\t'; break;
        case 'u': {
            unsigned cp = hex4(p);
            p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && p + 6 <= e && p[0] == '\\' && p[1] == 'u') {
                unsigned lo = hex4(p + 2);
                if (lo >= 0xDC00 && lo <= 0xDFFF) { cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00); p += 6; }
            }
            int m = utf8_put(dst + o, cp);
            if (!m) m = utf8_put(dst + o, 0xFFFD);   /* NUL or lone surrogate */
            o += (size_t)m;
            break;
        }
        default: dst[o++] = x; break;   /* " \ / */
        }
    }
    dst[o] = 0;
    return o;
}

int jnum_int64(const JSpan *sp, int64_t *v) {
    const char *p = sp->p, *e = sp->p + sp->n;
    int neg = 0;
    if (p < e && *p == '-') { neg = 1; p++; }
    int64_t x = 0;
    int nd = 0;
    while (p < e && *p >= '0' && *p <= '9') {
        if (++nd > 18) return -1;
        x = x * 10 + (*p++ - '0');
    }
    if (p < e && *p == '.') { p++; while (p < e && *p == '0') p++; }   /* 1529193600.0 */
    if (p != e) return -1;
    *v = neg ? -x : x;
    return 0;
}

double jnum_double(const JSpan *sp) {
    char buf[64];
    size_t n = sp->n < sizeof buf - 1 ? sp->n : sizeof buf - 1;
    /* fast path for the common d.d rating form */
    if (sp->n == 3 && sp->p[1] == '.' && sp->p[0] >= '0' && sp->p[0] <= '9' && sp->p[2] >= '0' && sp->p[2] <= '9')
        return (sp->p[0] - '0') + (sp->p[2] - '0') / 10.0;
    memcpy(buf, sp->p, n);
    buf[n] = 0;
    return strtod(buf, NULL);
}
