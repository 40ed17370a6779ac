#include "amzcore.h"
#include "util.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------------- interning ---------------- */
uint64_t str_hash(const char *s, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;   /* FNV-1a, then a murmur finaliser */
    for (size_t i = 0; i < n; i++) { h ^= (unsigned char)s[i]; h *= 0x100000001b3ULL; }
    h ^= h >> 33; h *= 0xff51afd7ed558ccdULL; h ^= h >> 33; h *= 0xc4ceb9fe1a85ec53ULL; h ^= h >> 33;
    return h;
}

void strtab_init(StrTab *t) {
    memset(t, 0, sizeof *t);
    t->nslot = 1024;
    t->slot = xcalloc(t->nslot, sizeof *t->slot);
}
void strtab_free(StrTab *t) {
    free(t->arena); free(t->off); free(t->len); free(t->hash); free(t->slot);
    memset(t, 0, sizeof *t);
}

static void strtab_grow(StrTab *t) {
    uint32_t ns = t->nslot * 2;
    uint32_t *s = xcalloc(ns, sizeof *s);
    for (uint32_t id = 0; id < t->n; id++) {
        uint32_t j = (uint32_t)t->hash[id] & (ns - 1);
        while (s[j]) j = (j + 1) & (ns - 1);
        s[j] = id + 1;
    }
    free(t->slot);
    t->slot = s; t->nslot = ns;
}

int64_t strtab_find(const StrTab *t, const char *s, size_t n) {
    uint64_t h = str_hash(s, n);
    for (uint32_t j = (uint32_t)h & (t->nslot - 1);; j = (j + 1) & (t->nslot - 1)) {
        uint32_t v = t->slot[j];
        if (!v) return -1;
        uint32_t id = v - 1;
        if (t->hash[id] == h && t->len[id] == n && memcmp(t->arena + t->off[id], s, n) == 0) return id;
    }
}

uint32_t strtab_intern(StrTab *t, const char *s, size_t n, int *isnew) {
    uint64_t h = str_hash(s, n);
    uint32_t j = (uint32_t)h & (t->nslot - 1);
    for (;; j = (j + 1) & (t->nslot - 1)) {
        uint32_t v = t->slot[j];
        if (!v) break;
        uint32_t id = v - 1;
        if (t->hash[id] == h && t->len[id] == n && memcmp(t->arena + t->off[id], s, n) == 0) {
            if (isnew) *isnew = 0;
            return id;
        }
    }
    if (t->n == UINT32_MAX - 1) die(EXIT_DATA, "more than 4e9 distinct ids");
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 1024;
        t->off = xrealloc(t->off, t->cap * sizeof *t->off);
        t->len = xrealloc(t->len, t->cap * sizeof *t->len);
        t->hash = xrealloc(t->hash, t->cap * sizeof *t->hash);
    }
    if (t->alen + n + 1 > t->acap) {
        while (t->alen + n + 1 > t->acap) t->acap = t->acap ? t->acap * 2 : 1 << 16;
        t->arena = xrealloc(t->arena, t->acap);
    }
    uint32_t id = t->n++;
    memcpy(t->arena + t->alen, s, n);
    t->arena[t->alen + n] = 0;
    t->off[id] = t->alen; t->len[id] = (uint32_t)n; t->hash[id] = h;
    t->alen += n + 1;
    t->slot[j] = id + 1;
    if ((uint64_t)t->n * 2 > t->nslot) strtab_grow(t);
    if (isnew) *isnew = 1;
    return id;
}

/* ---------------- fingerprint set ---------------- */
void fpset_init(FpSet *s) {
    s->cap = 1024; s->n = 0;
    s->key = xcalloc(s->cap, sizeof *s->key);
    s->val = xcalloc(s->cap, 1);
}
void fpset_free(FpSet *s) { free(s->key); free(s->val); memset(s, 0, sizeof *s); }
uint8_t *fpset_get(FpSet *s, uint64_t k, int *isnew) {
    if (k == 0) k = 1;   /* 0 marks an empty slot */
    if ((s->n + 1) * 2 > s->cap) {
        size_t nc = s->cap * 2;
        uint64_t *nk = xcalloc(nc, sizeof *nk); uint8_t *nv = xcalloc(nc, 1);
        for (size_t i = 0; i < s->cap; i++) if (s->key[i]) {
            size_t j = s->key[i] & (nc - 1);
            while (nk[j]) j = (j + 1) & (nc - 1);
            nk[j] = s->key[i]; nv[j] = s->val[i];
        }
        free(s->key); free(s->val);
        s->key = nk; s->val = nv; s->cap = nc;
    }
    size_t j = k & (s->cap - 1);
    while (s->key[j] && s->key[j] != k) j = (j + 1) & (s->cap - 1);
    *isnew = !s->key[j];
    if (!s->key[j]) { s->key[j] = k; s->n++; }
    return &s->val[j];
}

