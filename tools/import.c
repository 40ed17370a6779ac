/* import: other datasets -> the pipeline's records (docs/FORMATS.md, import section).
 *   import --format movielens DIR      u.data + u.item (latin-1)          -> interactions
 *   import --format tsv DIR            interactions.tsv.gz + items.tsv.gz  -> interactions
 *   import --format d3csv FILE.csv     D3's processed split CSV            -> samples
 * The interaction formats share amz-filter's window / k-core code (amzcore). */
#include "util.h"
#include "amzcore.h"
#include "textclean.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void usage(int code) {
    fprintf(code ? stderr : stdout,
        "usage: import --format movielens|tsv DIR [options] > interactions.jsonl\n"
        "       import --format d3csv FILE.csv [--split S] [--id-base N] > samples.jsonl\n"
        "  movielens  DIR/u.data (user item rating ts) + DIR/u.item (latin-1, id|title|...)\n"
        "             --strip-year: drop a trailing \" (YYYY)\" from titles (default: keep)\n"
        "  tsv        DIR/interactions.tsv.gz (header; UserID ItemID Timestamp [Rating])\n"
        "             + DIR/items.tsv.gz (header; ItemID Title), HTML entities decoded\n"
        "             (--interactions FILE / --items FILE override the two paths)\n"
        "  d3csv      D3's train/valid/test CSV -> sample records; split from --split or\n"
        "             the file's directory name; ids from --id-base (default 0)\n"
        "Options for movielens/tsv (default: everything kept, no window, no k-core):\n"
        "%s"
        "  -o FILE           write here (atomically)\n"
        "  --stats FILE      statistics as one JSON object (input_* = before filtering)\n"
        "  --skip-bad        skip malformed lines (counted on stderr) instead of failing\n"
        "  -q / -v           quiet / log even when stderr is not a terminal\n"
        "Exit: 0 ok, 1 bad data, 2 usage, 3 I/O.\n", filter_usage);
    exit(code);
}

static int skip_bad;
static long nskipped;
static char first_skip[512];
static void bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void bad(const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!skip_bad) die(EXIT_DATA, "%s", msg);
    if (!nskipped++) snprintf(first_skip, sizeof first_skip, "%s", msg);
}

/* split s at sep into at most max fields (in place); returns the count */
static int split(char *s, char sep, char **f, int max) {
    int n = 0;
    f[n++] = s;
    for (char *p = s; *p && n < max; p++)
        if (*p == sep) { *p = 0; f[n++] = p + 1; }
    return n;
}

static int parse_i64(const char *s, int64_t *v) {
    char *e;
    if (!*s) return -1;
    long long x = strtoll(s, &e, 10);
    if (*e) return -1;
    *v = x;
    return 0;
}