/* ---------------- interaction table ---------------- */
void it_init(ITable *t) {
    memset(t, 0, sizeof *t);
    strtab_init(&t->users);
    strtab_init(&t->items);
}
void it_free(ITable *t) {
    for (size_t i = 0; i < t->title_cap; i++) free(t->title[i]);
    free(t->title); free(t->rows);
    strtab_free(&t->users); strtab_free(&t->items);
}
uint32_t it_user(ITable *t, const char *s, size_t n) { return strtab_intern(&t->users, s, n, NULL); }
uint32_t it_item(ITable *t, const char *s, size_t n) { return strtab_intern(&t->items, s, n, NULL); }
void it_set_title(ITable *t, uint32_t item, const char *s, size_t n) {
    if (item >= t->title_cap) {
        size_t nc = t->title_cap ? t->title_cap : 1024;
        while (nc <= item) nc *= 2;
        t->title = xrealloc(t->title, nc * sizeof *t->title);
        memset(t->title + t->title_cap, 0, (nc - t->title_cap) * sizeof *t->title);
        t->title_cap = nc;
    }
    free(t->title[item]);
    t->title[item] = memcpy(xmalloc(n + 1), s, n);
    t->title[item][n] = 0;
}
void it_add(ITable *t, uint32_t user, uint32_t item, int64_t ts, double rating) {
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 4096;
        t->rows = xrealloc(t->rows, t->cap * sizeof *t->rows);
    }
    t->rows[t->n++] = (Inter){user, item, ts, rating};
}

/* ---------------- dates ---------------- */
int parse_when(const char *s, int64_t *ts) {
    int y, mo, d, h = 0, mi = 0, se = 0, k = 0;
    char c;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &k) == 3) {
        const char *r = s + k;
        if (*r == 'T' || *r == ' ') {
            int k2 = 0;
            if (sscanf(r + 1, "%2d:%2d%n", &h, &mi, &k2) != 2) return -1;
            r += 1 + k2;
            if (*r == ':') { int k3 = 0; if (sscanf(r + 1, "%2d%n", &se, &k3) != 1) return -1; r += 1 + k3; }
        }
        if (*r) return -1;
        if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return -1;
        struct tm tm = {0};
        tm.tm_year = y - 1900; tm.tm_mon = mo - 1; tm.tm_mday = d;
        tm.tm_hour = h; tm.tm_min = mi; tm.tm_sec = se;
        *ts = (int64_t)timegm(&tm);
        return 0;
    }
    long long v;
    if (sscanf(s, "%lld%c", &v, &c) == 1) { *ts = v; return 0; }
    return -1;
}

void fmt_when(int64_t ts, char *buf, size_t n) {
    if (ts == TS_MIN) { snprintf(buf, n, "-inf"); return; }
    if (ts == TS_MAX) { snprintf(buf, n, "+inf"); return; }
    time_t tt = (time_t)ts;
    struct tm tm;
    gmtime_r(&tt, &tm);
    if (tm.tm_hour || tm.tm_min || tm.tm_sec) strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
    else strftime(buf, n, "%Y-%m-%d", &tm);
}

static int64_t minus_year(int64_t ts, int *year) {
    time_t tt = (time_t)ts;
    struct tm tm;
    gmtime_r(&tt, &tm);
    tm.tm_year -= 1;
    if (year) *year = tm.tm_year + 1900;
    return (int64_t)timegm(&tm);
}
static int year_of(int64_t ts) {
    time_t tt = (time_t)ts; struct tm tm; gmtime_r(&tt, &tm);
    return tm.tm_year + 1900;
}

/* ---------------- options ---------------- */
void filter_defaults_d3(FilterOpts *o) {
    parse_when("2017-10-01", &o->since);
    parse_when("2018-11-01", &o->until);
    o->core = 5; o->min_items = 0; o->floor_year = 1996;
}
void filter_defaults_none(FilterOpts *o) {
    o->since = TS_MIN; o->until = TS_MAX; o->core = 0; o->min_items = 0; o->floor_year = 1996;
}

const char *const filter_usage =
    "  --since DATE      keep ts >= DATE (YYYY-MM-DD[THH:MM[:SS]] UTC, or Unix seconds)\n"
    "  --until DATE      keep ts <  DATE (exclusive)\n"
    "  --no-window       keep all timestamps\n"
    "  --core K          iterative K-core on users and items (0 = off)\n"
    "  --widen           D3: move --since back a year at a time while < --min-items\n"
    "                    items survive (default 10000; stops at 1996)\n"
    "  --min-items N     widening threshold (implies --widen)\n";

int filter_parse_opt(FilterOpts *o, int argc, char **argv, int *i) {
    const char *a = argv[*i];
    int has = *i + 1 < argc;
    if (!strcmp(a, "--since") || !strcmp(a, "--until")) {
        if (!has) die(EXIT_USAGE, "%s needs a date", a);
        int64_t v;
        if (parse_when(argv[*i + 1], &v)) die(EXIT_USAGE, "%s: bad date '%s' (want YYYY-MM-DD or Unix seconds)", a, argv[*i + 1]);
        if (a[2] == 's') o->since = v; else o->until = v;
        (*i)++;
        return 1;
    }
    if (!strcmp(a, "--no-window")) { o->since = TS_MIN; o->until = TS_MAX; return 1; }
    if (!strcmp(a, "--widen")) { if (o->min_items <= 0) o->min_items = 10000; return 1; }
    if (!strcmp(a, "--core") || !strcmp(a, "--min-items")) {
        if (!has) die(EXIT_USAGE, "%s needs a number", a);
        char *e; long v = strtol(argv[*i + 1], &e, 10);
        if (*e || e == argv[*i + 1] || v < 0 || v > 1000000000) die(EXIT_USAGE, "%s: bad number '%s'", a, argv[*i + 1]);
        if (a[2] == 'c') o->core = (int)v; else o->min_items = v;
        (*i)++;
        return 1;
    }
    return 0;
}

/* ---------------- filtering ---------------- */
/* one window: title + window mask, then peel users/items with fewer than k rows. All
 * below-k users and items of a pass are removed together (as D3 does); passes repeat
 * until one removes nothing. The result is the unique maximal k-core whatever the order. */
static void filter_once(const ITable *t, const FilterOpts *o, int64_t since, uint8_t *alive,
                        uint32_t *ucnt, uint32_t *icnt, FilterStats *st) {
    long no_title = 0, inw = 0;
    for (size_t r = 0; r < t->n; r++) {
        const Inter *x = &t->rows[r];
        int ok = it_title(t, x->item) != NULL;
        if (!ok) no_title++;
        alive[r] = ok && x->ts >= since && x->ts < o->until;
        inw += alive[r];
    }
    st->no_title = no_title;
    st->in_window = inw;
    st->rounds = 0;
    uint32_t nu = t->users.n, ni = t->items.n;
    for (;;) {
        memset(ucnt, 0, nu * sizeof *ucnt);
        memset(icnt, 0, ni * sizeof *icnt);
        long n = 0;
        for (size_t r = 0; r < t->n; r++)
            if (alive[r]) { ucnt[t->rows[r].user]++; icnt[t->rows[r].item]++; n++; }
        st->inter = n;
        st->users = st->items = 0;
        int removed = 0;
        uint32_t k = o->core > 1 ? (uint32_t)o->core : 0;
        for (uint32_t u = 0; u < nu; u++) if (ucnt[u]) { st->users++; if (ucnt[u] < k) removed = 1; }
        for (uint32_t i = 0; i < ni; i++) if (icnt[i]) { st->items++; if (icnt[i] < k) removed = 1; }
        if (!removed) break;
        st->rounds++;
        for (size_t r = 0; r < t->n; r++)
            if (alive[r] && (ucnt[t->rows[r].user] < k || icnt[t->rows[r].item] < k)) alive[r] = 0;
    }
}

uint8_t *it_filter(const ITable *t, const FilterOpts *o, FilterStats *st) {
    uint8_t *alive = xmalloc(t->n ? t->n : 1);
    uint32_t *ucnt = xmalloc((t->users.n + 1) * sizeof *ucnt);
    uint32_t *icnt = xmalloc((t->items.n + 1) * sizeof *icnt);
    memset(st, 0, sizeof *st);
    int64_t since = o->since;
    int64_t min_ts = TS_MAX;
    for (size_t r = 0; r < t->n; r++) if (t->rows[r].ts < min_ts) min_ts = t->rows[r].ts;
    int widenings = 0;
    for (;;) {
        filter_once(t, o, since, alive, ucnt, icnt, st);
        if (o->min_items <= 0 || since == TS_MIN || st->items >= o->min_items) break;
        if (year_of(since) <= o->floor_year) break;
        /* D3 goes on until 1996 even when no older data exists; the result cannot change
         * once the window holds every row, so stop there but report the same window */
        since = minus_year(since, NULL);
        widenings++;
        if (since <= min_ts) {
            while (year_of(since) > o->floor_year) { since = minus_year(since, NULL); widenings++; }
            filter_once(t, o, since, alive, ucnt, icnt, st);
            break;
        }
        if (!g_quiet) {
            char b[32]; fmt_when(since, b, sizeof b);
            info("only %ld items survive: widening the window to start %s", st->items, b);
        }
    }
    st->since = since; st->until = o->until; st->widenings = widenings;
    free(ucnt); free(icnt);
    return alive;
}