static char *path_join(const char *dir, const char *name) {
    char *p = xmalloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

static char *cbuf; static size_t cbufcap;
static char *scratch(size_t n) {
    if (n > cbufcap) { cbufcap = 2 * n + 256; cbuf = xrealloc(cbuf, cbufcap); }
    return cbuf;
}

static long titles_dropped;
/* clean and store one catalogue title; returns 0 if dropped (empty) */
static int set_title(ITable *t, const char *id, const char *title, size_t n, int strip_year) {
    static const TitleRules rules = {1, 0, 0, 0};
    char *c = scratch(n + 1);
    size_t cn;
    if (title_clean(title, n, c, &cn, &rules) != TITLE_OK) { titles_dropped++; return 0; }
    if (strip_year && cn >= 7 && c[cn - 1] == ')' && c[cn - 6] == '(' &&
        c[cn - 5] >= '0' && c[cn - 5] <= '9' && c[cn - 4] >= '0' && c[cn - 4] <= '9' &&
        c[cn - 3] >= '0' && c[cn - 3] <= '9' && c[cn - 2] >= '0' && c[cn - 2] <= '9') {
        cn -= 6;
        while (cn > 0 && c[cn - 1] == ' ') cn--;
        if (!cn) { titles_dropped++; return 0; }
    }
    uint32_t it = it_item(t, id, strlen(id));
    if (it_title(t, it)) bad("item %s: listed twice in the catalogue", id);
    it_set_title(t, it, c, cn);
    return 1;
}

/* ---------------- MovieLens 100k ---------------- */
static void read_movielens(ITable *t, const char *dir, int strip_year) {
    char *ip = path_join(dir, "u.item"), *dp = path_join(dir, "u.data");
    LineReader *ir = lr_open(ip), *dr = lr_open(dp);
    char *line; size_t len;
    while ((line = lr_next(ir, &len))) {
        if (!len) continue;
        char *f[4];
        int nf = split(line, '|', f, 3);
        if (nf < 3 || !*f[0]) { bad("%s:%ld: title: expected id|title|...", lr_name(ir), lr_lineno(ir)); continue; }
        size_t tn = strlen(f[1]);
        char *u = xmalloc(2 * tn + 1);   /* latin-1 -> UTF-8 */
        size_t un = latin1_to_utf8(f[1], tn, u);
        set_title(t, f[0], u, un, strip_year);
        free(u);
    }
    while ((line = lr_next(dr, &len))) {
        char *f[5];
        int nf = split(line, '\t', f, 5);
        int64_t r, ts;
        if (nf != 4) { bad("%s:%ld: expected 4 tab-separated fields (user item rating ts), got %d", lr_name(dr), lr_lineno(dr), nf); continue; }
        if (!*f[0] || !*f[1]) { bad("%s:%ld: %s: empty id", lr_name(dr), lr_lineno(dr), *f[0] ? "item" : "user"); continue; }
        if (parse_i64(f[2], &r)) { bad("%s:%ld: rating: expected an integer, got '%s'", lr_name(dr), lr_lineno(dr), f[2]); continue; }
        if (parse_i64(f[3], &ts)) { bad("%s:%ld: timestamp: expected an integer, got '%s'", lr_name(dr), lr_lineno(dr), f[3]); continue; }
        it_add(t, it_user(t, f[0], strlen(f[0])), it_item(t, f[1], strlen(f[1])), ts, (double)r);
    }
    lr_close(ir); lr_close(dr);
    free(ip); free(dp);
}

/* ---------------- processed 5-core TSV sets ---------------- */
static int col(char **f, int nf, const char *name) {
    for (int i = 0; i < nf; i++) if (!strcmp(f[i], name)) return i;
    return -1;
}

static void read_tsv(ITable *t, const char *inter_path, const char *items_path) {
    LineReader *ir = lr_open(items_path), *dr = lr_open(inter_path);
    char *line; size_t len;
    char *f[16];
    line = lr_next(ir, &len);
    if (!line) die(EXIT_DATA, "%s: empty file (want a header ItemID<TAB>Title)", lr_name(ir));
    int nf = split(line, '\t', f, 16);
    int ci = col(f, nf, "ItemID"), ct = col(f, nf, "Title");
    if (ci < 0 || ct < 0 || ct != nf - 1) die(EXIT_DATA, "%s:1: header: want ItemID and Title (last) columns", lr_name(ir));
    while ((line = lr_next(ir, &len))) {
        int n = split(line, '\t', f, nf);   /* the title is the rest of the line */
        if (n != nf) { bad("%s:%ld: expected %d tab-separated fields", lr_name(ir), lr_lineno(ir), nf); continue; }
        if (!*f[ci]) { bad("%s:%ld: ItemID: empty", lr_name(ir), lr_lineno(ir)); continue; }
        set_title(t, f[ci], f[ct], strlen(f[ct]), 0);
    }
    line = lr_next(dr, &len);
    if (!line) die(EXIT_DATA, "%s: empty file (want a header UserID<TAB>ItemID<TAB>Timestamp)", lr_name(dr));
    nf = split(line, '\t', f, 16);
    int cu = col(f, nf, "UserID"), cit = col(f, nf, "ItemID"), cts = col(f, nf, "Timestamp"), cr = col(f, nf, "Rating");
    if (cu < 0 || cit < 0 || cts < 0) die(EXIT_DATA, "%s:1: header: want UserID, ItemID and Timestamp columns", lr_name(dr));
    int want = nf;
    while ((line = lr_next(dr, &len))) {
        int n = split(line, '\t', f, 16);
        int64_t ts; double r = 0;
        if (n != want) { bad("%s:%ld: expected %d tab-separated fields, got %d", lr_name(dr), lr_lineno(dr), want, n); continue; }
        if (!*f[cu] || !*f[cit]) { bad("%s:%ld: %s: empty", lr_name(dr), lr_lineno(dr), *f[cu] ? "ItemID" : "UserID"); continue; }
        if (parse_i64(f[cts], &ts)) { bad("%s:%ld: Timestamp: expected an integer, got '%s'", lr_name(dr), lr_lineno(dr), f[cts]); continue; }
        if (cr >= 0) {
            char *e; r = strtod(f[cr], &e);
            if (e == f[cr] || *e) { bad("%s:%ld: Rating: expected a number, got '%s'", lr_name(dr), lr_lineno(dr), f[cr]); continue; }
        }
        it_add(t, it_user(t, f[cu], strlen(f[cu])), it_item(t, f[cit], strlen(f[cit])), ts, r);
    }
    lr_close(ir); lr_close(dr);
}

/* ---------------- D3 CSV -> samples ---------------- */
/* one CSV record (RFC 4180: quoted fields, "" escapes, newlines inside quotes) */
typedef struct { char *s; size_t len, cap; char **f; size_t *fl; int nf, fcap; } Csv;

static int csv_next(LineReader *r, Csv *c, long *first_line) {
    size_t len;
    char *line = lr_next(r, &len);
    if (!line) return 0;
    *first_line = lr_lineno(r);
    c->len = 0;
    for (;;) {
        if (c->len + len + 2 > c->cap) { c->cap = 2 * (c->len + len + 2); c->s = xrealloc(c->s, c->cap); }
        memcpy(c->s + c->len, line, len);
        c->len += len;
        c->s[c->len] = 0;
        int q = 0;   /* inside quotes at the end? */
        for (size_t i = 0; i < c->len; i++) if (c->s[i] == '"') q = !q;
        if (!q) break;
        line = lr_next(r, &len);
        if (!line) die(EXIT_DATA, "%s:%ld: unterminated quoted field", lr_name(r), *first_line);
        c->s[c->len++] = '\n';
    }
    /* split in place, unquoting */
    c->nf = 0;
    char *p = c->s, *o;
    for (;;) {
        if (c->nf == c->fcap) { c->fcap = c->fcap ? 2 * c->fcap : 16; c->f = xrealloc(c->f, c->fcap * sizeof *c->f); c->fl = xrealloc(c->fl, c->fcap * sizeof *c->fl); }
        char *start = o = p;
        if (*p == '"') {
            p++;
            for (;;) {
                if (*p == '"' && p[1] == '"') { *o++ = '"'; p += 2; }
                else if (*p == '"') { p++; break; }
                else *o++ = *p++;
            }
            if (*p && *p != ',') die(EXIT_DATA, "%s:%ld: field %d: text after a closing quote", lr_name(r), *first_line, c->nf + 1);
        } else {
            while (*p && *p != ',') *o++ = *p++;
        }
        c->f[c->nf] = start; c->fl[c->nf] = (size_t)(o - start);
        c->nf++;
        char sepc = *p;
        *o = 0;
        if (!sepc) break;
        p++;
    }
    return 1;
}

/* Python literal list ['a', "b's", 3] -> decoded elements, NUL-separated in out */
typedef struct { char *buf; size_t len, cap; size_t *off; int n, cap_n; } PyList;
static void pl_push(PyList *l, const char *s, size_t n) {
    if (l->len + n + 1 > l->cap) { l->cap = 2 * (l->len + n + 1) + 64; l->buf = xrealloc(l->buf, l->cap); }
    if (l->n == l->cap_n) { l->cap_n = l->cap_n ? 2 * l->cap_n : 16; l->off = xrealloc(l->off, l->cap_n * sizeof *l->off); }
    l->off[l->n++] = l->len;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
    l->buf[l->len++] = 0;
}
static const char *pl_get(const PyList *l, int i) { return l->buf + l->off[i]; }

static int hexv(char c) { return c >= '0' && c <= '9' ? c - '0' : (c | 32) >= 'a' && (c | 32) <= 'f' ? (c | 32) - 'a' + 10 : -1; }

/* returns NULL on success, else a message */
static const char *pylist_parse(const char *s, PyList *l) {
    l->len = 0; l->n = 0;
    while (*s == ' ') s++;
    if (*s++ != '[') return "expected a [list]";
    char *tmp = NULL; size_t tcap = 0;
    const char *msg = NULL;
    for (;;) {
        while (*s == ' ') s++;
        if (*s == ']' && l->n == 0) { s++; break; }
        if (*s == '\'' || *s == '"') {
            char q = *s++;
            size_t o = 0;
            for (;;) {
                if (o + 8 > tcap) { tcap = 2 * tcap + 64; tmp = xrealloc(tmp, tcap); }
                if (!*s) { msg = "unterminated string in list"; goto out; }
                if (*s == q) { s++; break; }
                if (*s != '\\') { tmp[o++] = *s++; continue; }
                s++;
                char x = *s++;
                unsigned cp = 0; int nd = 0;
                switch (x) {
                case 'n': tmp[o++] = '\n'; break;
                case 't': tmp[o++] = '\t'; break;
                case 'r': tmp[o++] = '\r'; break;
                case '\\': case '\'': case '"': tmp[o++] = x; break;
                case 'x': nd = 2; break;
                case 'u': nd = 4; break;
                case 'U': nd = 8; break;
                default: msg = "unsupported escape in list string"; goto out;
                }
                if (nd) {
                    for (int k = 0; k < nd; k++) {
                        int h = hexv(*s);
                        if (h < 0) { msg = "bad \\x/\\u escape in list string"; goto out; }
                        cp = cp * 16 + (unsigned)h; s++;
                    }
                    int m = utf8_put(tmp + o, cp);
                    if (!m) { msg = "bad code point in list string"; goto out; }
                    o += (size_t)m;
                }
            }
            pl_push(l, tmp ? tmp : "", o);
        } else {
            const char *b = s;
            while (*s && *s != ',' && *s != ']') s++;
            const char *e = s;
            while (e > b && e[-1] == ' ') e--;
            if (e == b) { msg = "empty list element"; goto out; }
            pl_push(l, b, (size_t)(e - b));
        }
        while (*s == ' ') s++;
        if (*s == ',') { s++; continue; }
        if (*s == ']') { s++; break; }
        msg = "expected ',' or ']' in list";
        goto out;
    }
    while (*s == ' ') s++;
    if (*s) msg = "text after the list";
out:
    free(tmp);
    return msg;
}

static void raw(char **b, size_t *len, size_t *cap, const char *s) {
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) { *cap = 2 * (*len + n + 1); *b = xrealloc(*b, *cap); }
    memcpy(*b + *len, s, n);
    *len += n;
}
#define RAW(str) raw(&b, &len, &cap, str)

static void put_entry(char **b, size_t *len, size_t *cap, const char *item, const char *title, const char *ts) {
    static const TitleRules keep = {1, 0, 0, 0};
    size_t n = strlen(title);
    char *c = scratch(n + 1);
    size_t cn;
    title_clean(title, n, c, &cn, &keep);   /* decode + strip; D3's titles are kept */
    char tmp[64];
    raw(b, len, cap, "{\"item\": ");
    buf_json_str(b, len, cap, item, strlen(item));
    raw(b, len, cap, ", \"title\": ");
    buf_json_str(b, len, cap, c, cn);
    snprintf(tmp, sizeof tmp, ", \"ts\": %s}", ts);
    raw(b, len, cap, tmp);
}

static int is_html_title(const char *t) {
    size_t n = strlen(t);
    char *c = scratch(n + 1);
    size_t cn;
    static const TitleRules html = {1, 0, 1, 0};
    return title_clean(t, n, c, &cn, &html) == TITLE_HTML;
}

static void read_d3csv(const char *path, const char *split_name, long id_base, FILE *out, long *nsamples, long *nhtml, int *maxhist) {
    LineReader *r = lr_open(path);
    Csv c = {0};
    long ln;
    if (!csv_next(r, &c, &ln)) die(EXIT_DATA, "%s: empty file (want D3's CSV header)", lr_name(r));
    static const char *const need[] = {"user_id", "item_asins", "item_asin", "history_item_title", "item_title", "history_timestamp", "timestamp"};
    int ci[7];
    for (int k = 0; k < 7; k++) {
        ci[k] = -1;
        for (int j = 0; j < c.nf; j++) if (!strcmp(c.f[j], need[k])) ci[k] = j;
        if (ci[k] < 0) die(EXIT_DATA, "%s:1: header: missing column %s", lr_name(r), need[k]);
    }
    PyList la = {0}, lt = {0}, ls = {0};
    char *b = NULL; size_t cap = 0;
    long id = id_base;
    while (csv_next(r, &c, &ln)) {
        const char *fn = lr_name(r);
        if (c.nf != 11 && c.nf < 7) { bad("%s:%ld: expected D3's 11 columns, got %d", fn, ln, c.nf); continue; }
        int maxc = 0;
        for (int k = 0; k < 7; k++) if (ci[k] > maxc) maxc = ci[k];
        if (c.nf <= maxc) { bad("%s:%ld: expected D3's 11 columns, got %d", fn, ln, c.nf); continue; }
        const char *e;
        if ((e = pylist_parse(c.f[ci[1]], &la))) { bad("%s:%ld: item_asins: %s", fn, ln, e); continue; }
        if ((e = pylist_parse(c.f[ci[3]], &lt))) { bad("%s:%ld: history_item_title: %s", fn, ln, e); continue; }
        if ((e = pylist_parse(c.f[ci[5]], &ls))) { bad("%s:%ld: history_timestamp: %s", fn, ln, e); continue; }
        if (la.n != lt.n || la.n != ls.n) { bad("%s:%ld: history lists differ in length (%d asins, %d titles, %d timestamps)", fn, ln, la.n, lt.n, ls.n); continue; }
        if (la.n > 10) { bad("%s:%ld: item_asins: %d history items, at most 10 allowed", fn, ln, la.n); continue; }
        int64_t v;
        int badts = 0;
        for (int k = 0; k < ls.n && !badts; k++) if (parse_i64(pl_get(&ls, k), &v)) badts = 1;
        if (badts) { bad("%s:%ld: history_timestamp: expected integers", fn, ln); continue; }
        if (parse_i64(c.f[ci[6]], &v)) { bad("%s:%ld: timestamp: expected an integer, got '%s'", fn, ln, c.f[ci[6]]); continue; }
        if (!*c.f[ci[0]]) { bad("%s:%ld: user_id: empty", fn, ln); continue; }
        if (!*c.f[ci[2]]) { bad("%s:%ld: item_asin: empty", fn, ln); continue; }
        if (!*c.f[ci[4]]) { bad("%s:%ld: item_title: empty", fn, ln); continue; }
        size_t len = 0;
        char head[64];
        snprintf(head, sizeof head, "{\"id\": %ld, \"user\": ", id++);
        RAW(head);
        buf_json_str(&b, &len, &cap, c.f[ci[0]], strlen(c.f[ci[0]]));
        RAW(", \"history\": [");
        for (int k = 0; k < la.n; k++) {
            if (k) RAW(", ");
            put_entry(&b, &len, &cap, pl_get(&la, k), pl_get(&lt, k), pl_get(&ls, k));
            *nhtml += is_html_title(pl_get(&lt, k));
        }
        RAW("], \"target\": ");
        put_entry(&b, &len, &cap, c.f[ci[2]], c.f[ci[4]], c.f[ci[6]]);
        *nhtml += is_html_title(c.f[ci[4]]);
        RAW(", \"split\": ");
        buf_json_str(&b, &len, &cap, split_name, strlen(split_name));
        RAW("}\n");
        fwrite(b, 1, len, out);
        if (la.n > *maxhist) *maxhist = la.n;
        (*nsamples)++;
    }
    lr_close(r);
    free(b); free(c.s); free(c.f); free(c.fl);
    free(la.buf); free(la.off); free(lt.buf); free(lt.off); free(ls.buf); free(ls.off);
}