/* ---------------- output ---------------- */
void buf_json_str(char **buf, size_t *len, size_t *cap, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    if (*len + 6 * n + 3 > *cap) {
        while (*len + 6 * n + 3 > *cap) *cap = *cap ? *cap * 2 : 4096;
        *buf = xrealloc(*buf, *cap);
    }
    char *o = *buf + *len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') { *o++ = '\\'; *o++ = (char)c; }
        else if (c >= 0x20) *o++ = (char)c;
        else if (c == '\n') { *o++ = '\\'; *o++ = 'n'; }
        else if (c == '\t') { *o++ = '\\'; *o++ = 't'; }
        else if (c == '\r') { *o++ = '\\'; *o++ = 'r'; }
        else { memcpy(o, "\\u00", 4); o += 4; *o++ = hex[c >> 4]; *o++ = hex[c & 15]; }
    }
    *o++ = '"';
    *len = (size_t)(o - *buf);
}

static void fmt_rating(double r, char *b, size_t n) {
    if (r == (double)(long long)r && r > -1e15 && r < 1e15) { snprintf(b, n, "%.1f", r); return; }
    for (int p = 15; p <= 17; p++) {   /* shortest form that reads back the same */
        snprintf(b, n, "%.*g", p, r);
        if (strtod(b, NULL) == r) return;
    }
}

static void buf_raw(char **buf, size_t *len, size_t *cap, const char *s, size_t n) {
    if (*len + n + 1 > *cap) {
        while (*len + n + 1 > *cap) *cap = *cap ? *cap * 2 : 4096;
        *buf = xrealloc(*buf, *cap);
    }
    memcpy(*buf + *len, s, n);
    *len += n;
}

void it_write_path(const ITable *t, const uint8_t *mask, const char *path) {
    static OutFile of;   /* static: die() may remove its temp file after we return */
    of = out_open(path);
    atomic_cleanup_register(&of);
    if (of.f == stdout) setvbuf(stdout, NULL, _IOFBF, 1 << 20);
    it_write(t, mask, of.f);
    out_commit(&of);
}

void it_write(const ITable *t, const uint8_t *mask, FILE *f) {
    char *b = NULL; size_t cap = 0;
    for (size_t r = 0; r < t->n; r++) {
        if (!mask[r]) continue;
        const Inter *x = &t->rows[r];
        size_t len = 0;
        const char *ti = it_title(t, x->item);
        buf_raw(&b, &len, &cap, "{\"user\": ", 9);
        buf_json_str(&b, &len, &cap, strtab_str(&t->users, x->user), t->users.len[x->user]);
        buf_raw(&b, &len, &cap, ", \"item\": ", 10);
        buf_json_str(&b, &len, &cap, strtab_str(&t->items, x->item), t->items.len[x->item]);
        buf_raw(&b, &len, &cap, ", \"title\": ", 11);
        buf_json_str(&b, &len, &cap, ti, strlen(ti));
        char tail[96], rb[40];
        fmt_rating(x->rating, rb, sizeof rb);
        int m = snprintf(tail, sizeof tail, ", \"ts\": %lld, \"rating\": %s}\n", (long long)x->ts, rb);
        buf_raw(&b, &len, &cap, tail, (size_t)m);
        fwrite(b, 1, len, f);
    }
    free(b);
}

void filter_stats_line(const FilterStats *st, char *buf, size_t n) {
    char a[32], z[32];
    fmt_when(st->since, a, sizeof a); fmt_when(st->until, z, sizeof z);
    double dens = st->users && st->items ? (double)st->inter / ((double)st->users * (double)st->items) : 0;
    snprintf(buf, n, "users=%ld items=%ld interactions=%ld density=%.6g rounds=%d window=%s..%s widened=%d",
             st->users, st->items, st->inter, dens, st->rounds, a, z, st->widenings);
}

void filter_stats_json(FILE *f, const FilterStats *st) {
    char a[32], z[32];
    fmt_when(st->since, a, sizeof a); fmt_when(st->until, z, sizeof z);
    double dens = st->users && st->items ? (double)st->inter / ((double)st->users * (double)st->items) : 0;
    fprintf(f, "\"users\": %ld, \"items\": %ld, \"interactions\": %ld, \"density\": %.6g, \"rounds\": %d, "
               "\"since\": \"%s\", \"until\": \"%s\", \"widened_years\": %d, \"no_title_rows\": %ld, \"window_rows\": %ld",
            st->users, st->items, st->inter, dens, st->rounds, a, z, st->widenings, st->no_title, st->in_window);
}