/* split name from the file's directory: .../valid/X.csv -> valid */
static const char *split_from_path(const char *path, char *buf, size_t n) {
    const char *e = strrchr(path, '/');
    if (!e) return NULL;
    const char *b = e;
    while (b > path && b[-1] != '/') b--;
    snprintf(buf, n, "%.*s", (int)(e - b), b);
    return (!strcmp(buf, "train") || !strcmp(buf, "valid") || !strcmp(buf, "test")) ? buf : NULL;
}

int main(int argc, char **argv) {
    util_init(argc, argv);
    FilterOpts fo;
    filter_defaults_none(&fo);
    const char *format = NULL, *in = NULL, *out_path = NULL, *stats_path = NULL, *split_name = NULL;
    const char *inter_path = NULL, *items_path = NULL;
    int strip_year = 0, explicit_quiet = 0, filter_opts = 0;
    long id_base = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (filter_parse_opt(&fo, argc, argv, &i)) { filter_opts = 1; continue; }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) usage(0);
        else if (!strcmp(a, "--format") && i + 1 < argc) format = argv[++i];
        else if (!strcmp(a, "-o") && i + 1 < argc) out_path = argv[++i];
        else if (!strcmp(a, "--stats") && i + 1 < argc) stats_path = argv[++i];
        else if (!strcmp(a, "--split") && i + 1 < argc) split_name = argv[++i];
        else if (!strcmp(a, "--interactions") && i + 1 < argc) inter_path = argv[++i];
        else if (!strcmp(a, "--items") && i + 1 < argc) items_path = argv[++i];
        else if (!strcmp(a, "--id-base") && i + 1 < argc) {
            char *e; id_base = strtol(argv[++i], &e, 10);
            if (*e || id_base < 0) die(EXIT_USAGE, "--id-base: bad number '%s'", argv[i]);
        }
        else if (!strcmp(a, "--strip-year")) strip_year = 1;
        else if (!strcmp(a, "--skip-bad")) skip_bad = 1;
        else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) explicit_quiet = 1;
        else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) g_quiet = 0;
        else if (a[0] == '-' && a[1]) die(EXIT_USAGE, "unknown or incomplete option '%s' (see --help)", a);
        else if (!in) in = a;
        else die(EXIT_USAGE, "more than one input given ('%s', '%s')", in, a);
    }
    if (explicit_quiet) g_quiet = 1;
    if (!format) die(EXIT_USAGE, "--format movielens|tsv|d3csv is required (see --help)");
    int fmt = !strcmp(format, "movielens") ? 0 : !strcmp(format, "tsv") ? 1 : !strcmp(format, "d3csv") ? 2 : -1;
    if (fmt < 0) die(EXIT_USAGE, "--format: unknown format '%s' (movielens, tsv, d3csv)", format);
    if (fo.since != TS_MIN && fo.until != TS_MAX && fo.since >= fo.until) die(EXIT_USAGE, "--since must be before --until");

    if (fmt == 2) {
        if (!in) die(EXIT_USAGE, "d3csv needs the CSV file");
        if (filter_opts) die(EXIT_USAGE, "d3csv input is already split: window/k-core options do not apply");
        char sb[64];
        if (!split_name) split_name = split_from_path(in, sb, sizeof sb);
        if (!split_name) die(EXIT_USAGE, "%s: cannot tell the split from the path; give --split train|valid|test", in);
        if (strcmp(split_name, "train") && strcmp(split_name, "valid") && strcmp(split_name, "test"))
            die(EXIT_USAGE, "--split: want train, valid or test, not '%s'", split_name);
        OutFile of = out_open(out_path);
        atomic_cleanup_register(&of);
        if (!out_path) setvbuf(stdout, NULL, _IOFBF, 1 << 20);
        long ns = 0, nh = 0; int mh = 0;
        read_d3csv(in, split_name, id_base, of.f, &ns, &nh, &mh);
        if (nskipped) fprintf(stderr, "%s: skipped %ld malformed rows (first: %s)\n", g_prog, nskipped, first_skip);
        if (ns == 0) die(EXIT_DATA, "%s: no samples (header only)", in);
        out_commit(&of);
        if (nh && !explicit_quiet) fprintf(stderr, "%s: note: %ld history/target titles are HTML fragments (kept as D3 has them)\n", g_prog, nh);
        info("samples=%ld split=%s max_history=%d ids=%ld..%ld", ns, split_name, mh, id_base, id_base + ns - 1);
        if (stats_path) {
            OutFile sf = out_open(stats_path);
            atomic_cleanup_register(&sf);
            fprintf(sf.f, "{\"samples\": %ld, \"split\": \"%s\", \"max_history\": %d, \"html_titles\": %ld, \"skipped_bad\": %ld}\n",
                    ns, split_name, mh, nh, nskipped);
            out_commit(&sf);
        }
        free(cbuf);
        return 0;
    }

    ITable t;
    it_init(&t);
    if (fmt == 0) {
        if (!in) die(EXIT_USAGE, "movielens needs the directory holding u.data and u.item");
        read_movielens(&t, in, strip_year);
    } else {
        char *ip = NULL, *tp = NULL;
        if (!inter_path || !items_path) {
            if (!in) die(EXIT_USAGE, "tsv needs the directory (or --interactions FILE --items FILE)");
            ip = path_join(in, "interactions.tsv.gz"); tp = path_join(in, "items.tsv.gz");
        }
        read_tsv(&t, inter_path ? inter_path : ip, items_path ? items_path : tp);
        free(ip); free(tp);
    }
    if (nskipped) fprintf(stderr, "%s: skipped %ld malformed lines (first: %s)\n", g_prog, nskipped, first_skip);
    if (t.n == 0) die(EXIT_DATA, "%s: no interactions in the input", in ? in : inter_path);
    /* before filtering: distinct users/items among the interaction rows */
    long in_items = 0;
    uint8_t *seen = xcalloc(t.items.n + 1, 1);
    for (size_t r = 0; r < t.n; r++) if (!seen[t.rows[r].item]) { seen[t.rows[r].item] = 1; in_items++; }
    free(seen);
    FilterStats st;
    uint8_t *alive = it_filter(&t, &fo, &st);
    if ((titles_dropped || st.no_title) && !explicit_quiet)
        fprintf(stderr, "%s: %ld catalogue titles empty after cleaning; %ld interactions dropped for items without a title\n",
                g_prog, titles_dropped, st.no_title);
    char sl[512];
    filter_stats_line(&st, sl, sizeof sl);
    info("input: users=%u items=%ld interactions=%zu; kept: %s", t.users.n, in_items, t.n, sl);
    if (st.inter == 0 && !explicit_quiet) fprintf(stderr, "%s: warning: no interactions survive the filters\n", g_prog);
    it_write_path(&t, alive, out_path);
    if (stats_path) {
        OutFile sf = out_open(stats_path);
        atomic_cleanup_register(&sf);
        fprintf(sf.f, "{\"input_users\": %u, \"input_items\": %ld, \"input_interactions\": %zu, \"titles_dropped\": %ld, \"skipped_bad\": %ld, ",
                t.users.n, in_items, t.n, titles_dropped, nskipped);
        filter_stats_json(sf.f, &st);
        fprintf(sf.f, "}\n");
        out_commit(&sf);
    }
    free(alive); free(cbuf);
    it_free(&t);
    return 0;
}
